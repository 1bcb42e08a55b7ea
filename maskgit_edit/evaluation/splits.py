"""The evaluation's splits of a dataset, by code point (deterministic).

From a dataset .npz (`maskgit.data.arrays`: train and test splits with ids)
the evaluation derives four disjoint splits, by the same hash of each
image's id that made train/test (`folder.hash_unit`), so a split is a pure
function of the ids:

  test       test images with hash in [VAL_END, ...): the reported numbers.
  val        test images with hash below VAL_END: where every tuned setting
             (a method's strength) is chosen. Disjoint from test by code
             point; neither the MaskGIT models nor the feature network saw
             either.
  reference  train images with hash in [TEST_FRACTION, REFERENCE_END): the
             real images KID compares against; the feature network never
             trains on them (so originals score KID ~ 0).
  fit        the other train images: the feature network's training set.

`ensure(data)` writes them once as `<data>_eval.npz` next to the dataset
(keys `<split>_image`, `_label`, `_id`, readable by `maskgit.data.arrays`).
"""

from __future__ import annotations

import dataclasses
import os

import numpy as np

from maskgit import io_utils
from maskgit.data import folder

TEST_FRACTION = 0.1  # The dataset's own test share (maskgit.data.emoji).
VAL_END = TEST_FRACTION / 3  # A third of the test images validate.
REFERENCE_END = TEST_FRACTION + 0.3 * (1 - TEST_FRACTION)  # 30% of train.
SPLITS = ("fit", "reference", "val", "test")


@dataclasses.dataclass
class Split:
  """Images of one split: uint8 [N, S, S, 3], labels int32 [N], ids [N]."""
  images: np.ndarray
  labels: np.ndarray
  ids: np.ndarray

  def __len__(self) -> int:
    return len(self.images)


def which(key: str, source_split: str) -> str:
  """The evaluation split of an image with id `key` from `source_split`."""
  u = folder.hash_unit(key)
  if source_split == "test":
    return "val" if u < VAL_END else "test"
  if source_split == "train":
    return "reference" if u < REFERENCE_END else "fit"
  raise ValueError(f"Unknown source split {source_split!r}.")


def _read(data: str) -> dict[str, list[np.ndarray]]:
  """{source split: [images, labels, ids]} of one or more .npz files (a
  comma-separated list: their splits are concatenated)."""
  got: dict[str, list[list[np.ndarray]]] = {}
  for path in data.split(","):
    with np.load(path, allow_pickle=False) as f:
      for source in ("train", "test"):
        if f"{source}_image" not in f.files:
          continue
        if f"{source}_id" not in f.files:
          raise ValueError(f"{path} has no {source}_id array: rebuild it "
                           "with python -m maskgit.data.arrays.")
        got.setdefault(source, []).append(
            [f[f"{source}_image"], f[f"{source}_label"],
             f[f"{source}_id"].astype(str)])
  return {k: [np.concatenate(x) for x in zip(*v)] for k, v in got.items()}


def derive(data: str) -> dict[str, Split]:
  """The four splits of dataset `data` (.npz with train/test ids, or a
  comma-separated list of such files)."""
  out = {}
  for source, (images, labels, ids) in _read(data).items():
    part = np.asarray([which(k, source) for k in ids])
    for name in np.unique(part):
      sel = part == name
      out[str(name)] = Split(images[sel], labels[sel].astype(np.int32),
                             ids[sel])
  missing = [s for s in SPLITS if s not in out]
  if missing:
    raise ValueError(f"{data}: no images fall in split(s) {missing}.")
  return out


def path_for(data: str) -> str:
  """Where the splits of `data` go: `<first file>_eval.npz`."""
  return os.path.splitext(data.split(",")[0])[0] + "_eval.npz"


def ensure(data: str, path: str = "") -> str:
  """The splits file (`path`, default `path_for(data)`), written first if
  missing or older than the dataset."""
  path = path or path_for(data)
  files = data.split(",")
  missing = [p for p in files if not os.path.isfile(p)]
  if missing:
    if os.path.isfile(path):
      return path
    raise FileNotFoundError(
        f"No dataset at {missing[0]}: build it (docs/model_card.md, Data).")
  if os.path.isfile(path) and os.path.getmtime(path) >= max(
      os.path.getmtime(p) for p in files):
    return path
  arrays = {}
  for name, s in derive(data).items():
    arrays.update({f"{name}_image": s.images, f"{name}_label": s.labels,
                   f"{name}_id": s.ids})
  with io_utils.atomic_write(path) as fh:
    np.savez_compressed(fh, **arrays)
  return path


def load(path: str) -> dict[str, Split]:
  """The splits of an `_eval.npz` file."""
  with np.load(path, allow_pickle=False) as f:
    return {s: Split(f[f"{s}_image"], f[f"{s}_label"], f[f"{s}_id"])
            for s in SPLITS}
