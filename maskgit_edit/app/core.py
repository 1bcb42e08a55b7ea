"""The browser editor's state and actions, without HTTP (tests call these).

One `Tab` per browser tab: an editing `session.Session` (the image at the
model's size, its cached tokens, undo/redo of kept samples), the source image
it came from (any size; kept for Download at the source size), how the source
was fitted to the model's square, and the last edit's samples.

`App` holds the editors (through `methods`, the one door to the method
registry) and turns page requests into session calls. Bad input raises
`UserError` with one sentence for the page; anything else is a fault.

Canvas protocol (what `app.js` sends): the image is shown enlarged `scale`
times (nearest neighbour); the user paints on a `paint` layer (RGBA, the
colours the edit should follow) and a `mask` layer (alpha only: the region
the model may change without colour guidance), both at the display size
(the image's size x `scale`; the image is square until an outpainted sample
is kept, then it is the larger canvas and edits run in model-size windows,
`maskgit_edit.anysize`).
A model pixel is edited when any display pixel of its block is painted or
masked; its guide colour is the block mean of the paint composited over the
image.
"""

from __future__ import annotations

import base64
import dataclasses
import io
import os
import threading
import time
from typing import Any, Sequence

import numpy as np
from PIL import Image

from maskgit import image_io
from maskgit_edit import anysize
from maskgit_edit import session as session_lib
from maskgit_edit.batch import inputs
from maskgit_edit.app import methods

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(
    __file__))))
EXAMPLES_MANIFEST = os.path.join(REPO, "examples", "edits.jsonl")
DISPLAY_SIDE = 384  # The canvas side is at least this many CSS pixels.
MAX_SAMPLES = 8
MAX_UPLOAD_BYTES = 10 * 1024 * 1024  # An uploaded file, as sent.
MAX_UPLOAD_SIDE = 4096  # Width and height of an upload, each.
# How an upload becomes the image edited: a square of the model's size
# (crop, pad, stretch), or the upload as it is (keep: edited in model-size
# windows, at most MAX_CANVAS_FACTOR model sides a side).
FITS = ("crop", "pad", "stretch", "keep")
MAX_CANVAS_FACTOR = 4  # Outpainting stops at this many model sides a side.


class UserError(ValueError):
  """A request the page can fix (message shown as is; no traceback)."""


@dataclasses.dataclass(frozen=True)
class Example:
  name: str
  image: str  # Path.
  label: int


def load_examples(manifest: str = EXAMPLES_MANIFEST) -> list[Example]:
  """The bundled example images (examples/edits.jsonl), [] if absent."""
  if not os.path.isfile(manifest):
    return []
  records, _ = inputs.read_manifest(manifest)
  return [Example(r.name, r.image, int(r.label or 0)) for r in records]


# ------------------------------------------------------------ image helpers
def png_data_url(image: np.ndarray) -> str:
  """float [H, W, 3] in [0, 1] (or uint8, RGB or RGBA) -> PNG data URL."""
  return "data:image/png;base64," + base64.b64encode(
      png_bytes(image)).decode()


def png_bytes(image: np.ndarray) -> bytes:
  """float [H, W, 3] in [0, 1] (or uint8, RGB or RGBA) -> PNG file bytes."""
  u8 = image if image.dtype == np.uint8 else image_io.to_uint8(image)
  buf = io.BytesIO()
  Image.fromarray(u8).save(buf, format="PNG")
  return buf.getvalue()


def decode_data_url(data: Any, what: str, max_bytes: int) -> bytes:
  """The bytes of a base64 data URL (or plain base64) string."""
  if not isinstance(data, str) or not data:
    raise UserError(f"No {what} was sent.")
  if data.startswith("data:"):
    data = data.split(",", 1)[-1]
  if len(data) > max_bytes * 4 // 3 + 4:
    raise UserError(f"The {what} is larger than {max_bytes // (1024 * 1024)}"
                    " MB.")
  try:
    return base64.b64decode(data, validate=True)
  except ValueError as e:
    raise UserError(f"The {what} is not valid base64 data.") from e


