"""Batch inputs: discovery (folder or JSONL manifest) and loading one item.

* a folder: `NAME.EXT` is an image when `NAME.guide.EXT2` exists next to it;
  `NAME.mask.EXT3` is its optional mask (EXT in png, jpg, jpeg, bmp, webp,
  tif, tiff, gif). Files named `*.guide.*` / `*.mask.*` without an image, and
  images without a guide, are reported as errors.
* a JSONL manifest (`*.jsonl`): one object per line with "image", "guide",
  optional "mask", "label", "name"; relative paths are relative to the file.

Loading checks every file's header size before decoding anything: the guide
and the mask must have the image's size (also with `resize`); with a `size`
and no `resize` the image must be that size (the batch runner passes no size
unless `resize`: any size is edited in windows, maskgit_edit/anysize.py).
"""

from __future__ import annotations

import dataclasses
import json
import os

import numpy as np

from maskgit import image_io
from maskgit_edit.batch import loop

IMAGE_EXTS = (".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff",
              ".gif")


class ItemError(ValueError):
  """One input item cannot be edited (nothing is written for it)."""


@dataclasses.dataclass
class Item:
  name: str
  image: str
  guide: str
  mask: str | None = None
  label: int | None = None


def _split(fname: str) -> tuple[str, str]:
  stem, ext = os.path.splitext(fname)
  return stem, ext.lower()


def discover(inputs: str) -> tuple[list[Item], list[str]]:
  """Items from a folder or a JSONL manifest, plus discovery errors.

  Raises:
    ValueError: `inputs` is empty, missing, or holds no edit at all.
  """
  if not inputs:
    raise ValueError("config.inputs is empty: give a folder or a .jsonl "
                     "manifest.")
  if os.path.isfile(inputs) and inputs.endswith(".jsonl"):
    items, errors = _manifest(inputs)
    expected = "one JSON object per line"
  elif os.path.isdir(inputs):
    items, errors = _folder(inputs)
    expected = "NAME.png + NAME.guide.png [+ NAME.mask.png]"
  elif not os.path.exists(inputs):
    raise ValueError(f"Inputs {inputs!r} do not exist (give a folder or a "
                     ".jsonl manifest).")
  else:
    raise ValueError(f"Inputs {inputs!r} is neither a folder nor a .jsonl "
                     "manifest.")
  if not items and not errors:
    raise ValueError(f"No edits found in {inputs} (expected {expected}).")
  return items, errors


def _folder(inputs: str) -> tuple[list[Item], list[str]]:
  files = sorted(f for f in os.listdir(inputs)
                 if os.path.isfile(os.path.join(inputs, f))
                 and not f.startswith("."))
  by_role: dict[str, dict[str, str]] = {}
  errors = []
  for f in files:
    stem, ext = _split(f)
    if ext not in IMAGE_EXTS:
      continue
    role = "image"
    for r in ("guide", "mask"):
      if stem.endswith("." + r):
        role, stem = r, stem[:-len(r) - 1]
    slot = by_role.setdefault(stem, {})
    if role in slot:
      errors.append(f"{stem}: two {role} files ({slot[role]}, {f}).")
    slot[role] = os.path.join(inputs, f)
  items = []
  for stem, slot in sorted(by_role.items()):
    if "image" not in slot:
      errors.append(f"{stem}: guide/mask without an image file.")
    elif "guide" not in slot:
      errors.append(f"{stem}: image without a '{stem}.guide.<ext>' file.")
    else:
      items.append(Item(stem, slot["image"], slot["guide"], slot.get("mask")))
  return items, errors


@dataclasses.dataclass
class ManifestRecord:
  """One line of a JSONL manifest (paths resolved against its folder).

  Attributes:
    name, image, guide, mask, label: the edit (`Item` fields).
    extra: every other field of the line, as written.
    base: the manifest's folder (`resolve` makes its relative paths
      absolute).
  """
  name: str
  image: str
  guide: str
  mask: str | None
  label: int | None
  extra: dict
  base: str

  def resolve(self, path: str) -> str:
    return path if os.path.isabs(path) else os.path.join(self.base, path)


def read_manifest(path: str) -> tuple[list[ManifestRecord], list[str]]:
  """The one reader of the JSONL manifest format (the batch CLI's inputs,
  the benchmark set, the browser editor's examples).

  One object per line with "image", "guide", optional "mask", "label",
  "name" and any other fields (kept in `extra`); relative paths are relative
  to the manifest. Returns (records, one error line per bad line).
  """
  base = os.path.dirname(os.path.abspath(path))
  fix = lambda p: p if os.path.isabs(p) else os.path.join(base, p)
  records, errors, names = [], [], set()
  with open(path) as f:
    for i, line in enumerate(f, 1):
      if not line.strip():
        continue
      try:
        rec = json.loads(line)
        if not isinstance(rec, dict) or "image" not in rec or (
            "guide" not in rec):
          raise ValueError("needs 'image' and 'guide'")
        name = str(rec.get("name") or _split(os.path.basename(
            rec["image"]))[0])
        if name in names or "/" in name or name.startswith("."):
          raise ValueError(f"bad or duplicate name {name!r}")
        names.add(name)
        label = rec.get("label")
        if label is not None and not isinstance(label, int):
          raise ValueError(f"label must be an integer, got {label!r}")
        extra = {k: v for k, v in rec.items()
                 if k not in ("image", "guide", "mask", "label", "name")}
        records.append(ManifestRecord(
            name, fix(rec["image"]), fix(rec["guide"]),
            fix(rec["mask"]) if rec.get("mask") else None, label, extra,
            base))
      except (ValueError, TypeError) as e:
        errors.append(f"{path}:{i}: {e}")
  return records, errors


def _manifest(path: str) -> tuple[list[Item], list[str]]:
  records, errors = read_manifest(path)
  return [Item(r.name, r.image, r.guide, r.mask, r.label)
          for r in records], errors


def load_item(item: Item, size: int | None, resize: bool
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
  """(image, guide [H, W, 3], mask [H, W] or None) as float32.

  H = W = size when given (resized with `resize`, else checked); None =
  the files' own size.

  Raises:
    ItemError: a file is missing, unreadable, too large, or of the wrong
      size (from the headers, before any decoding).
  """
  try:
    w, h = image_io.image_size(item.image)
    others = [("guide", item.guide)] + ([("mask", item.mask)]
                                        if item.mask else [])
    for kind, path in others:
      ow, oh = image_io.image_size(path, kind)
      if (ow, oh) != (w, h):
        raise ItemError(f"{item.name}: {kind} is {ow}x{oh}, image is "
                        f"{w}x{h}.")
    image = image_io.load_image(item.image, size, resize=resize)
    guide = image_io.load_image(item.guide, size, resize=resize)
    mask = (image_io.load_mask(item.mask, size, resize=resize)
            if item.mask else None)
    return image, guide, mask
  except image_io.ImageError as e:
    raise ItemError(f"{item.name}: {e}") from e


class ItemLoader:
  """A lazy `loop.EditItem` of a file item (loaded on the loop's thread).

  Calling it loads the files (`load_item`); an `ItemError` is then the
  item's failure.
  """

  def __init__(self, item: Item, size: int | None, resize: bool,
               default_label: int, seed: int):
    self.item = item
    self.name = item.name
    self._args = (size, resize)
    self._label = default_label if item.label is None else item.label
    self._seed = seed

  def __call__(self):
    image, guide, mask = load_item(self.item, *self._args)
    return loop.EditItem(name=self.item.name, image=image, guide=guide,
                         mask=mask, label=int(self._label), seed=self._seed,
                         data=self.item)
