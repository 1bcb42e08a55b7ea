"""Batch editing: input discovery, output writing, resume, sweeps.

Inputs (see docs/editing.md):
* a folder: `NAME.EXT` is an image when `NAME.guide.EXT2` exists next to it;
  `NAME.mask.EXT3` is its optional mask (EXT in png, jpg, jpeg, bmp, webp,
  tif, tiff, gif). Files named `*.guide.*` / `*.mask.*` without an image, and
  images without a guide, are reported as errors.
* a JSONL manifest (`*.jsonl`): one object per line with "image", "guide",
  optional "mask", "label", "name"; relative paths are relative to the file.

Outputs, per run (method, strength) and item:
  OUT/<method>_s<strength>/<name>/sample_XX.png, grid.png (image | guide |
  mask | samples), record.json (every setting, timings). record.json is
  written last and atomically: an item is done iff it exists (resume skips
  it unless `overwrite`).
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys
import time
import traceback
from typing import Any

import jax
import numpy as np
from PIL import Image
from PIL import UnidentifiedImageError

from maskgit import cli as maskgit_cli
from maskgit import image_io
from maskgit import model as model_lib
from maskgit import runtime
from maskgit_edit import backends
from maskgit_edit import editor as editor_lib
from maskgit_edit import guidance

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


def _split(fname: str):
  stem, ext = os.path.splitext(fname)
  return stem, ext.lower()


def discover(inputs: str) -> tuple[list[Item], list[str]]:
  """Items from a folder or a JSONL manifest, plus discovery errors."""
  if not inputs:
    raise ValueError("config.inputs is empty: give a folder or a .jsonl "
                     "manifest.")
  if os.path.isfile(inputs) and inputs.endswith(".jsonl"):
    return _manifest(inputs)
  if not os.path.isdir(inputs):
    raise ValueError(f"Inputs {inputs!r} is neither a folder nor a .jsonl "
                     "manifest.")
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


def _manifest(path: str):
  base = os.path.dirname(os.path.abspath(path))
  items, errors, names = [], [], set()
  with open(path) as f:
    for i, line in enumerate(f, 1):
      if not line.strip():
        continue
      try:
        rec = json.loads(line)
        if not isinstance(rec, dict) or "image" not in rec or (
            "guide" not in rec):
          raise ValueError("needs 'image' and 'guide'")
        fix = lambda p: p if os.path.isabs(p) else os.path.join(base, p)
        name = str(rec.get("name") or _split(os.path.basename(
            rec["image"]))[0])
        if name in names or "/" in name or name.startswith("."):
          raise ValueError(f"bad or duplicate name {name!r}")
        names.add(name)
        label = rec.get("label")
        if label is not None and not isinstance(label, int):
          raise ValueError(f"label must be an integer, got {label!r}")
        items.append(Item(name, fix(rec["image"]), fix(rec["guide"]),
                          fix(rec["mask"]) if rec.get("mask") else None,
                          label))
      except (ValueError, TypeError) as e:
        errors.append(f"{path}:{i}: {e}")
  return items, errors


def load_mask(path: str) -> np.ndarray:
  """Mask file -> float32 [H, W] in [0, 1] (> 0.5 = edited).

  Luminance; with alpha (RGBA, LA, PA), luminance x alpha (transparent = not
  edited); 16-bit scaled from 65535.
  """
  if not os.path.isfile(path):
    raise image_io.ImageError(f"Mask file not found: {path}")
  try:
    with Image.open(path) as im:
      im.load()
      if im.mode.startswith("I;16") or im.mode == "I":
        a = np.asarray(im, np.float32)
        return np.clip(a / (65535.0 if a.max(initial=0) > 255 or
                            im.mode.startswith("I;16") else 255.0), 0, 1)
      if im.mode == "F":
        return np.clip(np.asarray(im, np.float32), 0, 1)
      if im.mode == "P":
        im = im.convert("RGBA")
      if "A" in im.mode:
        la = np.asarray(im.convert("LA"), np.float32) / 255.0
        return la[..., 0] * la[..., 1]
      return np.asarray(im.convert("L"), np.float32) / 255.0
  except (UnidentifiedImageError, OSError, SyntaxError) as e:
    raise image_io.ImageError(f"Cannot read mask {path}: {e}") from e


def load_item(item: Item, size: int, resize: bool):
  """(image, guide, mask or None) as float arrays; ItemError on bad input."""
  try:
    image = image_io.load_image(item.image, size, resize=resize)
    guide = image_io.load_image(item.guide, None)
    if guide.shape != image.shape and not resize:
      raise ItemError(f"{item.name}: guide is {guide.shape[1]}x"
                      f"{guide.shape[0]}, image is {image.shape[1]}x"
                      f"{image.shape[0]}.")
    guide = image_io.load_image(item.guide, size, resize=resize)
    mask = None
    if item.mask:
      mask = load_mask(item.mask)
      if mask.shape != (size, size):
        if not resize:
          raise ItemError(f"{item.name}: mask is {mask.shape[1]}x"
                          f"{mask.shape[0]}, expected {size}x{size}.")
        mask = np.asarray(Image.fromarray(mask).resize(
            (size, size), Image.NEAREST), np.float32)
    return image, guide, mask
  except (image_io.ImageError, guidance.GuidanceError) as e:
    raise ItemError(f"{item.name}: {e}") from e


def options_from_config(config, method: str) -> editor_lib.EditOptions:
  return editor_lib.options_from_config(config, method)


def _as_list(value) -> list:
  """A config list given as a tuple, or as 'a,b' from the command line."""
  if isinstance(value, str):
    value = (value,)
  out = []
  for v in value:
    out.extend(p.strip() for p in v.split(",") if p.strip()) if isinstance(
        v, str) else out.append(v)
  return out


def runs_from_config(config) -> list[tuple[str, float]]:
  """(method, strength) pairs; validates them before any work."""
  methods = _as_list(config.sweep.methods) or [config.method]
  try:
    strengths = [float(s) for s in (_as_list(config.sweep.strengths)
                                    or [config.strength])]
  except ValueError as e:
    raise ValueError(f"Bad strength: {e}") from e
  backends.import_plugins(config.get("plugins", ()))
  for m in methods:
    backends.check_method(m)
  bad = [s for s in strengths if not 0.0 <= s <= 1.0]
  if bad:
    raise ValueError(f"strength must be in [0, 1], got {bad}.")
  runs = []
  for m in methods:
    for s in ([1.0] if m == "inpaint" else strengths):
      runs.append((m, s))
  return runs


def load_editors(config) -> dict[str, editor_lib.Editor]:
  """{'base': Editor, 'selfcond': Editor (lazily needed)}."""
  model = maskgit_cli.load_model(config)
  eds = {"base": editor_lib.Editor(model, config.kernel_path)}
  return eds


def selfcond_editor(config, base: editor_lib.Editor) -> editor_lib.Editor:
  if config.selfcond_transformer_path:
    mc = config.model.copy_and_resolve_references()
    mc.transformer.num_hint_codes = (config.selfcond_num_hint_codes or
                                     mc.transformer.num_codes)
    m = model_lib.MaskGIT.from_files(
        mc, config.tokenizer_path or "", config.selfcond_transformer_path)
  elif base.model.transformer_config.num_hint_codes:
    return base
  else:
    print("NOTE: no selfcond_transformer_path; selfcond uses the base "
          "transformer with a ZERO hint table (identical to inpaint).",
          file=sys.stderr)
    m = editor_lib.with_hint_embedding(base.model,
                                       config.selfcond_num_hint_codes)
  return editor_lib.Editor(m, config.kernel_path)


def _run_dir(out: str, method: str, strength: float) -> str:
  return os.path.join(out, f"{method}_s{strength:.3f}")


def _write_json(path: str, obj: Any) -> None:
  tmp = path + ".tmp"
  with open(tmp, "w") as f:
    json.dump(obj, f, indent=1)
    f.flush()
    os.fsync(f.fileno())
  os.replace(tmp, path)


def run(config) -> int:
  """Runs every (method, strength) x item; returns the process exit code."""
  runtime.enable_compilation_cache(config.compilation_cache)
  runs = runs_from_config(config)
  opts = {m: (backends.get(m).options(config, m) if backends.has(m) else
              options_from_config(config, m)) for m, _ in runs}
  items, errors = discover(config.inputs)
  failures = [("discovery", e) for e in errors]
  if errors and not config.keep_going:
    for _, e in failures:
      print(f"error: {e}", file=sys.stderr)
    return 1
  random_weights = not config.tokenizer_path
  eds: dict[str, editor_lib.Editor] = {}
  size = int(config.model.image_size)
  loaded: dict[str, Any] = {}
  done = skipped = 0
  edit_seconds: list[float] = []  # Compiled calls only (latency summary).
  total = len(runs) * len(items)
  try:
    from tqdm import tqdm  # pylint: disable=g-import-not-at-top
    bar = tqdm(total=total, disable=not config.progress, file=sys.stderr,
               unit="edit")
  except ImportError:  # pragma: no cover
    bar = None
  for method, strength in runs:
    for item in items:
      if bar is not None:
        bar.set_description(f"{method} s={strength:.2f} {item.name}")
      out_dir = os.path.join(_run_dir(config.output_dir, method, strength),
                             item.name)
      record_path = os.path.join(out_dir, "record.json")
      try:
        if os.path.exists(record_path) and not config.overwrite:
          skipped += 1
          continue
        if backends.has(method):  # A plugin's editor (e.g. a baseline).
          if method not in eds:
            eds[method] = backends.get(method).create(config, method)
          ed = eds[method]
        else:
          if "base" not in eds:  # Loaded on first use: a resumed run that
            eds.update(load_editors(config))  # has nothing to do is fast.
          if method == "selfcond" and "selfcond" not in eds:
            eds["selfcond"] = selfcond_editor(config, eds["base"])
          ed = eds["selfcond" if method == "selfcond" else "base"]
        if item.name not in loaded:
          try:
            loaded[item.name] = load_item(item, size, config.resize)
          except ItemError as e:
            loaded[item.name] = e
        if isinstance(loaded[item.name], Exception):
          raise loaded[item.name]
        image, guide, mask = loaded[item.name]
        label = config.label if item.label is None else item.label
        try:
          res = ed.edit(image[None], guide[None], [mask], labels=label,
                        strength=strength, seed=config.seed,
                        num_samples=config.num_samples, options=opts[method])
        except ValueError as e:
          raise ItemError(f"{item.name}: {e}") from e
        _write_item(out_dir, item, image, guide, res, config, method,
                    strength, label, random_weights)
        if not res.compiled:
          edit_seconds.append(res.timings["total"])
        done += 1
      except ItemError as e:
        failures.append((f"{method} s={strength:.3f} {item.name}", str(e)))
        print(f"\nerror: {e}", file=sys.stderr)
        if not config.keep_going:
          if bar is not None:
            bar.close()
          return 1
      except Exception as e:  # pylint: disable=broad-except
        if not config.keep_going:
          raise
        failures.append((f"{method} s={strength:.3f} {item.name}",
                         f"{type(e).__name__}: {e}"))
        traceback.print_exc()
      finally:
        if bar is not None:
          bar.update(1)
  if bar is not None:
    bar.close()
  if config.get("summary_grid", False):
    for method, strength in runs:
      path = write_summary_grid(_run_dir(config.output_dir, method, strength),
                                [it.name for it in items])
      if path:
        print(f"Grid ({method}, strength {strength:g}; rows: image | guide |"
              f" mask | {config.num_samples} samples): {path}",
              file=sys.stderr)
  if edit_seconds:
    print(f"Edit latency ({config.num_samples} samples per edit, compiled, "
          f"{jax.default_backend()}): median "
          f"{np.median(edit_seconds):.3f} s, max {max(edit_seconds):.3f} s "
          f"over {len(edit_seconds)} edits.", file=sys.stderr)
  print(f"Done: {done} written, {skipped} skipped (already done), "
        f"{len(failures)} failed; outputs in {config.output_dir}.",
        file=sys.stderr)
  if failures:
    print("Failures:", file=sys.stderr)
    for where, msg in failures:
      print(f"  {where}: {msg}", file=sys.stderr)
  return 1 if failures else 0


def write_summary_grid(run_dir: str, names: list[str]) -> str | None:
  """Stacks the items' grid.png files (one row each) into run_dir/grid.png.

  Items without a grid (failed, or not run) are left out; returns the path,
  or None when there is nothing to stack.
  """
  rows = []
  for name in names:
    path = os.path.join(run_dir, name, "grid.png")
    if os.path.exists(path):
      rows.append(image_io.load_image(path))
  if not rows:
    return None
  width = max(r.shape[1] for r in rows)
  rows = [np.pad(r, ((0, 0), (0, width - r.shape[1]), (0, 0)),
                 constant_values=1.0) for r in rows]
  path = os.path.join(run_dir, "grid.png")
  image_io.save_png(path, np.concatenate(rows, axis=0))
  return path


def _write_item(out_dir, item, image, guide, res, config, method, strength,
                label, random_weights):
  # A run killed mid-write leaves temp files (atomic writes never leave a
  # partial output under its final name); the item is being redone, so drop
  # them. record.json is written last: its presence marks the item done.
  if os.path.isdir(out_dir):
    for name in os.listdir(out_dir):
      if name.startswith(".tmp-") or name.endswith(".tmp"):
        os.remove(os.path.join(out_dir, name))
  samples = res.images[0]
  paths = []
  for i, s in enumerate(samples):
    paths.append(os.path.join(out_dir, f"sample_{i:02d}.png"))
    image_io.save_png(paths[-1], s)
  mask_rgb = np.repeat(res.feather_weights[0][..., None], 3, -1)
  panels = np.concatenate([image[None], guide[None], mask_rgb[None], samples])
  image_io.save_png(os.path.join(out_dir, "grid.png"),
                    image_io.grid(panels, len(panels)))
  settings = json.loads(config.to_json_best_effort())
  settings.update(method=method, strength=strength)
  record = dict(
      name=item.name, image=item.image, guide=item.guide, mask=item.mask,
      label=int(label), method=method, strength=strength,
      samples=[os.path.basename(p) for p in paths],
      edited_pixels=int(res.pixel_masks[0].sum()),
      edited_tokens=int(res.edit_tokens[0].sum()),
      window_side=int(res.tokens.shape[-1]),
      window_offset=res.window_offsets[0].tolist(),
      timings_s=res.timings, compiled_this_call=res.compiled,
      backend=jax.default_backend(),
      random_weights=random_weights,
      settings=settings, time=time.strftime("%Y-%m-%dT%H:%M:%S"))
  _write_json(os.path.join(out_dir, "record.json"), record)
