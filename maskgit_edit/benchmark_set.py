r"""The frozen benchmark of simulated edits (folder + JSONL manifest).

  python -m maskgit_edit.benchmark_set --data=/work/data/emoji64.npz \
      --out=data/benchmark/emoji --seed=0

Every image of the test split gets one edit of each kind (`KINDS`):

  local                   SDEdit-style strokes (`strokes.sdedit_strokes`: median
                          filter + 6-colour k-means palette of the whole image)
                          pasted over a random axis-aligned rectangle covering
                          10-40% of the image; the rectangle is the mask; the
                          truth is the original image (an inversion edit).
  segment_inversion       the pilot's segment edit (`strokes.pilot_stroke_edit`,
                          mode 'inversion': one SLIC segment in its mean
                          colour); truth = the original.
  segment_counterfactual  the SAME segment in a random colour at least 0.25 (L2,
                          [0, 1] RGB) from its mean: a deliberately new edit,
                          no truth.
  global                  SDEdit's own protocol: the whole image becomes the
                          stroke painting; the mask is the whole image; truth =
                          the original.

A draw whose edit changes too little (fewer than `MIN_CHANGED_FRACTION` of
the masked pixels differ from the image by more than `CHANGE_LEVELS` 8-bit
levels in some channel: e.g. a rectangle on the white background) is redrawn
with the next sub-seed, at most `MAX_DRAWS` times (then the draw that
changed most is kept). All randomness comes from `numpy.random.default_rng([seed, kind,
index, draw])`, so the set is a pure function of (images, seed).

Written once: `<out>/<name>.png` (image), `<name>.guide.png`,
`<name>.mask.png` (8-bit, 255 = edited) and `<out>/manifest.jsonl`, one line
per edit with the fields `sample_edit.py --config.inputs=<manifest>` reads
(image, guide, mask, label, name) plus `kind`, `truth` (path of the true
image, or null), `index` (position in the split) and `id` (the emoji id).
Names are `<kind>_<index:03d>`.
"""

from __future__ import annotations

import dataclasses
import json
import os
from typing import Iterable, Sequence

import numpy as np
from PIL import Image

from maskgit_edit import strokes

KINDS = ("local", "segment_inversion", "segment_counterfactual", "global")
# Kinds whose truth is the original image.
INVERSION_KINDS = ("local", "segment_inversion", "global")
LOCAL_AREA = (0.10, 0.40)  # Fraction of the image the local rectangle covers.
LOCAL_ASPECT = (0.5, 2.0)  # Height / width range of the rectangle.
CHANGE_LEVELS = 16  # A pixel "changed" if some channel moved > this (8-bit).
MIN_CHANGED_FRACTION = 0.2  # Of the masked pixels, else redraw.
MAX_DRAWS = 20
MANIFEST = "manifest.jsonl"


@dataclasses.dataclass
class Edit:
  """One simulated edit (uint8 images, bool mask)."""
  name: str
  kind: str
  index: int
  label: int
  id: str
  image: np.ndarray  # uint8 [S, S, 3]
  guide: np.ndarray  # uint8 [S, S, 3]
  mask: np.ndarray  # bool [S, S]

  @property
  def has_truth(self) -> bool:
    return self.kind in INVERSION_KINDS


def _changed_fraction(image: np.ndarray, guide: np.ndarray,
                      mask: np.ndarray) -> float:
  diff = np.abs(image.astype(np.int16) - guide.astype(np.int16)).max(-1)
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