def open_upload(data: bytes, max_side: int = MAX_UPLOAD_SIDE) -> np.ndarray:
  """Uploaded file bytes -> uint8 [H, W, 3] (alpha onto white).

  Raises UserError for a file that is not an image or is larger than
  `max_side` on a side (checked from the header, before decoding).
  """
  try:
    im = Image.open(io.BytesIO(data))
  except (OSError, SyntaxError, Image.DecompressionBombError) as e:
    raise UserError("That file is not an image this editor can read (PNG, "
                    "JPEG, WebP, GIF, BMP, ...).") from e
  w, h = image_io.oriented_size(im)
  if w > max_side or h > max_side:
    raise UserError(f"The image is {w}x{h}; the editor takes at most "
                    f"{max_side}x{max_side} pixels.")
  try:
    im.load()
    return image_io.to_uint8(image_io.to_float_rgb(image_io.upright(im),
                                                   background=1.0))
  except (OSError, SyntaxError, ValueError) as e:
    raise UserError(f"The image cannot be decoded: {e}") from e


@dataclasses.dataclass(frozen=True)
class Fit:
  """Where the model's square lies on the source image.

  The model image shows source pixels [x, x + w) x [y, y + h) (which may
  extend past the source: padding) resized to the model's size.
  """
  mode: str
  x: int
  y: int
  w: int
  h: int


