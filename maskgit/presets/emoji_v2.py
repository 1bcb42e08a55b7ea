"""Embedded model v2 (planned): 64 px emoji, 4 px tokens, 36 classes.

Data: `maskgit.data.emoji_sets` (Noto + Twemoji + Fluent 3D; label =
set_index * 9 + group, Noto = 0..8 as in v1; split by code point). Trained by
`bash scripts/train_emoji_v2.sh` with the exact step counts below, sized for
one ~9 minute device command (arithmetic in the script's header; plan and
reasons in docs/model_card.md, "v2 plan").

`emoji_v2`: 16x16 tokens of 1,024 codes from a 2-downsampling tokenizer
(2.35M parameters) and a 5-layer width-256 transformer (4.62M with its hint
table): 27.9 MB float32, under the 30 MB cap. `emoji_v2_128`: the rejected
128 px / 8 px-token candidate (same transformer, a 3-downsampling tokenizer
with 2.3x the FLOPs per image); model only, for the latency comparison.
"""

from __future__ import annotations

import ml_collections

from maskgit import presets


def _model(image_size: int) -> ml_collections.ConfigDict:
  c = ml_collections.ConfigDict()
  c.image_size = image_size
  c.tokenizer = ml_collections.ConfigDict(dict(
      filters=64,
      # 64 px: 64 -> 32 -> 16; 128 px: 128 -> 64 -> 32 -> 16.
      channel_multipliers=(1, 2, 2) if image_size == 64 else (1, 1, 2, 2),
      num_res_blocks=1,
      embedding_dim=64,
      num_codes=1024,
      num_groups=16,
      dtype="float32"))
  c.transformer = ml_collections.ConfigDict(dict(
      num_codes=1024,
      num_classes=36,  # maskgit.data.emoji_sets.NUM_CLASSES.
      seq_len=16 * 16 + 1,
      hidden_size=256,
      num_layers=5,
      num_heads=4,  # Head dim 64 (cuDNN flash attention friendly).
      mlp_dim=1024,
      dropout_rate=0.1,
      attention_dropout_rate=0.1,
      scan_layers=False,
      remat=False,
      dtype="float32",
      num_hint_codes=0,
      hint_features=0,  # > 0: appearance-hint features (maskgit_edit.hints).
      attention_impl="reference"))
  return c


def model() -> ml_collections.ConfigDict:
  return _model(64)


def model_128() -> ml_collections.ConfigDict:
  return _model(128)


def train(c: ml_collections.ConfigDict) -> None:
  """v2 settings for `c.recipe` (exact step counts: whole schedules)."""
  # python -m maskgit.data.emoji_sets --out_dir=data/tfds --cache_dir=data/npm
  # python -m maskgit.data.arrays --dataset=data/tfds/emoji_sets/1.0.0 \
  #     --out=data/emoji_sets64.npz
  c.batch_size = 128
  c.data.source = "npz"
  c.data.dataset = "data/emoji_sets64.npz"
  c.data.eval_split = "test"
  c.data.crop_area_range = ()  # Centred renders, as in v1; flips kept.
  c.log_every = 200
  c.eval_batches = 2
  c.num_samples = 36
  if c.recipe == "tokenizer":
    c.num_steps = 3_600
    c.optim.learning_rate = 2e-4
    c.optim.warmup_steps = 250
    c.tokenizer_loss.adv_weight = 0.05
    c.tokenizer_loss.disc_start = 2_200
    c.tokenizer_loss.disc_filters = 32
    c.checkpoint.every_steps = 1_800
    c.eval_every = 1_800
    c.sample_every = 3_600
  elif c.recipe in ("transformer", "selfcond"):
    c.batch_size = 256
    c.model.transformer.remat = False
    # bf16 compute (f32 params) and fused attention (cuDNN on the GPU); the
    # fused kernels have no attention dropout, so it is off.
    c.model.transformer.dtype = "bfloat16"
    c.model.transformer.attention_impl = "auto"
    c.model.transformer.attention_dropout_rate = 0.0
    c.tokenizer_path = "weights/emoji_v2/tokenizer.msgpack"
    if c.recipe == "transformer":
      c.num_steps = 1_400
      c.optim.learning_rate = 1e-3
      c.optim.warmup_steps = 120
      c.checkpoint.every_steps = 700
      c.eval_every = 700
      c.sample_every = 1_400
    else:
      c.selfcond.stroke_resolution = 0  # 64 px: simulate at full size.
      c.num_steps = 240
      c.optim.learning_rate = 3e-4
      c.optim.warmup_steps = 24
      c.init_from = ""  # The transformer stage's export.
      c.checkpoint.every_steps = 240
      c.eval_every = 240
      c.sample_every = 240


presets.register(presets.Preset("emoji_v2", model, train))
presets.register(presets.Preset("emoji_v2_128", model_128))
