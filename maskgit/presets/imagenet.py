"""ImageNet 256 / 512: the official MaskGIT checkpoints' architecture.

Training at this size uses the recipes' own defaults (configs/*.py), which
are written for it; only 256 px is a training preset.
"""

from __future__ import annotations

import functools

import ml_collections

from maskgit import presets


def model(image_size: int) -> ml_collections.ConfigDict:
  c = ml_collections.ConfigDict()
  c.image_size = image_size  # Pixels per side; tokens per side = size / 16.
  c.tokenizer = ml_collections.ConfigDict(dict(
      filters=128,  # Base conv width.
      channel_multipliers=(1, 1, 2, 2, 4),  # Width per level; 4 downsamplings.
      num_res_blocks=2,  # Residual blocks per level.
      embedding_dim=256,  # Code vector width.
      num_codes=1024,  # Codebook size.
      num_groups=32,  # GroupNorm groups.
      dtype="float32",  # Compute dtype.
  ))
  c.transformer = ml_collections.ConfigDict(dict(
      num_codes=1024,  # Image token ids 0..1023.
      num_classes=1000,  # Class token ids 1024..2023; 2024 = [MASK].
      seq_len=(image_size // 16) ** 2 + 1,  # Class token + image tokens.
      hidden_size=768,
      num_layers=24,
      num_heads=16,
      mlp_dim=3072,
      dropout_rate=0.1,  # Train only.
      attention_dropout_rate=0.1,  # Train only.
      scan_layers=False,  # nn.scan over layers (training); params converted.
      remat=False,  # Rematerialise layers in the backward pass.
      dtype="float32",  # Compute dtype: "float32" or "bfloat16".
      num_hint_codes=0,  # > 0: self-conditioning hint embedding rows.
  ))
  return c


def train(c: ml_collections.ConfigDict) -> None:
  del c  # The recipe defaults are the ImageNet-256 settings.


presets.register(presets.Preset("imagenet256", functools.partial(model, 256),
                                train))
presets.register(presets.Preset("imagenet512", functools.partial(model, 512)))