def fit_box(width: int, height: int, mode: str) -> Fit:
  """The source region that `mode` maps onto the model's square."""
  if mode not in FITS:
    raise UserError(f"Unknown fit {mode!r}; choose one of {', '.join(FITS)}.")
  if mode in ("stretch", "keep") or width == height:
    return Fit(mode, 0, 0, width, height)
  side = min(width, height) if mode == "crop" else max(width, height)
  return Fit(mode, (width - side) // 2, (height - side) // 2, side, side)


def fit_image(source: np.ndarray, size: int, mode: str
              ) -> tuple[np.ndarray, Fit]:
  """uint8 [H, W, 3] -> (float32 [size, size, 3], Fit); padding is white.

  `keep`: the source as it is (float32 [H, W, 3]); UserError if a side is
  larger than MAX_CANVAS_FACTOR * size.
  """
  h, w = source.shape[:2]
  box = fit_box(w, h, mode)
  if mode == "keep":
    most = MAX_CANVAS_FACTOR * size
    if max(h, w) > most:
      raise UserError(f"The image is {w}x{h}; 'keep' takes at most "
                      f"{most}x{most} (choose crop, pad or stretch).")
    return source.astype(np.float32) / 255.0, box
  canvas = np.full((box.h, box.w, 3), 255, np.uint8)
  x0, y0 = max(box.x, 0), max(box.y, 0)
  x1, y1 = min(box.x + box.w, w), min(box.y + box.h, h)
  canvas[y0 - box.y:y1 - box.y, x0 - box.x:x1 - box.x] = source[y0:y1, x0:x1]
  if canvas.shape[:2] != (size, size):
    canvas = np.asarray(Image.fromarray(canvas).resize(
        (size, size), Image.BICUBIC))
  return canvas.astype(np.float32) / 255.0, box


def paste_back(source: np.ndarray, start: np.ndarray, current: np.ndarray,
               box: Fit) -> np.ndarray:
  """The edited image at the source's size: uint8 [H, W, 3].

  Pixels where the model-size image never changed (`current` == `start`)
  keep the source's own pixels; changed ones are the model-size result
  enlarged (bicubic) into the fitted region, blended over a one-pixel
  (model scale) soft edge.
  """
  changed = np.any(image_io.to_uint8(current) != image_io.to_uint8(start), -1)
  if not changed.any():
    return source.copy()
  up = np.asarray(Image.fromarray(image_io.to_uint8(current)).resize(
      (box.w, box.h), Image.BICUBIC), np.float32)
  weight = np.asarray(Image.fromarray(changed.astype(np.float32)).resize(
      (box.w, box.h), Image.BILINEAR), np.float32)[..., None]
  h, w = source.shape[:2]
  x0, y0 = max(box.x, 0), max(box.y, 0)
  x1, y1 = min(box.x + box.w, w), min(box.y + box.h, h)
  out = source.astype(np.float32)
  sub = (slice(y0 - box.y, y1 - box.y), slice(x0 - box.x, x1 - box.x))
  out[y0:y1, x0:x1] = (weight[sub] * up[sub] +
                       (1.0 - weight[sub]) * out[y0:y1, x0:x1])
  return np.round(np.clip(out, 0, 255)).astype(np.uint8)


def _block_any(x: np.ndarray, k: int) -> np.ndarray:
  h, w = x.shape[0] // k, x.shape[1] // k
  return x.reshape(h, k, w, k).any(axis=(1, 3))


def _block_mean(x: np.ndarray, k: int) -> np.ndarray:
  h, w = x.shape[0] // k, x.shape[1] // k
  return x.reshape(h, k, w, k, *x.shape[2:]).mean(axis=(1, 3))


def _layer(data: Any, what: str, shape: tuple[int, int]
           ) -> np.ndarray | None:
  """A canvas layer (PNG data URL) -> uint8 [h, w, 4] (`shape`), None if
  absent."""
  if data in (None, ""):
    return None
  raw = decode_data_url(data, f"{what} layer", MAX_UPLOAD_BYTES)
  try:
    im = Image.open(io.BytesIO(raw))
    im.load()
  except (OSError, SyntaxError) as e:
    raise UserError(f"The {what} layer is not a PNG image.") from e
  h, w = shape
  if im.size != (w, h):
    raise UserError(f"The {what} layer is {im.size[0]}x{im.size[1]}, the "
                    f"canvas is {w}x{h}: reload the page.")
  return np.asarray(im.convert("RGBA"))


# ------------------------------------------------------------------ state
@dataclasses.dataclass
class Result:
  """One edit's outputs, kept until a sample is kept or the image changes."""
  samples: np.ndarray  # float32 [S, H, W, 3].
  overlay: np.ndarray  # float32 [H, W, 3].


@dataclasses.dataclass
class Tab:
  """One browser tab's editing state (see module docstring)."""
  session: session_lib.Session
  source: np.ndarray  # uint8 [H, W, 3]: the image as loaded.
  start: np.ndarray  # float32 [S, S, 3]: the source fitted, before edits.
  fit: Fit
  name: str
  last: Result | None = None
  lock: threading.Lock = dataclasses.field(default_factory=threading.Lock)
  used: float = dataclasses.field(default_factory=time.monotonic)


class App:
  """The editor's model, settings and actions (see module docstring)."""

  def __init__(self, config, examples: Sequence[Example] | None = None,
               class_names: Sequence[str] | None = None,
               registry: methods.Editors | None = None):
    """Args:
      config: a configs/edit.py config (model and paths, defaults for
        method, strength, num_samples, seed, and each method's options).
      examples: bundled images offered in the page (default: examples/).
      class_names: a name per class label, or None for numbers.
      registry: the editors (default: `methods.Editors(config)`).
    """
    self.config = config
    self.editors = registry or methods.Editors(config)
    self.base = self.editors.base()
    self.model = self.base.model
    self.size = self.model.image_size
    self.scale = max(1, -(-DISPLAY_SIDE // self.size))
    self.display = self.size * self.scale
    self.examples = list(load_examples() if examples is None else examples)
    n = self.model.transformer_config.num_classes
    names = list(class_names) if class_names else []
    self.class_names = [f"{i}: {names[i]}" if i < len(names) else str(i)
                        for i in range(n)]
    self.method_names = methods.names(config)
    self._compiled: set[tuple[str, int]] = set()
    self._compute = threading.Lock()  # One model computation at a time.

  # ------------------------------------------------------------- helpers
  def info(self) -> dict:
    """What the page needs to draw itself."""
    c = self.config
    return {
        "size": self.size, "scale": self.scale, "display": self.display,
        "feather": int(c.feather), "methods": list(self.method_names),
        "defaults": {"method": c.method, "strength": float(c.strength),
                     "num_samples": int(c.num_samples), "seed": int(c.seed)},
        "max_samples": MAX_SAMPLES, "classes": self.class_names,
        "examples": [e.name for e in self.examples], "fits": list(FITS),
        "max_upload_mb": MAX_UPLOAD_BYTES // (1024 * 1024),
        "max_upload_side": MAX_UPLOAD_SIDE,
        "compiled": sorted(f"{m}/{n}" for m, n in self._compiled)}

  def view(self, tab: Tab, status: str) -> dict:
    """The page's state after the tab's image changed."""
    image = tab.session.image
    h, w = (tab.source.shape[:2] if image.shape == tab.start.shape
            else image.shape[:2])  # An outpainted image: its own size.
    return {"image": png_data_url(image),
            "image_size": [image.shape[1], image.shape[0]],
            "can_undo": tab.session.can_undo,
            "can_redo": tab.session.can_redo, "label": tab.session.label,
            "source_size": [w, h], "name": tab.name, "status": status}

  def _tab(self, source: np.ndarray, mode: str, label: int, name: str) -> Tab:
    start, box = fit_image(source, self.size, mode)
    label = self._label(label)
    with self._compute:
      session = session_lib.Session(self.base, start, label=label)
    return Tab(session=session, source=source, start=start, fit=box,
               name=name)

  def _label(self, label: Any) -> int:
    try:
      label = int(label)
    except (TypeError, ValueError) as e:
      raise UserError(f"Class label {label!r} is not a number.") from e
    n = len(self.class_names)
    if n and not 0 <= label < n:
      raise UserError(f"Class label {label} is out of range [0, {n}).")
    return label

  # ------------------------------------------------------------ actions
  def load_example(self, name: str) -> Tab:
    by_name = {e.name: e for e in self.examples}
    if name not in by_name:
      raise UserError(f"Unknown example {name!r}.")
    ex = by_name[name]
    source = image_io.to_uint8(image_io.load_image(ex.image))
    return self._tab(source, "pad", ex.label, name)

  def upload(self, data: Any, fit: str, label: Any, name: str = "") -> Tab:
    """A tab on an uploaded file (base64 data URL of its bytes)."""
    source = open_upload(decode_data_url(data, "upload", MAX_UPLOAD_BYTES))
    return self._tab(source, fit, label,
                     os.path.basename(str(name or "upload")))

  def generate(self, label: Any, seed: Any) -> Tab:
    label = self._label(label)
    with self._compute:
      image = self.model.generate([label], seed=int(seed))[0]
    return self._tab(image_io.to_uint8(image), "stretch", label,
                     f"class {label}, seed {int(seed)}")

  def read_canvas(self, tab: Tab, paint: Any, mask: Any
                  ) -> tuple[np.ndarray, np.ndarray, float]:
    """Canvas layers -> (guide float [H, W, 3], mask bool [H, W], share of
    pixels painted); H, W = the session image's size."""
    k = self.scale
    image = tab.session.image
    shape = (image.shape[0] * k, image.shape[1] * k)
    paint = _layer(paint, "paint", shape)
    region = _layer(mask, "mask", shape)
    painted = np.zeros(image.shape[:2], bool)
    guide = image
    if paint is not None:
      alpha = paint[..., 3:].astype(np.float32) / 255.0
      up = np.repeat(np.repeat(image, k, 0), k, 1)
      comp = paint[..., :3].astype(np.float32) / 255.0 * alpha + up * (
          1.0 - alpha)
      painted = _block_any(paint[..., 3] > 0, k)
      guide = np.where(painted[..., None], _block_mean(comp, k), image)
    masked = painted.copy()
    if region is not None:
      masked |= _block_any(region[..., 3] > 0, k)
    if not masked.any():
      raise UserError("Nothing painted: paint a stroke (or brush a mask) on "
                      "the image, then press Edit.")
    return guide.astype(np.float32), masked, float(painted.mean())

  def edit(self, tab: Tab, paint: Any, mask: Any, method: str,
           strength: Any, num_samples: Any, seed: Any) -> dict:
    """Runs one edit; the samples wait in `tab.last` for keep."""
    try:
      method = methods.check(self.config, str(method))
      opts = self.editors.options(method)
      strength, n, seed = float(strength), int(num_samples), int(seed)
    except (TypeError, ValueError) as e:
      raise UserError(str(e)) from e
    if not 0.0 <= strength <= 1.0:
      raise UserError(f"Strength must be in [0, 1], got {strength}.")
    if not 1 <= n <= MAX_SAMPLES:
      raise UserError(f"Number of samples must be in [1, {MAX_SAMPLES}].")
    guide, region, painted = self.read_canvas(tab, paint, mask)
    key = (method, n)
    first = key not in self._compiled
    t0 = time.perf_counter()
    with self._compute:
      try:
        editor = self.editors.get(method)
        tab.last = self._run(tab, editor, guide, region, strength, seed, n,
                             opts)
      except ValueError as e:  # GuidanceError included.
        raise UserError(str(e)) from e
    dt = time.perf_counter() - t0
    self._compiled.add(key)
    note = " (first use: compiled)" if first else ""
    return {"samples": [png_data_url(s) for s in tab.last.samples],
            "overlay": png_data_url(tab.last.overlay), "seconds": dt,
            "compiled": f"{method}/{n}",
            "status": (f"{method}, strength {strength:.2f}, seed {seed}: {n} "
                       f"sample(s) in {dt:.2f} s{note}; "
                       f"{100 * region.mean():.0f}% of pixels edited "
                       f"({100 * painted:.0f}% painted). Click a sample to "
                       "keep it.")}

  def outpaint(self, tab: Tab, sides: Any, num_samples: Any,
               seed: Any) -> dict:
    """Extends the image by `sides` ('left:16,right:16') by inpainting
    windows (the base editor, method `inpaint`); samples wait in `tab.last`
    for keep."""
    try:
      parsed = anysize.parse_sides(str(sides or ""))
      n, seed = int(num_samples), int(seed)
    except (TypeError, ValueError) as e:
      raise UserError(str(e)) from e
    if not parsed:
      raise UserError("Give the sides to extend, e.g. left:16,right:16.")
    if not 1 <= n <= MAX_SAMPLES:
      raise UserError(f"Number of samples must be in [1, {MAX_SAMPLES}].")
    h, w = tab.session.image.shape[:2]
    nh = h + parsed.get("top", 0) + parsed.get("bottom", 0)
    nw = w + parsed.get("left", 0) + parsed.get("right", 0)
    most = MAX_CANVAS_FACTOR * self.size
    if max(nh, nw) > most:
      raise UserError(f"The outpainted image would be {nw}x{nh}; the editor "
                      f"keeps images up to {most}x{most}.")
    t0 = time.perf_counter()
    with self._compute:
      try:
        out = tab.session.outpaint(parsed, num_samples=n, seed=seed,
                                   options=self.editors.options("inpaint"),
                                   editor=self.base)
      except ValueError as e:
        raise UserError(str(e)) from e
    tab.last = Result(out.samples, out.overlay)
    dt = time.perf_counter() - t0
    windows = len(out.layout["outpaint"]["windows"])
    before = anysize.extend(tab.session.image, parsed)  # The plain fill.
    return {"samples": [png_data_url(s) for s in tab.last.samples],
            "overlay": png_data_url(tab.last.overlay), "seconds": dt,
            "before": png_data_url(before),
            "compiled": f"outpaint/{n}",
            "status": (f"Outpainted to {nw}x{nh} ({windows} windows, seed "
                       f"{seed}): {n} sample(s) in {dt:.2f} s. Click a "
                       "sample to keep it.")}

  def _run(self, tab: Tab, editor, guide, region, strength, seed, n,
           opts) -> Result:
    """The edit, through the session (any method's editor)."""
    out = tab.session.edit(guide, region, strength=strength, seed=seed,
                           num_samples=n, options=opts, editor=editor)
    return Result(out.samples, out.overlay)

  def keep(self, tab: Tab, index: Any) -> dict:
    """Sample `index` of the last edit becomes the image."""
    if tab.last is None:
      raise UserError("No samples to keep: press Edit first.")
    try:
      index = int(index)
    except (TypeError, ValueError) as e:
      raise UserError(f"Sample index {index!r} is not a number.") from e
    if not 0 <= index < len(tab.last.samples):
      raise UserError(f"Sample {index} does not exist (0 to "
                      f"{len(tab.last.samples) - 1}).")
    with self._compute:
      tab.session.accept(index)
    tab.last = None
    return self.view(tab, f"Kept sample {index}; paint again.")

  def undo(self, tab: Tab) -> dict:
    return self._walk(tab, "undo")

  def redo(self, tab: Tab) -> dict:
    return self._walk(tab, "redo")

  def _walk(self, tab: Tab, way: str) -> dict:
    """Undo or redo one kept step."""
    if not getattr(tab.session, f"can_{way}"):
      raise UserError(f"Nothing to {way}.")
    getattr(tab.session, way)()
    tab.last = None
    return self.view(tab, f"{way.capitalize()}ne.")

  def download(self, tab: Tab, at_source: bool) -> bytes:
    """PNG of the current image, at the source's size or the model's."""
    image = tab.session.image
    if not at_source or image.shape != tab.start.shape:
      return png_bytes(image)  # Outpainted: the image is its own size.
    return png_bytes(paste_back(tab.source, tab.start, image, tab.fit))

  def warmup(self, method: str | None = None,
             num_samples: int | None = None) -> float:
    """Compiles encode, the default edit and generation; returns seconds."""
    t0 = time.perf_counter()
    image = np.full((self.size, self.size, 3), 0.5, np.float32)
    tab = self._tab(image_io.to_uint8(image), "stretch", 0, "warm-up")
    paint = np.zeros((self.display, self.display, 4), np.uint8)
    q = self.display // 4
    paint[q:2 * q, q:2 * q] = (255, 0, 0, 255)
    self.edit(tab, png_data_url(paint), None,
              method or self.config.method, self.config.strength,
              num_samples or self.config.num_samples, 0)
    with self._compute:
      self.model.generate([0], seed=0)
    return time.perf_counter() - t0
