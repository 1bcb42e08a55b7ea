"""The embedded default model: 64 px emoji, shipped in weights/emoji/.

Two files (official msgpack layout), 24 MB together:
  tokenizer.msgpack - VQGAN, 64 px -> 8x8 codes of 512;
  selfcond.msgpack  - transformer with a hint table (512 + 1 rows). With no
                      hints (hint id -1) it is a plain MaskGIT transformer,
                      so every editing method and generation use this file.
See docs/model_card.md for data, recipe and measured quality.
"""

from __future__ import annotations

import os

from maskgit import model as model_lib
from maskgit import presets

WEIGHTS_DIR = os.path.join(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))), "weights", "emoji")
TOKENIZER_PATH = os.path.join(WEIGHTS_DIR, "tokenizer.msgpack")
TRANSFORMER_PATH = os.path.join(WEIGHTS_DIR, "selfcond.msgpack")


def config():
  """Model config of the embedded weights (the hinted transformer)."""
  c = presets.model_config("emoji")
  c.transformer.num_hint_codes = c.transformer.num_codes
  return c


def load() -> model_lib.MaskGIT:
  """Loads the embedded model (CheckpointError names a missing file)."""
  return model_lib.MaskGIT.from_files(config(), TOKENIZER_PATH,
                                      TRANSFORMER_PATH)
