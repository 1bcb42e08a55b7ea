"""Images of any size, and outpainting, through the one editing loop.

    res = anysize.edit(editor, options, image_HW3, guide_HW3, strength=0.3,
                       num_samples=4)
    res.images        # float32 [S, H, W, 3] at the input's size
    res.layout        # {"mode": "native" | "downscaled" | "mixed", windows}
                      # (an S x S image is the plain edit: no layout)
    out = anysize.outpaint(editor, options, image_HW3, sides="left:32")
    out.images        # float32 [S, H, W + 32, 3]

Every editor edits model-size images (S x S, S = `editor.image_size`).
Editing an image of another size:

* E = the edited pixels (the mask, or where guide != image in 8 bits).
  Strokes are grouped into clusters: strokes whose feather bands could
  touch are one cluster, and clusters are merged while they fit one window
  together. Each cluster is one window, and all windows of all images are
  edited in ONE stream of batches (`batch.loop.edit_items`).
* A cluster whose box plus `feather + context` px on each side (clipped to
  the image) fits S x S is edited at NATIVE scale in an S x S window of the
  image (centred on it, clamped to the image); the window's feathered
  composite is pasted where its weight is > 0.
* A larger cluster is edited DOWNSCALED: a square context window of side L
  (the cluster's box plus margins; clamped to the image and edge-padded to a
  square when the image is narrower) is resized to S x S (area filter), the
  cluster's E (any covered pixel) is the window's mask; the edited window is
  upscaled back (bicubic) and composited into the image with the
  full-resolution feather weights of E. Only E and its feather band change,
  and they are as sharp as an S-pixel edit of an L-pixel window: blurrier
  by L / S. The result says which mode each window used.
* An image smaller than S in a side is edge-padded to S in that side first
  (the padding is context only, cropped from the result).

Each window's mask is its own cluster's pixels and its guide is the image
outside them, so windows never edit each other's strokes; the feather bands
of different clusters never overlap, so pasting order does not matter and
every pixel farther than `feather` from E is bit-identical to the input.
An S x S image is one native window with the edit's own seed: the same
edit as calling the editor on it directly.

Outpainting (`outpaint`) extends the canvas by N px on given sides. The new
pixels are edge-replicated from the image (the plain fill that is both the
window's image and guide there) and are the mask E; windows of S x S are
filled one after the other, each chosen among a half-window grid as the one
whose pixels are most already known, so later windows see earlier results
(MaskGIT-style). The seams between windows are feathered by the editor's
composite; the original pixels are never written (bit-identical), so the
seam against the original image is the model's inpainting, not a blend.
Strength 1 (default) is inpainting for every token method.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any, Iterable, Iterator

import numpy as np
from PIL import Image
from scipy import ndimage

from maskgit import compositing
from maskgit import image_io
from maskgit_edit import guidance
from maskgit_edit import protocol
from maskgit_edit.batch import loop

SIDES = ("left", "right", "top", "bottom")


@dataclasses.dataclass(frozen=True)
class Window:
  """One model-size edit of a cluster of E.

  Attributes:
    top, left: the window's corner in the (padded) image.
    height, width: the crop of the image it reads (<= side).
    side: the crop's square side before resizing (S when native).
    pad: (top, left) edge padding that makes the crop square.
    mode: "native" (side == S, no resizing) or "downscaled" (side > S).
    box: (y0, x0, y1, x1) of the cluster's edited pixels.
  """
  top: int
  left: int
  height: int
  width: int
  side: int
  pad: tuple[int, int]
  mode: str
  box: tuple[int, int, int, int]

  def record(self) -> dict:
    return dict(mode=self.mode, top=self.top, left=self.left,
                height=self.height, width=self.width, side=self.side,
                box=list(self.box))


@dataclasses.dataclass
class Output(loop.ItemOutput):
  """An edited item of any size (`loop.ItemOutput` fields, full size), plus
  `layout`: what was done (mode, windows, outpainting), for its record."""
  layout: dict = dataclasses.field(default_factory=dict)


def parse_sides(spec) -> dict[str, int]:
  """{"left": 32, ...} from 'left:32,right:32' (or a dict); '' = {}.

  Raises:
    ValueError: an unknown side, a value that is not an int >= 0, a side
      given twice, or every side 0.
  """
  if not spec:
    return {}
  if isinstance(spec, dict):
    pairs = list(spec.items())
  else:
    pairs = []
    for part in str(spec).split(","):
      if not part.strip():
        continue
      side, sep, value = part.partition(":")
      if not sep:
        raise ValueError(f"Bad outpaint side {part!r}: expected SIDE:PIXELS "
                         f"with SIDE in {', '.join(SIDES)} (e.g. "
                         "'left:32,right:32').")
      pairs.append((side.strip(), value.strip()))
  sides: dict[str, int] = {}
  for side, value in pairs:
    if side not in SIDES:
      raise ValueError(f"Unknown outpaint side {side!r}: use "
                       f"{', '.join(SIDES)}.")
    if side in sides:
      raise ValueError(f"Outpaint side {side!r} given twice.")
    try:
      n = int(value)
    except (TypeError, ValueError):
      n = -1
    if n < 0 or str(value).strip() != str(n):
      raise ValueError(f"Outpaint {side} must be a whole number of pixels "
                       f">= 0, got {value!r}.")
    sides[side] = n
  if sides and not any(sides.values()):
    raise ValueError(f"Outpaint sides are all 0 ({spec!r}): nothing to add.")
  return sides


def check_image(x, what: str) -> np.ndarray:
  """float32 [H, W, 3] of a float image of any size (ValueError else)."""
  x = np.asarray(x)
  if not np.issubdtype(x.dtype, np.floating):
    raise ValueError(f"{what} must be float in [0, 1] (divide by 255 "
                     f"first), got {x.dtype}.")
  if x.ndim != 3 or x.shape[-1] != 3 or min(x.shape[:2]) < 1:
    raise ValueError(f"{what} must be one [H, W, 3] image, got {x.shape}.")
  return np.asarray(x, np.float32)


def _pad_to(x: np.ndarray, size: int, mode: str = "edge", **kw
            ) -> np.ndarray:
  """Pads [H, W, ...] at the bottom/right to at least size x size."""
  ph, pw = max(0, size - x.shape[0]), max(0, size - x.shape[1])
  if not ph and not pw:
    return x
  widths = [(0, ph), (0, pw)] + [(0, 0)] * (x.ndim - 2)
  return np.pad(x, widths, mode=mode, **kw)


def _resize(x: np.ndarray, side: int, resample) -> np.ndarray:
  """float32 [..., h, w, C] -> [..., side, side, C], per channel in PIL F."""
  x = np.asarray(x, np.float32)
  lead = x.shape[:-3]
  flat = x.reshape((-1,) + x.shape[-3:])
  out = np.stack([np.stack([np.asarray(Image.fromarray(img[..., c], "F")
                                       .resize((side, side), resample))
                            for c in range(img.shape[-1])], -1)
                  for img in flat])
  return out.reshape(lead + out.shape[1:])


def _fits(box, margin: int, shape, size: int) -> bool:
  """The box plus `margin` each side, clipped to the image, fits S x S."""
  y0, x0, y1, x1 = box
  h = min(shape[0], y1 + margin) - max(0, y0 - margin)
  w = min(shape[1], x1 + margin) - max(0, x0 - margin)
  return h <= size and w <= size


def _union(a, b):
  return (min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3]))


def _place(lo: int, hi: int, side: int, extent: int) -> tuple[int, int]:
  """(start, length) of a window of `side` holding [lo, hi), in the image."""
  if side >= extent:
    return 0, extent
  start = lo - (side - (hi - lo)) // 2
  return int(np.clip(start, 0, extent - side)), side


def plan(pixel_mask_HW: np.ndarray, size: int, feather: int, context: int
         ) -> list[tuple[Window, np.ndarray]]:
  """The windows that edit E, each with its cluster's mask in the window.

  Args:
    pixel_mask_HW: bool [H, W], E, with H, W >= size.
    size: the model's side S.
    feather: the composite's feather radius (px).
    context: px of context beyond the feather band on each side.

  Returns:
    (window, mask) pairs: mask = bool [height, width], the cluster's pixels
    in the window's crop. The clusters partition E (each lies inside its
    window), and their feather bands are disjoint.
  """
  e = np.asarray(pixel_mask_HW, bool)
  shape = e.shape
  if min(shape) < size:
    raise ValueError(f"plan needs an image of at least {size}x{size}, got "
                     f"{shape}.")
  if not e.any():
    raise guidance.GuidanceError("Nothing to edit: E is empty.")
  # Strokes whose feather bands may touch (chessboard distance <= 2 *
  # feather + 1 covers Euclidean <= 2 * feather) are one cluster.
  grown = (ndimage.binary_dilation(e, np.ones((2 * feather + 1,) * 2, bool))
           if feather else e)
  labels, _ = ndimage.label(grown, np.ones((3, 3), bool))
  labels = np.where(e, labels, 0)
  clusters = [((sl[0].start, sl[1].start, sl[0].stop, sl[1].stop), [k])
              for k, sl in enumerate(ndimage.find_objects(labels), 1)
              if sl is not None]
  margin = feather + context
  clusters = _merge(clusters, margin, shape, size)
  lut = np.zeros(len(ndimage.find_objects(labels)) + 1, np.int32)
  for c, (_, ks) in enumerate(sorted(clusters), 1):
    lut[ks] = c
  out = []
  for c, (box, ks) in enumerate(sorted(clusters), 1):
    y0, x0, y1, x1 = box
    ny0, nx0 = max(0, y0 - margin), max(0, x0 - margin)
    ny1, nx1 = min(shape[0], y1 + margin), min(shape[1], x1 + margin)
    side = max(size, ny1 - ny0, nx1 - nx0)
    top, h = _place(ny0, ny1, side, shape[0])
    left, w = _place(nx0, nx1, side, shape[1])
    pad = ((side - h) // 2, (side - w) // 2)
    mode = "native" if side == size else "downscaled"
    crop = lut[labels[top:top + h, left:left + w]] == c
    out.append((Window(top, left, h, w, side, pad, mode, box), crop))
  return out


def _merge(clusters: list, margin: int, shape, size: int) -> list:
  """Merges (box, labels) clusters while two fit one native window.

  Passes until nothing merges; a cluster is only compared with clusters
  whose box centre lies within a window side of its own (a grid of
  S-pixel cells), so many far-apart strokes stay fast.
  """
  cell = lambda b: ((b[0] + b[2]) // 2 // size, (b[1] + b[3]) // 2 // size)
  merged = True
  while merged:
    merged = False
    out: list = []
    grid: dict = {}
    for box, ks in clusters:
      cy, cx = cell(box)
      near = (i for dy in (-1, 0, 1) for dx in (-1, 0, 1)
              for i in grid.get((cy + dy, cx + dx), ()))
      for i in near:
        union = _union(out[i][0], box)
        if _fits(union, margin, shape, size):
          grid[cell(out[i][0])].remove(i)
          out[i] = (union, out[i][1] + ks)
          grid.setdefault(cell(union), []).append(i)
          merged = True
          break
      else:
        grid.setdefault((cy, cx), []).append(len(out))
        out.append((box, ks))
    clusters = out
  return clusters


def _window_input(win: Window, image, guide, cluster, size: int):
  """(image, guide, mask) of a window, S x S, float32 / bool; `cluster`:
  the cluster's mask in the window's crop."""
  sl = (slice(win.top, win.top + win.height),
        slice(win.left, win.left + win.width))
  img, m = image[sl], cluster
  gd = np.where(m[..., None], guide[sl], img)
  if win.mode == "native":
    return img, gd, m
  pt, pl = win.pad
  widths = ((pt, win.side - win.height - pt), (pl, win.side - win.width - pl))
  img = np.pad(img, widths + ((0, 0),), mode="edge")
  gd = np.pad(gd, widths + ((0, 0),), mode="edge")
  m = np.pad(m.astype(np.float32), widths)
  img = np.clip(_resize(img, size, Image.BOX), 0, 1)
  gd = np.clip(_resize(gd, size, Image.BOX), 0, 1)
  m = _resize(m[..., None], size, Image.BOX)[..., 0] > 0
  return img, gd, m


def _paste(win: Window, canvas, res: loop.ItemOutput, cluster, feather: int,
           weights, region):
  """Pastes a window's samples into canvas [S, H, W, 3] (in place)."""
  sl = (slice(win.top, win.top + win.height),
        slice(win.left, win.left + win.width))
  if win.mode == "native":
    w = res.weights
    canvas[(slice(None),) + sl] = np.where(w[None, ..., None] > 0, res.images,
                                           canvas[(slice(None),) + sl])
    reg = res.region
  else:
    w = compositing.feather_mask(cluster, feather)
    up = _resize(res.images, win.side, Image.BICUBIC)
    pt, pl = win.pad
    up = up[:, pt:pt + win.height, pl:pl + win.width]
    canvas[(slice(None),) + sl] = compositing.composite(
        canvas[(slice(None),) + sl], up, w)
    reg_up = np.asarray(Image.fromarray(res.region).resize(
        (win.side, win.side), Image.NEAREST))
    reg = reg_up[pt:pt + win.height, pl:pl + win.width]
  weights[sl] = np.maximum(weights[sl], w)
  region[sl] |= reg


