"""Model configs: ImageNet 256/512 (official checkpoints), the embedded emoji
model (64 px, trained here; see docs/model_card.md) and tiny test models.

Use as `--config=configs/models.py:imagenet256`, or from Python
`models.get_config("tiny")`. Field names match `TransformerConfig` and
`TokenizerConfig`; an unknown field is an error when the model is built.
"""

import ml_collections

PRESETS = ("imagenet256", "imagenet512", "emoji", "tiny")


def _imagenet(image_size: int) -> ml_collections.ConfigDict:
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
      hint_features=0,  # > 0: appearance-hint features (maskgit_edit.hints).
  ))
  return c


def _emoji() -> ml_collections.ConfigDict:
  """The embedded default model: 64 px emoji, 8x8 tokens, ~6M parameters.

  Sized so that both weight files together stay under 25 MB (float32):
  tokenizer 2.50M parameters, hinted transformer 3.51M.
  """
  c = ml_collections.ConfigDict()
  c.image_size = 64
  c.tokenizer = ml_collections.ConfigDict(dict(
      filters=64,  # Base conv width.
      channel_multipliers=(1, 1, 2, 2),  # 3 downsamplings: 64 px -> 8x8.
      num_res_blocks=1,
      embedding_dim=64,
      num_codes=512,
      num_groups=16,
      dtype="float32"))
  c.transformer = ml_collections.ConfigDict(dict(
      num_codes=512,
      num_classes=9,  # Unicode emoji groups (maskgit.data.emoji).
      seq_len=(64 // 8) ** 2 + 1,
      hidden_size=256,
      num_layers=4,
      num_heads=4,
      mlp_dim=1024,
      dropout_rate=0.1,
      attention_dropout_rate=0.1,
      scan_layers=False,
      remat=False,
      dtype="float32",
      num_hint_codes=0,
      hint_features=0))
  return c


def _tiny() -> ml_collections.ConfigDict:
  """A few-thousand-parameter model with the same code paths (tests, CI)."""
  c = ml_collections.ConfigDict()
  c.image_size = 32
  c.tokenizer = ml_collections.ConfigDict(dict(
      filters=16, channel_multipliers=(1, 2, 2), num_res_blocks=1,
      embedding_dim=8, num_codes=64, num_groups=4, dtype="float32"))
  c.transformer = ml_collections.ConfigDict(dict(
      num_codes=64, num_classes=10, seq_len=(32 // 4) ** 2 + 1,
      hidden_size=32, num_layers=2, num_heads=2, mlp_dim=64,
      dropout_rate=0.1, attention_dropout_rate=0.1, scan_layers=False,
      remat=False, dtype="float32", num_hint_codes=0, hint_features=0))
  return c


def get_config(preset: str = "imagenet256") -> ml_collections.ConfigDict:
  """Returns the model config for `preset` (one of PRESETS)."""
  if preset == "imagenet256":
    return _imagenet(256)
  if preset == "imagenet512":
    return _imagenet(512)
  if preset == "emoji":
    return _emoji()
  if preset == "tiny":
    return _tiny()
  raise ValueError(f"Unknown model preset {preset!r}; choose one of "
                   f"{', '.join(PRESETS)}.")
