"""The embedded default model: 64 px emoji, 8x8 tokens, ~6M parameters.

Architecture and the hyper-parameters of its three training stages
(tokenizer -> transformer -> selfcond; `bash scripts/train_emoji.sh`; results
in docs/model_card.md). Sized so that both weight files together stay under
25 MB (float32): tokenizer 2.50M parameters, hinted transformer 3.51M.
"""

from __future__ import annotations

import ml_collections

from maskgit import presets


def model() -> ml_collections.ConfigDict:
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
      hint_features=0,  # > 0: appearance-hint features (maskgit_edit.hints).
      attention_impl="reference"))
  return c


def train(c: ml_collections.ConfigDict) -> None:
  """The embedded model's settings for `c.recipe`."""
  # Prepare the data with
  #   python -m maskgit.data.emoji --out_dir=data/tfds
  # (or train from one .npz: data.source=npz, data.dataset=FILE).
  c.batch_size = 128
  c.data.dataset = "data/tfds/noto_emoji/1.0.0"
  c.data.eval_split = "test"
  # No crop: test images are rendered the same way (centred, same size);
  # flips double the data.
  c.data.crop_area_range = ()
  presets.cadence(c, checkpoint=2_000, log=200, evaluate=2_000,
                  eval_batches=2, sample=4_000, num_samples=36)
  if c.recipe == "tokenizer":
    c.num_steps = 8_000
    c.optim.learning_rate = 2e-4
    c.tokenizer_loss.adv_weight = 0.05  # Light GAN term for sharper edges.
    c.tokenizer_loss.disc_start = 5_000
    c.tokenizer_loss.disc_filters = 32
  elif c.recipe == "transformer":
    c.batch_size = 256
    c.num_steps = 12_000
    c.optim.learning_rate = 1e-3
    c.optim.warmup_steps = 1_000
    c.model.transformer.remat = False  # Small model: memory is no issue.
    c.tokenizer_path = "weights/emoji/tokenizer.msgpack"  # Or your export.
  elif c.recipe == "selfcond":
    c.selfcond.stroke_resolution = 0  # 64 px: simulate at full size.
    c.batch_size = 256
    c.num_steps = 1_000
    c.optim.learning_rate = 3e-4
    c.optim.warmup_steps = 100
    c.model.transformer.remat = False
    c.tokenizer_path = "weights/emoji/tokenizer.msgpack"
    c.init_from = ""  # The transformer recipe's export/transformer.msgpack.


presets.register(presets.Preset("emoji", model, train))
