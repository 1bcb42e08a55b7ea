r"""Regenerates weights/emoji/code_appearance.npz: each code's look in context.

    python scripts/code_appearance.py \
      [--data=/work/data/emoji64.npz] [--out=weights/emoji/code_appearance.npz]

For every tokenizer code, the mean decoded f x f patch over all positions
where the code occurs when the training images are encoded and decoded
(train split). `self_fixed`'s appearance kernel pools it to res x res. Codes
never used fall back to the code decoded alone. The file also stores the
tokenizer's fingerprint, so the table is used only with its own tokenizer.
"""

from __future__ import annotations

import os
import sys

from absl import app
from absl import flags
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(
    __file__))))
# pylint: disable=g-import-not-at-top,wrong-import-position
from maskgit import embedded
from maskgit_edit.samplers import self_fixed

_DATA = flags.DEFINE_string("data", "/work/data/emoji64.npz",
                            "npz with train_image uint8 [N, S, S, 3].")
_OUT = flags.DEFINE_string(
    "out", os.path.join(embedded.WEIGHTS_DIR, "code_appearance.npz"),
    "Output .npz.")
_BATCH = flags.DEFINE_integer("batch", 256, "Images per encode/decode call.")


def main(argv):
  del argv
  model = embedded.load()
  images = np.load(_DATA.value)["train_image"]
  table, counts = self_fixed.appearance_in_context(
      model, images, batch=_BATCH.value)
  self_fixed.save_appearance_table(_OUT.value, model, table, counts)
  print(f"{_OUT.value}: {table.shape} from {len(images)} images; "
        f"{int((counts == 0).sum())} unused codes (decoded alone).")


if __name__ == "__main__":
  app.run(main)