class _Failed:
  """A lazy item that fails with `error` (an item's planning failure)."""

  def __init__(self, name: str, error: Exception):
    self.name, self.error = name, error

  def __call__(self):
    raise self.error


@dataclasses.dataclass
class _Job:
  """One item's windows, its padded image and E, and the window outputs."""
  item: loop.EditItem
  size: tuple[int, int]
  windows: list
  padded: tuple = ()
  outs: dict = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class _WindowRef:
  """The `data` of a window item: its item's key and window index."""
  key: int
  index: int


def edit_items(editor: protocol.BaseEditor, options: Any,
               items: Iterable[loop.ItemSource], strength: float = 0.5,
               num_samples: int = 1, batch_size: int = 8, prefetch: int = 2,
               isolate_errors: bool = False, context: int = 8,
               outpaint=None, outpaint_strength: float = 1.0
               ) -> Iterator[loop.ItemOutput | loop.ItemFailure]:
  """`batch.loop.edit_items` for items of any size (and outpainting).

  Model-size items without outpainting go through unchanged (identical
  outputs); other items are split into windows (see the module docstring),
  edited in the same stream of batches and yielded as one `Output` at the
  item's size once all their windows are back. With `outpaint` (sides, see
  `parse_sides`) every edited item is then outpainted (an item whose guide
  equals its image and that has no mask is only outpainted).

  Args:
    editor, options, items, strength, num_samples, batch_size, prefetch,
      isolate_errors: as `loop.edit_items`.
    context: px of image context around E's feather band in a window.
    outpaint: sides to extend ('left:32,right:32' or a dict), or None.
    outpaint_strength: the strength of the outpainting edits.

  Yields:
    ItemOutput / Output per item, ItemFailure per item that cannot be
    edited.
  """
  sides = parse_sides(outpaint)
  if context < 0:
    raise ValueError(f"context must be >= 0, got {context}.")
  options = editor.default_options() if options is None else options
  feather = int(getattr(options, "feather", 8))
  size = int(editor.image_size)
  jobs: dict[int, _Job] = {}

  def windows() -> Iterator[loop.ItemSource]:
    for k, src in enumerate(items):
      try:
        it = src if isinstance(src, loop.EditItem) else src()
      except (ValueError, OSError) as e:
        yield _Failed(getattr(src, "name", "?"), e)
        continue
      try:
        image = check_image(it.image, f"{it.name}: image")
        guide = check_image(it.guide, f"{it.name}: guide")
        only_outpaint = bool(sides) and it.mask is None and (
            image.shape == guide.shape) and np.array_equal(
                image_io.to_uint8(image), image_io.to_uint8(guide))
        if image.shape == (size, size, 3) and not sides:
          yield it  # The plain path: one edit of the whole image.
          continue
        if only_outpaint:  # A marker through the loop's failure path, so
          jobs[k] = _Job(it, image.shape[:2], [])  # it keeps its place.
          yield _Failed("", _Later(k))
          continue
        e = guidance.pixel_mask(image, guide, it.mask)
        h, w = e.shape
        image_p, guide_p = _pad_to(image, size), _pad_to(guide, size)
        e_p = _pad_to(e, size, mode="constant", constant_values=False)
        planned = plan(e_p, size, feather, context)
        jobs[k] = _Job(it, (h, w), planned, padded=(image_p, e))
        for j, (win, cl) in enumerate(planned):
          wi, wg, wm = _window_input(win, image_p, guide_p, cl, size)
          yield loop.EditItem(name=f"{it.name}#w{j}", image=wi, guide=wg,
                              mask=wm, label=it.label, seed=it.seed + j,
                              data=_WindowRef(k, j))
      except ValueError as e:
        jobs.pop(k, None)
        yield _Failed(it.name, e)

  stream = loop.edit_items(editor, options, windows(), strength=strength,
                           num_samples=num_samples, batch_size=batch_size,
                           prefetch=prefetch, isolate_errors=isolate_errors)
  for out in stream:
    if isinstance(out, loop.ItemFailure):
      later = out.error if isinstance(out.error, _Later) else None
      if later is not None:  # Outpaint only: no edit to make first.
        job = jobs.pop(later.key)
        yield from _finish(editor, options, job, None, sides, num_samples,
                           outpaint_strength, batch_size)
        continue
      ref = out.item.data if out.item is not None else None
      if not isinstance(ref, _WindowRef):
        yield out
      elif ref.key in jobs:  # A window failed: its item fails (once).
        job = jobs.pop(ref.key)
        yield loop.ItemFailure(job.item, job.item.name, out.error)
      continue
    ref = out.item.data
    if not isinstance(ref, _WindowRef):
      yield out  # A model-size item: its output as the loop gives it.
      continue
    if ref.key not in jobs:
      continue  # Another window of an item that already failed.
    job = jobs[ref.key]
    job.outs[ref.index] = out
    if len(job.outs) == len(job.windows):
      del jobs[ref.key]
      yield from _finish(editor, options, job, _assemble(job, size, feather),
                         sides, num_samples, outpaint_strength, batch_size)