def _draw(image: np.ndarray, kind: str, rng: np.random.Generator,
          painting: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
  """(guide, mask) of one draw of `kind` (not counterfactual)."""
  side = image.shape[0]
  if kind == "global":
    return painting, np.ones(image.shape[:2], bool)
  if kind == "local":
    mask = _rectangle(side, rng)
    guide = np.where(mask[..., None], painting, image)
    return guide, mask
  raise ValueError(kind)


def make_edits(image: np.ndarray, index: int, seed: int
               ) -> dict[str, tuple[np.ndarray, np.ndarray]]:
  """{kind: (guide uint8 [S, S, 3], mask bool [S, S])} for one image.

  Args:
    image: uint8 [S, S, 3].
    index: the image's position in its split (part of the seed).
    seed: benchmark seed.
  """
  if image.dtype != np.uint8 or image.ndim != 3 or image.shape[-1] != 3:
    raise ValueError(f"image must be uint8 [S, S, 3], got {image.dtype} "
                     f"{image.shape}.")
  out = {}
  for k, kind in enumerate(KINDS):
    if kind == "segment_counterfactual":
      continue
    best = painting = None
    if kind != "segment_inversion":
      # One whole-image painting per image, shared by every redraw.
      painting = strokes.sdedit_strokes(image, seed=int(
          np.random.default_rng([seed, k, index]).integers(2**31)))
    for draw in range(MAX_DRAWS):
      rng = np.random.default_rng([seed, k, index, draw])
      sub = int(rng.integers(2**31))
      if kind == "segment_inversion":
        guide, mask = strokes.pilot_stroke_edit(image, mode="inversion",
                                                seed=sub)
      else:
        guide, mask = _draw(image, kind, rng, painting)
      changed = _changed_fraction(image, guide, mask)
      if best is None or changed > best[3]:
        best = (guide, mask, sub, changed)
      if changed >= MIN_CHANGED_FRACTION:
        break
    guide, mask, sub, _ = best
    out[kind] = (guide, mask)
    if kind == "segment_inversion":
      # Same sub-seed -> same segment, now in a wrong colour.
      out["segment_counterfactual"] = strokes.pilot_stroke_edit(
          image, mode="counterfactual", seed=sub)
  return {kind: out[kind] for kind in KINDS}


def build(images: np.ndarray, labels: np.ndarray, ids: Sequence[str],
          seed: int = 0, indices: Iterable[int] | None = None,
          kinds: Sequence[str] = KINDS) -> list[Edit]:
  """Every kind of edit for each image in `indices` (default: all).

  Returns edits ordered by kind, then index.
  """
  for kind in kinds:
    if kind not in KINDS:
      raise ValueError(f"Unknown kind {kind!r}; choose from {KINDS}.")
  indices = range(len(images)) if indices is None else list(indices)
  per_image = {i: make_edits(images[i], i, seed) for i in indices}
  edits = []
  for kind in kinds:
    for i in indices:
      guide, mask = per_image[i][kind]
      edits.append(Edit(name=f"{kind}_{i:03d}", kind=kind, index=int(i),
                        label=int(labels[i]), id=str(ids[i]),
                        image=images[i], guide=guide, mask=mask))
  return edits


def _save(path: str, array: np.ndarray) -> None:
  tmp = path + ".tmp.png"
  Image.fromarray(array).save(tmp)
  os.replace(tmp, path)


def write(edits: Sequence[Edit], out_dir: str, meta: dict | None = None
          ) -> str:
  """Writes the PNGs and `manifest.jsonl` (last, atomically); its path."""
  os.makedirs(out_dir, exist_ok=True)
  lines = []
  for e in edits:
    stem = os.path.join(out_dir, e.name)
    _save(stem + ".png", e.image)
    _save(stem + ".guide.png", e.guide)
    _save(stem + ".mask.png", (e.mask * 255).astype(np.uint8))
    lines.append(json.dumps(dict(
        image=e.name + ".png", guide=e.name + ".guide.png",
        mask=e.name + ".mask.png", label=e.label, name=e.name, kind=e.kind,
        truth=e.name + ".png" if e.has_truth else None, index=e.index,
        id=e.id)))
  if meta is not None:
    with open(os.path.join(out_dir, "meta.json"), "w") as f:
      json.dump(meta, f, indent=1)
  path = os.path.join(out_dir, MANIFEST)
  with open(path + ".tmp", "w") as f:
    f.write("\n".join(lines) + "\n")
  os.replace(path + ".tmp", path)
  return path


@dataclasses.dataclass
class BenchmarkArrays:
  """A loaded benchmark: N edits as arrays.

  Attributes:
    names, kinds, ids: str lists [N].
    indices, labels: int32 [N].
    images, guides: uint8 [N, S, S, 3].
    masks: bool [N, S, S].
    has_truth: bool [N] (truth = `images` where True).
  """
  names: list
  kinds: list
  ids: list
  indices: np.ndarray
  labels: np.ndarray
  images: np.ndarray
  guides: np.ndarray
  masks: np.ndarray
  has_truth: np.ndarray

  def select(self, keep: np.ndarray) -> "BenchmarkArrays":
    keep = np.asarray(keep)
    if keep.dtype == bool:
      keep = np.flatnonzero(keep)
    pick = lambda xs: [xs[i] for i in keep]
    return BenchmarkArrays(
        names=pick(self.names), kinds=pick(self.kinds), ids=pick(self.ids),
        indices=self.indices[keep], labels=self.labels[keep],
        images=self.images[keep], guides=self.guides[keep],
        masks=self.masks[keep], has_truth=self.has_truth[keep])

  def __len__(self) -> int:
    return len(self.names)


def from_edits(edits: Sequence[Edit]) -> BenchmarkArrays:
  return BenchmarkArrays(
      names=[e.name for e in edits], kinds=[e.kind for e in edits],
      ids=[e.id for e in edits],
      indices=np.asarray([e.index for e in edits], np.int32),
      labels=np.asarray([e.label for e in edits], np.int32),
      images=np.stack([e.image for e in edits]),
      guides=np.stack([e.guide for e in edits]),
      masks=np.stack([e.mask for e in edits]),
      has_truth=np.asarray([e.has_truth for e in edits]))


def load(manifest: str) -> BenchmarkArrays:
  """Reads a manifest written by `write` (PNG paths relative to it)."""
  base = os.path.dirname(os.path.abspath(manifest))
  read = lambda p: np.asarray(Image.open(os.path.join(base, p)))
  edits = []
  with open(manifest) as f:
    for line in f:
      if not line.strip():
        continue
      r = json.loads(line)
      image = read(r["image"])
      edits.append(Edit(
          name=r["name"], kind=r["kind"], index=int(r["index"]),
          label=int(r["label"]), id=str(r.get("id", "")), image=image,
          guide=read(r["guide"]), mask=read(r["mask"]) > 127))
      if (r["truth"] is not None) != edits[-1].has_truth:
        raise ValueError(f"{manifest}: {r['name']} truth field does not "
                         f"match its kind {r['kind']!r}.")
  return from_edits(edits)


def build_from_npz(data: str, split: str = "test", seed: int = 0,
                   limit: int = 0) -> list[Edit]:
  """`build` on a split of an .npz written by `maskgit.data.arrays`."""
  with np.load(data, allow_pickle=False) as f:
    images = np.asarray(f[f"{split}_image"])
    labels = np.asarray(f[f"{split}_label"])
    key = f"{split}_id"
    ids = (np.asarray(f[key]) if key in f.files
           else np.asarray([str(i) for i in range(len(images))]))
  indices = range(min(limit, len(images)) if limit else len(images))
  return build(images, labels, ids, seed=seed, indices=indices)


def ensure(data: str, out_dir: str, split: str = "test", seed: int = 0,
           limit: int = 0) -> str:
  """The manifest in `out_dir`, building the set first when it is missing.

  A present set must have been built from the same settings (meta.json);
  otherwise ValueError (delete the folder to rebuild).
  """
  meta = dict(data=os.path.abspath(data), split=split, seed=int(seed),
              limit=int(limit), kinds=list(KINDS))
  path = os.path.join(out_dir, MANIFEST)
  meta_path = os.path.join(out_dir, "meta.json")
  if os.path.exists(path):
    with open(meta_path) as f:
      old = json.load(f)
    if {k: old.get(k) for k in meta if k != "data"} != {
        k: v for k, v in meta.items() if k != "data"}:
      raise ValueError(f"{out_dir} holds a benchmark built with {old}, not "
                       f"{meta}; delete it or choose another folder.")
    return path
  return write(build_from_npz(data, split, seed, limit), out_dir, meta)


def main(argv):
  del argv
  from absl import flags  # pylint: disable=g-import-not-at-top
  f = flags.FLAGS
  path = ensure(f.data, f.out, f.split, f.seed, f.limit)
  print(f"Benchmark manifest: {path}")


if __name__ == "__main__":
  from absl import app  # pylint: disable=g-import-not-at-top
  from absl import flags  # pylint: disable=g-import-not-at-top
  flags.DEFINE_string("data", "data/emoji64.npz", ".npz from "
                      "maskgit.data.arrays.")
  flags.DEFINE_string("out", "data/benchmark/emoji", "Output folder.")
  flags.DEFINE_string("split", "test", "Split to edit.")
  flags.DEFINE_integer("seed", 0, "Benchmark seed.")
  flags.DEFINE_integer("limit", 0, "Only the first N images (0 = all).")
  app.run(main)
