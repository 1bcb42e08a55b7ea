r"""Measures the embedded model for its card (docs/model_card.md).

  python scripts/model_card.py --data=data/emoji64.npz [--previous=DIR]

Writes weights/emoji/card.json (test-split metrics, and the same metrics on
the committed evaluation slice tests/data/emoji_test_slice.npz that CI
re-checks) and docs/images/emoji_{reconstructions,samples}.png.
--write_slice also (re)writes the slice: N test images evenly spaced in id
order.
"""

import json
import os
import time

from absl import app
from absl import flags
import numpy as np

from maskgit import embedded
from maskgit import evaluate
from maskgit import image_io
from maskgit import io_utils
from maskgit import model as model_lib
from maskgit.data import arrays

_DATA = flags.DEFINE_string("data", "data/emoji64.npz",
                            ".npz from `python -m maskgit.data.arrays`.")
_SLICE = flags.DEFINE_string("slice", "tests/data/emoji_test_slice.npz",
                             "Committed evaluation slice.")
_WRITE_SLICE = flags.DEFINE_integer("write_slice", 0,
                                    "> 0: write a slice of this many images.")
_OUT = flags.DEFINE_string("out", "weights/emoji/card.json", "Metrics JSON.")
_IMAGES = flags.DEFINE_string("images", "docs/images", "Grid directory.")
_PREVIOUS = flags.DEFINE_string(
    "previous", "",
    "Directory with a previous embedded model (tokenizer.msgpack, "
    "selfcond.msgpack) to measure alongside ('test_previous') and to show "
    "in the reconstruction grid.")
_PREVIOUS_CLASSES = flags.DEFINE_integer(
    "previous_classes", 9, "Class count of the previous transformer.")
_SAMPLE_CLASSES = flags.DEFINE_integer(
    "sample_classes", 27,
    "Sample grid rows: labels 0..N-1 (27 = the three trained styles).")


def write_slice(path: str, data: str, n: int) -> None:
  with np.load(data) as f:
    order = np.argsort(f["test_id"])
    order = order[np.linspace(0, len(order) - 1, n).astype(int)]
    np.savez_compressed(path, test_image=f["test_image"][order],
                        test_label=f["test_label"][order],
                        test_id=f["test_id"][order])


def main(argv):
  del argv
  if _WRITE_SLICE.value:
    write_slice(_SLICE.value, _DATA.value, _WRITE_SLICE.value)
  images_u8, labels = arrays.load_split(_DATA.value, "test")
  images = images_u8.astype(np.float32) / 255.0
  slice_u8, slice_labels = arrays.load_split(_SLICE.value, "test")
  model = embedded.load()
  t0 = time.time()
  card = {"model": "embedded emoji (weights/emoji)",
          "test": evaluate.card_metrics(model, images, labels),
          "slice": evaluate.card_metrics(
              model, slice_u8.astype(np.float32) / 255.0, slice_labels)}
  previous = None
  if _PREVIOUS.value:
    cfg = embedded.config()
    cfg.transformer.num_classes = _PREVIOUS_CLASSES.value
    previous = model_lib.MaskGIT.from_files(
        cfg, os.path.join(_PREVIOUS.value, "tokenizer.msgpack"),
        os.path.join(_PREVIOUS.value, "selfcond.msgpack"))
    card["test_previous"] = {"model": _PREVIOUS.value,
                             **evaluate.card_metrics(previous, images,
                                                     labels)}
  card["seconds"] = round(time.time() - t0, 1)
  io_utils.write_json(_OUT.value, card)
  print(json.dumps(card, indent=1))

  os.makedirs(_IMAGES.value, exist_ok=True)
  # Reconstructions: 24 test images (fixed stride), original above recon.
  idx = np.linspace(0, len(images) - 1, 24).astype(int)
  # Rows: originals, then this model's (and the previous model's)
  # reconstructions.
  shown = [model] + ([previous] if previous is not None else [])
  rows = []
  for half in (idx[:12], idx[12:]):
    rows.append(images[half])
    rows += [np.clip(m.decode_tokens(m.encode(images[half])), 0, 1)
             for m in shown]
  pairs = np.concatenate(rows)
  image_io.save_png(os.path.join(_IMAGES.value, "emoji_reconstructions.png"),
                    image_io.grid(pairs, 12))
  # Class-conditional samples: one row per class, 8 samples each.
  n_cls = min(_SAMPLE_CLASSES.value, model.transformer_config.num_classes)
  samples = model.generate(np.repeat(np.arange(n_cls), 8), seed=0,
                           num_iter=12)
  image_io.save_png(os.path.join(_IMAGES.value, "emoji_samples.png"),
                    image_io.grid(samples, 8))
  print(f"Wrote {_OUT.value} and grids in {_IMAGES.value}.")


if __name__ == "__main__":
  app.run(main)