class _Later(ValueError):
  """Marks an outpaint-only item in the stream (not a failure)."""

  def __init__(self, key: int):
    super().__init__("outpaint only")
    self.key = key


def _assemble(job: _Job, size: int, feather: int) -> Output:
  """The item's full-size output from its windows' outputs."""
  image_p, e = job.padded
  h, w = job.size
  outs = [job.outs[j] for j in range(len(job.windows))]
  canvas = np.repeat(image_p[None], len(outs[0].images), 0).copy()
  weights = np.zeros(image_p.shape[:2], np.float32)
  region = np.zeros(image_p.shape[:2], bool)
  for (win, cl), res in zip(job.windows, outs):
    _paste(win, canvas, res, cl, feather, weights, region)
  modes = sorted({win.mode for win, _ in job.windows})
  layout = dict(mode=modes[0] if len(modes) == 1 else "mixed",
                windows=[win.record() for win, _ in job.windows],
                padded=list(image_p.shape[:2]) if image_p.shape[:2] != (
                    h, w) else None)
  del size
  return Output(item=job.item, images=canvas[:, :h, :w], pixel_mask=e,
                weights=weights[:h, :w], region=region[:h, :w], tokens=None,
                seconds=float(sum(o.seconds for o in outs)),
                compiled=any(o.compiled for o in outs),
                batch=max(o.batch for o in outs), layout=layout)


