r"""The frozen benchmark of simulated edits (folder + JSONL manifest).

  python -m maskgit_edit.evaluation.benchmark_set --data=data/emoji64.npz \
      --out=data/benchmark/emoji_v2 --seed=0

Every image T of the evaluation's `val` and `test` splits
(`maskgit_edit.evaluation.splits`) gets one edit of each kind (`KINDS`).
Three kinds RESTORE a known truth: the input holds something else where the
user paints (the same region of another image D of the same split, the
"distractor"), and the paint describes T, so returning the input unchanged
is punished and the truth T is what a perfect edit gives back:

  local     SDEdit-style strokes of T (`strokes.sdedit_strokes`: median
            filter + 6-colour palette) over a random rectangle R of 10-40%
            of the image; the input has D in R; mask R; truth T.
  segment   the pilot's segment edit: one SLIC segment R of T in T's mean
            colour there (`strokes.pilot_stroke_edit`, 'inversion'); the
            input has D in R; mask R; truth T.
  global    SDEdit's own protocol: the whole image is the stroke painting
            of T; the input is D; mask = everything; truth T.

and one kind asks for something new (no truth):

  recolour  a segment of T in a random colour at least 0.25 (L2, [0, 1] RGB)
            from its mean (the pilot's 'counterfactual'); the input is T.
            Ignoring the paint is punished by the stroke distance.

A draw whose paint changes too little of the input (fewer than
`MIN_CHANGED_FRACTION` of the masked pixels move by more than
`CHANGE_LEVELS` 8-bit levels), or whose distractor is too close to T in R
(the same test on D vs T), is redrawn with the next sub-seed, at most
`MAX_DRAWS` times (then the best draw is kept). All randomness comes from
`numpy.random.default_rng([seed, kind, split, index, draw])`: the set is a
pure function of (images, seed).

Written once: per edit `<name>.png` (the input), `.guide.png`, `.mask.png`
(8-bit, 255 = edited) and `.truth.png` (restore kinds), and
`manifest.jsonl`, one line per edit with the fields sample_edit.py reads
(image, guide, mask, label, name) plus kind, split, truth (path or null),
index (position in the split), id (the emoji id) and distractor (its id).
Names are `<kind>_<split>_<index:03d>`.
"""

from __future__ import annotations

import dataclasses
import json
import os
from typing import Sequence

import numpy as np
from PIL import Image

from maskgit import io_utils
from maskgit_edit.batch import inputs
from maskgit_edit.evaluation import splits as splits_lib
from maskgit_edit.evaluation import strokes

KINDS = ("local", "segment", "global", "recolour")
TRUTH_KINDS = ("local", "segment", "global")  # Restore a known truth.
EDIT_SPLITS = ("val", "test")
LOCAL_AREA = (0.10, 0.40)  # Fraction of the image the local rectangle covers.
LOCAL_ASPECT = (0.5, 2.0)  # Height / width range of the rectangle.
CHANGE_LEVELS = 16  # A pixel "changed" if some channel moved > this (8-bit).
MIN_CHANGED_FRACTION = 0.2  # Of the masked pixels, else redraw.
MAX_DRAWS = 20
MANIFEST = "manifest.jsonl"
VERSION = 2  # Of the construction (part of the folder's meta.json).


@dataclasses.dataclass
class Edit:
  """One simulated edit (uint8 images, bool mask)."""
  name: str
  kind: str
  split: str
  index: int
  label: int
  id: str
  image: np.ndarray  # uint8 [S, S, 3], the input.
  guide: np.ndarray  # uint8 [S, S, 3]
  mask: np.ndarray  # bool [S, S]
  truth: np.ndarray | None = None  # uint8 [S, S, 3] (restore kinds).
  distractor: str = ""


def _changed_fraction(a: np.ndarray, b: np.ndarray, mask: np.ndarray
                      ) -> float:
  diff = np.abs(a.astype(np.int16) - b.astype(np.int16)).max(-1)
  return float((diff[mask] > CHANGE_LEVELS).mean()) if mask.any() else 0.0


def _rectangle(side: int, rng: np.random.Generator) -> np.ndarray:
  """bool [side, side]: a random rectangle of 10-40% of the area."""
  area = rng.uniform(*LOCAL_AREA) * side * side
  aspect = np.exp(rng.uniform(np.log(LOCAL_ASPECT[0]),
                              np.log(LOCAL_ASPECT[1])))
  h = int(np.clip(round(np.sqrt(area * aspect)), 1, side))
  w = int(np.clip(round(area / h), 1, side))
  top = int(rng.integers(0, side - h + 1))
  left = int(rng.integers(0, side - w + 1))
  mask = np.zeros((side, side), bool)
  mask[top:top + h, left:left + w] = True
  return mask


