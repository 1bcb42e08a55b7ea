"""A few-thousand-parameter model with the same code paths (tests, CI).

Trains on synthetic data in seconds on a CPU: 4 steps, batch 8, every
checkpoint/eval/sample path exercised.
"""

from __future__ import annotations

import ml_collections

from maskgit import presets


def model() -> ml_collections.ConfigDict:
  c = ml_collections.ConfigDict()
  c.image_size = 32
  c.tokenizer = ml_collections.ConfigDict(dict(
      filters=16, channel_multipliers=(1, 2, 2), num_res_blocks=1,
      embedding_dim=8, num_codes=64, num_groups=4, dtype="float32"))
  c.transformer = ml_collections.ConfigDict(dict(
      num_codes=64, num_classes=10, seq_len=(32 // 4) ** 2 + 1,
      hidden_size=32, num_layers=2, num_heads=2, mlp_dim=64,
      dropout_rate=0.1, attention_dropout_rate=0.1, scan_layers=False,
      remat=False, dtype="float32", num_hint_codes=0, hint_features=0,
      attention_impl="reference"))
  return c


def train(c: ml_collections.ConfigDict) -> None:
  """Seconds-long runs on synthetic data for `c.recipe`."""
  c.batch_size = 8
  c.num_steps = 4
  c.optim.learning_rate = 1e-3
  c.optim.warmup_steps = 1
  c.data.source = "synthetic"
  c.data.dataset = ""
  c.data.eval_split = "test"
  presets.cadence(c, checkpoint=2, log=1, evaluate=2, eval_batches=1,
                  sample=4, num_samples=4)
  c.sample_num_iter = 4
  c.compilation_cache = ""
  if c.recipe == "tokenizer":
    c.tokenizer_loss.disc_start = 1
    c.tokenizer_loss.disc_filters = 8
    c.tokenizer_loss.disc_layers = 2
  elif c.recipe == "selfcond":
    c.selfcond.stroke_resolution = 0  # 32 px images: simulate at full size.
  elif c.recipe == "guidance_kernel":
    c.guidance.stroke_resolution = 0  # 32 px images: simulate at full size.
    c.optim.learning_rate = 1e-2


presets.register(presets.Preset("tiny", model, train))
