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
from maskgit.presets import emoji as emoji_v1


def _model(image_size: int) -> ml_collections.ConfigDict:
  """v1's layout (`emoji.model`) with v2's tokens, codes and depth."""
  c = emoji_v1.model()
  c.image_size = image_size
  # 64 px: 64 -> 32 -> 16; 128 px: 128 -> 64 -> 32 -> 16.
  c.tokenizer.channel_multipliers = ((1, 2, 2) if image_size == 64
                                     else (1, 1, 2, 2))
  c.tokenizer.num_codes = 1024
  c.transformer.num_codes = 1024
  c.transformer.num_classes = 36  # maskgit.data.emoji_sets.NUM_CLASSES.
  c.transformer.seq_len = 16 * 16 + 1
  c.transformer.num_layers = 5  # Heads of dim 64 (cuDNN flash friendly).
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
  presets.cadence(c, log=200, eval_batches=2, num_samples=36)
  if c.recipe == "tokenizer":
    c.num_steps = 3_600
    c.optim.learning_rate = 2e-4
    c.optim.warmup_steps = 250
    c.tokenizer_loss.adv_weight = 0.05
    c.tokenizer_loss.disc_start = 2_200
    c.tokenizer_loss.disc_filters = 32
    presets.cadence(c, checkpoint=1_800, evaluate=1_800, sample=3_600)
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
      presets.cadence(c, checkpoint=700, evaluate=700, sample=1_400)
    else:
      c.selfcond.stroke_resolution = 0  # 64 px: simulate at full size.
      c.num_steps = 240
      c.optim.learning_rate = 3e-4
      c.optim.warmup_steps = 24
      c.init_from = ""  # The transformer stage's export.
      presets.cadence(c, checkpoint=240, evaluate=240, sample=240)


presets.register(presets.Preset("emoji_v2", model, train))
presets.register(presets.Preset("emoji_v2_128", model_128))