def _finish(editor, options, job: _Job, edited: Output | None, sides,
            num_samples: int, strength: float, batch_size: int
            ) -> Iterator[loop.ItemOutput | loop.ItemFailure]:
  """Yields the item's output, outpainted when `sides` are given."""
  if not sides:
    yield edited
    return
  it = job.item
  base = (np.repeat(np.asarray(it.image, np.float32)[None], num_samples, 0)
          if edited is None else edited.images)
  try:
    res = outpaint(editor, options, base, sides, label=it.label,
                   strength=strength, seed=it.seed, batch_size=batch_size)
  except ValueError as e:
    yield loop.ItemFailure(it, it.name, e)
    return
  new = ~res.known
  layout = dict(edited.layout if edited is not None else
                dict(mode=None, windows=[]), outpaint=res.layout)
  top, left = sides.get("top", 0), sides.get("left", 0)
  h, w = res.known.shape
  ih, iw = np.shape(it.image)[:2]

  def place(x, fill):
    out = np.full((h, w) + np.shape(x)[2:], fill, np.asarray(x).dtype)
    out[top:top + ih, left:left + iw] = x
    return out
  pixel_mask = new | (place(edited.pixel_mask, False) if edited is not None
                      else False)
  weights = np.maximum(res.weights, place(edited.weights, 0.0)
                       if edited is not None else 0.0)
  canvas_item = dataclasses.replace(
      it, image=res.canvas, guide=res.canvas if edited is None else
      extend(np.asarray(it.guide, np.float32), sides))
  yield Output(item=canvas_item, images=res.images, pixel_mask=pixel_mask,
               weights=weights.astype(np.float32),
               region=res.region | (place(edited.region, False)
                                    if edited is not None else False),
               tokens=None,
               seconds=res.seconds + (edited.seconds if edited else 0.0),
               compiled=res.compiled or bool(edited and edited.compiled),
               batch=num_samples, layout=layout)


