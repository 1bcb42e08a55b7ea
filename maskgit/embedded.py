"""The embedded default model: 64 px emoji, shipped in weights/emoji/.

Two files (official msgpack layout), 24 MB together:
  tokenizer.msgpack - VQGAN, 64 px -> 8x8 codes of 512;
  selfcond.msgpack  - transformer with a hint table (512 + 1 rows). With no
                      hints (hint id -1) it is a plain MaskGIT transformer,
                      so every editing method and generation use this file.
                      v1.5 (issue 24): v1's transformer trained further on
                      three emoji styles with 36 class tokens (label =
                      style * 9 + Unicode group, `maskgit.data.emoji_sets`;
                      Noto's labels stay 0..8, the groups of v1).
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
# Class tokens of selfcond.msgpack: 4 styles x 9 groups (emoji_sets.NUM_CLASSES;
# trained on noto 0..8, twemoji 9..17, fluent3d 18..26; openmoji's 27..35 are
# untrained copies of noto's).
NUM_CLASSES = 36
NUM_TRAINED_CLASSES = 27


def config():
  """Model config of the embedded weights (the hinted transformer)."""
  c = presets.model_config("emoji")
  c.transformer.num_hint_codes = c.transformer.num_codes
  c.transformer.num_classes = NUM_CLASSES
  return c


def class_names() -> tuple[str, ...]:
  """'<style>/<group>' per label; labels never trained are marked so."""
  # Imported here: emoji_sets pulls in tfds, which loading weights never needs.
  from maskgit.data import emoji_sets  # pylint: disable=g-import-not-at-top
  names = emoji_sets.class_names()
  return tuple(n if i < NUM_TRAINED_CLASSES else f"{n} (untrained)"
               for i, n in enumerate(names))


def load() -> model_lib.MaskGIT:
  """Loads the embedded model (CheckpointError names a missing file)."""
  return model_lib.MaskGIT.from_files(config(), TOKENIZER_PATH,
                                      TRANSFORMER_PATH)