def _one_draw(kind: str, truth: np.ndarray, distractor: np.ndarray,
              painting: np.ndarray | None, rng: np.random.Generator):
  """(input, guide, mask) of one draw."""
  if kind == "global":
    return distractor, painting, np.ones(truth.shape[:2], bool)
  if kind == "local":
    mask = _rectangle(truth.shape[0], rng)
    guide = np.where(mask[..., None], painting, truth)
  else:
    mode = "counterfactual" if kind == "recolour" else "inversion"
    guide, mask = strokes.pilot_stroke_edit(truth, mode=mode,
                                            seed=int(rng.integers(2**31)))
  if kind == "recolour":
    return truth, guide, mask
  return np.where(mask[..., None], distractor, truth), guide, mask


def make_edit(images: np.ndarray, index: int, kind: str, split: str,
              seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
  """(input, guide, mask, distractor index) of one kind for one image.

  Args:
    images: uint8 [N, S, S, 3], the split's images.
    index: the edited image's position in the split.
    kind: one of KINDS.
    split: the split's name (part of the seed).
    seed: benchmark seed.
  """
  truth = images[index]
  k = KINDS.index(kind)
  s = EDIT_SPLITS.index(split) if split in EDIT_SPLITS else 9
  painting = None
  if kind in ("local", "global"):
    # One whole-image painting of T per kind, shared by every redraw.
    painting = strokes.sdedit_strokes(truth, seed=int(np.random.default_rng(
        [seed, k, s, index]).integers(2**31)))
  best = None
  for draw in range(MAX_DRAWS):
    rng = np.random.default_rng([seed, k, s, index, draw])
    d = int(rng.integers(len(images) - 1))
    d += d >= index  # Another image of the split.
    inp, guide, mask = _one_draw(kind, truth, images[d], painting, rng)
    score = _changed_fraction(inp, guide, mask)
    if kind in TRUTH_KINDS:
      score = min(score, _changed_fraction(inp, truth, mask))
    if best is None or score > best[0]:
      best = (score, inp, guide, mask, d)
    if score >= MIN_CHANGED_FRACTION:
      break
  return best[1], best[2], best[3], best[4]


def build(split: splits_lib.Split, name: str, seed: int = 0,
          indices: Sequence[int] | None = None,
          kinds: Sequence[str] = KINDS) -> list[Edit]:
  """Every kind of edit for the images `indices` (default all) of a split.

  Returns edits ordered by kind, then index.
  """
  for kind in kinds:
    if kind not in KINDS:
      raise ValueError(f"Unknown kind {kind!r}; choose from {KINDS}.")
  indices = range(len(split)) if indices is None else list(indices)
  edits = []
  for kind in kinds:
    for i in indices:
      inp, guide, mask, d = make_edit(split.images, i, kind, name, seed)
      edits.append(Edit(
          name=f"{kind}_{name}_{i:03d}", kind=kind, split=name, index=int(i),
          label=int(split.labels[i]), id=str(split.ids[i]), image=inp,
          guide=guide, mask=mask,
          truth=split.images[i] if kind in TRUTH_KINDS else None,
          distractor=str(split.ids[d]) if kind != "recolour" else ""))
  return edits


def _png(path: str, array: np.ndarray) -> None:
  with io_utils.atomic_write(path) as f:
    Image.fromarray(array).save(f, format="PNG")


def write(edits: Sequence[Edit], out_dir: str, meta: dict | None = None
          ) -> str:
  """Writes the PNGs, meta.json and `manifest.jsonl` (last); its path."""
  os.makedirs(out_dir, exist_ok=True)
  lines = []
  for e in edits:
    stem = os.path.join(out_dir, e.name)
    _png(stem + ".png", e.image)
    _png(stem + ".guide.png", e.guide)
    _png(stem + ".mask.png", (e.mask * 255).astype(np.uint8))
    if e.truth is not None:
      _png(stem + ".truth.png", e.truth)
    lines.append(json.dumps(dict(
        image=e.name + ".png", guide=e.name + ".guide.png",
        mask=e.name + ".mask.png", label=e.label, name=e.name, kind=e.kind,
        split=e.split,
        truth=e.name + ".truth.png" if e.truth is not None else None,
        index=e.index, id=e.id, distractor=e.distractor)))
  if meta is not None:
    io_utils.write_json(os.path.join(out_dir, "meta.json"), meta)
  path = os.path.join(out_dir, MANIFEST)
  with io_utils.atomic_write(path, "w") as f:
    f.write("\n".join(lines) + "\n")
  return path


@dataclasses.dataclass
class BenchmarkArrays:
  """A loaded benchmark: N edits as arrays.

  Attributes:
    names, kinds, splits, ids: str lists [N].
    indices, labels: int32 [N].
    images, guides: uint8 [N, S, S, 3] (images = the inputs).
    masks: bool [N, S, S].
    truths: uint8 [N, S, S, 3] (zeros where there is none).
    has_truth: bool [N].
  """
  names: list
  kinds: list
  splits: list
  ids: list
  indices: np.ndarray
  labels: np.ndarray
  images: np.ndarray
  guides: np.ndarray
  masks: np.ndarray
  truths: np.ndarray
  has_truth: np.ndarray

  def select(self, keep) -> "BenchmarkArrays":
    keep = np.asarray(keep)
    if keep.dtype == bool:
      keep = np.flatnonzero(keep)
    pick = lambda xs: [xs[i] for i in keep]
    return BenchmarkArrays(
        names=pick(self.names), kinds=pick(self.kinds),
        splits=pick(self.splits), ids=pick(self.ids),
        indices=self.indices[keep], labels=self.labels[keep],
        images=self.images[keep], guides=self.guides[keep],
        masks=self.masks[keep], truths=self.truths[keep],
        has_truth=self.has_truth[keep])

  def __len__(self) -> int:
    return len(self.names)

  def where(self, kind: str, split: str) -> np.ndarray:
    """Positions of the edits of one kind and split."""
    return np.flatnonzero([k == kind and s == split
                           for k, s in zip(self.kinds, self.splits)])


def from_edits(edits: Sequence[Edit]) -> BenchmarkArrays:
  zeros = np.zeros_like(edits[0].image)
  return BenchmarkArrays(
      names=[e.name for e in edits], kinds=[e.kind for e in edits],
      splits=[e.split for e in edits], ids=[e.id for e in edits],
      indices=np.asarray([e.index for e in edits], np.int32),
      labels=np.asarray([e.label for e in edits], np.int32),
      images=np.stack([e.image for e in edits]),
      guides=np.stack([e.guide for e in edits]),
      masks=np.stack([e.mask for e in edits]),
      truths=np.stack([zeros if e.truth is None else e.truth for e in edits]),
      has_truth=np.asarray([e.truth is not None for e in edits]))


def load(manifest: str) -> BenchmarkArrays:
  """Reads a manifest written by `write` (the batch CLI's manifest format,
  `batch.inputs.read_manifest`, plus the benchmark's own fields)."""
  records, errors = inputs.read_manifest(manifest)
  if errors:
    raise ValueError(f"{manifest}: {errors[0]}")
  read = lambda p: np.asarray(Image.open(p).convert("RGB"))
  edits = []
  for r in records:
    for field in ("kind", "split", "index", "truth"):
      if field not in r.extra:
        raise ValueError(f"{manifest}: {r.name} has no {field!r}.")
    x = r.extra
    edits.append(Edit(
        name=r.name, kind=x["kind"], split=x["split"], index=int(x["index"]),
        label=int(r.label), id=str(x.get("id", "")), image=read(r.image),
        guide=read(r.guide),
        mask=np.asarray(Image.open(r.mask).convert("L")) > 127,
        truth=read(r.resolve(x["truth"])) if x["truth"] else None,
        distractor=str(x.get("distractor", ""))))
    if (edits[-1].truth is not None) != (edits[-1].kind in TRUTH_KINDS):
      raise ValueError(f"{manifest}: {r.name} truth field does not match "
                       f"its kind {edits[-1].kind!r}.")
  return from_edits(edits)


def ensure(data: str, out_dir: str, seed: int = 0, limit: int = 0,
           splits_path: str = "") -> str:
  """The manifest in `out_dir`, building the set first when it is missing.

  Args:
    data: the dataset .npz (its evaluation splits are derived once, into
      `splits_path`, default next to it).
    out_dir: the benchmark folder.
    seed: benchmark seed.
    limit: only the first N images of each split (0 = all; tests).

  A present set must have been built with the same settings (meta.json);
  otherwise ValueError (delete the folder to rebuild).
  """
  meta = dict(version=VERSION, seed=int(seed), limit=int(limit),
              kinds=list(KINDS), splits=list(EDIT_SPLITS))
  path = os.path.join(out_dir, MANIFEST)
  if os.path.exists(path):
    with open(os.path.join(out_dir, "meta.json")) as f:
      old = json.load(f)
    if {k: old.get(k) for k in meta} != meta:
      raise ValueError(f"{out_dir} holds a benchmark built with {old}, not "
                       f"{meta}; delete it or choose another folder.")
    return path
  parts = splits_lib.load(splits_lib.ensure(data, splits_path))
  edits = []
  for name in EDIT_SPLITS:
    n = len(parts[name])
    edits += build(parts[name], name, seed,
                   range(min(limit, n) if limit else n))
  meta["data"] = os.path.abspath(data)
  meta["edits"] = len(edits)
  return write(edits, out_dir, meta)


def main(argv):
  del argv
  from absl import flags  # pylint: disable=g-import-not-at-top
  f = flags.FLAGS
  path = ensure(f.data, f.out, f.seed, f.limit)
  print(f"Benchmark manifest: {path}")


if __name__ == "__main__":
  from absl import app  # pylint: disable=g-import-not-at-top
  from absl import flags  # pylint: disable=g-import-not-at-top
  flags.DEFINE_string("data", "data/emoji64.npz", ".npz from "
                      "maskgit.data.arrays.")
  flags.DEFINE_string("out", "data/benchmark/emoji_v2", "Output folder.")
  flags.DEFINE_integer("seed", 0, "Benchmark seed.")
  flags.DEFINE_integer("limit", 0, "Only the first N images of each split "
                       "(0 = all).")
  app.run(main)