def extend(image: np.ndarray, sides: dict[str, int]) -> np.ndarray:
  """The image on the extended canvas, new pixels edge-replicated (the
  plain fill outpainting starts from)."""
  return np.pad(image, ((sides.get("top", 0), sides.get("bottom", 0)),
                        (sides.get("left", 0), sides.get("right", 0)),
                        (0, 0)), mode="edge")


@dataclasses.dataclass
class OutpaintResult:
  """Outpainted samples.

  Attributes:
    images: float32 [S, H', W', 3] on the extended canvas.
    canvas: float32 [H', W', 3] the input (first sample) with the new area
      edge-filled: what the first window saw.
    known: bool [H', W'], True on the original pixels (bit-identical).
    weights: float32 [H', W'] max composite weight of the windows.
    region: bool [H', W'] pixels the windows regenerated.
    layout: {"sides", "windows": [{top, left}, ...]}.
    seconds, compiled: editing time, whether a program was compiled.
  """
  images: np.ndarray
  canvas: np.ndarray
  known: np.ndarray
  weights: np.ndarray
  region: np.ndarray
  layout: dict
  seconds: float
  compiled: bool


def _grid_starts(extent: int, size: int) -> list[int]:
  starts = list(range(0, extent - size + 1, max(1, size // 2)))
  if starts[-1] != extent - size:
    starts.append(extent - size)
  return starts


def outpaint(editor: protocol.BaseEditor, options: Any, images, sides,
             label: int = 0, strength: float = 1.0, seed: int = 0,
             batch_size: int | None = None) -> OutpaintResult:
  """Extends images by `sides` px and fills the new area (module docstring).

  Args:
    editor: any editor of the protocol.
    options: its options (None: defaults).
    images: float [H, W, 3] or [S, H, W, 3] (S samples outpainted each with
      its own seeds; e.g. the samples of an edit).
    sides: 'left:32,right:32' or {"left": 32, ...}.
    label: class label.
    strength: strength of every window's edit (1 = inpaint).
    seed: first seed (window j, sample k uses seed + j * S + k).
    batch_size: items per editor call (default: S, one call per window).

  Returns:
    OutpaintResult; original pixels bit-identical in every sample.

  Raises:
    ValueError: bad sides (`parse_sides`), no side given, bad images.
  """
  sides = parse_sides(sides)
  if not sides:
    raise ValueError("outpaint needs at least one side, e.g. 'left:32'.")
  images = np.asarray(images)
  if images.ndim == 3:
    images = images[None]
  if images.ndim != 4:
    raise ValueError(f"outpaint takes [H, W, 3] or [S, H, W, 3] images, got "
                     f"{images.shape}.")
  for i, im in enumerate(images):
    check_image(im, f"image {i}")
  images = np.asarray(images, np.float32)
  n = len(images)
  size = int(editor.image_size)
  options = editor.default_options() if options is None else options
  canvas = np.stack([extend(im, sides) for im in images])
  known = np.zeros(canvas.shape[1:3], bool)
  top, left = sides.get("top", 0), sides.get("left", 0)
  known[top:top + images.shape[1], left:left + images.shape[2]] = True
  h, w = known.shape
  # Canvases smaller than S are edge-padded (padding = known context).
  work = np.stack([_pad_to(c, size) for c in canvas])
  orig = _pad_to(known, size, mode="constant", constant_values=True)
  done = orig.copy()
  weights = np.zeros(done.shape, np.float32)
  region = np.zeros(done.shape, bool)
  starts = [(t, l) for t in _grid_starts(done.shape[0], size)
            for l in _grid_starts(done.shape[1], size)]
  placed, seconds, compiled = [], 0.0, False
  t0 = time.perf_counter()
  while not done.all():
    best = max((s for s in starts if not done[s[0]:s[0] + size,
                                              s[1]:s[1] + size].all()),
               key=lambda s: done[s[0]:s[0] + size, s[1]:s[1] + size].sum())
    t, l = best
    sl = (slice(t, t + size), slice(l, l + size))
    mask = ~done[sl]
    j = len(placed)
    items = [loop.EditItem(name=f"outpaint{k}#o{j}", image=work[k][sl],
                           guide=work[k][sl], mask=mask, label=label,
                           seed=seed + j * n + k) for k in range(n)]
    for out in loop.edit_items(editor, options, items, strength=strength,
                               num_samples=1, batch_size=batch_size or n,
                               prefetch=0):
      if isinstance(out, loop.ItemFailure):
        raise ValueError(f"outpaint window {j}: {out.error}") from out.error
      k = int(out.item.name[len("outpaint"):].split("#")[0])
      # Only new pixels are written: the original stays bit-identical.
      wgt = np.where(orig[sl], 0.0, out.weights)
      work[k][sl] = np.where(wgt[..., None] > 0, out.images[0], work[k][sl])
      compiled |= out.compiled
      if k == 0:
        weights[sl] = np.maximum(weights[sl], wgt)
        region[sl] |= out.region & ~orig[sl]
    done[sl] = True
    placed.append(dict(top=t, left=l))
  seconds = time.perf_counter() - t0
  return OutpaintResult(
      images=work[:, :h, :w], canvas=canvas[0], known=known,
      weights=weights[:h, :w], region=region[:h, :w],
      layout=dict(sides=sides, strength=float(strength), windows=placed),
      seconds=seconds,
      compiled=compiled)


def edit(editor: protocol.BaseEditor, options: Any, image, guide,
         mask=None, label: int = 0, strength: float = 0.5, seed: int = 0,
         num_samples: int = 1, batch_size: int = 8, context: int = 8,
         outpaint=None, outpaint_strength: float = 1.0
         ) -> loop.ItemOutput:
  """Edits one image of any size (module docstring); see `edit_items`.

  Returns an `Output` (with `layout`), or for an S x S image without
  outpainting the plain `loop.ItemOutput` of the editor's own edit.

  Raises:
    ValueError (guidance.GuidanceError): bad images, nothing to edit, bad
      sides.
  """
  item = loop.EditItem(name="image", image=image, guide=guide, mask=mask,
                       label=label, seed=seed)
  outs = list(edit_items(editor, options, [item], strength=strength,
                         num_samples=num_samples, batch_size=batch_size,
                         prefetch=0, context=context, outpaint=outpaint,
                         outpaint_strength=outpaint_strength))
  (out,) = outs
  if isinstance(out, loop.ItemFailure):
    raise out.error
  return out
