"""Reading and writing images (host side): clear errors, atomic writes, grids.

Every file is opened lazily and its header size checked before any pixel is
decoded: a wrong size (without `resize`) or more than `MAX_PIXELS` pixels is
one `ImageError` naming the file and its size.

Orientation: a file with an EXIF orientation tag (photos from phones and
cameras) is read the way a viewer shows it (`upright`), for images, guides
and masks alike, and its size is the oriented size.

Mode handling on read (`to_float_rgb`, the one PIL mode normaliser): RGB as
is; greyscale (L, I;16, I, F) replicated to RGB, 16-bit scaled from
[0, 65535], float (F) clipped to [0, 1]; palette images converted; alpha
(RGBA, LA, PA) composited onto a background (white for images). Masks are the
luminance composited onto black, i.e. luminance x alpha.
"""

from __future__ import annotations

import contextlib
import os
from typing import Iterator
import warnings

import numpy as np
from PIL import Image
from PIL import ImageOps
from PIL import UnidentifiedImageError

from maskgit import io_utils

# Largest input read (pixels): 8192 x 8192. Larger files are refused from
# their header (decoding one to float32 RGB would take > 800 MB).
MAX_PIXELS = 8192 * 8192

_LUMA = np.asarray([0.299, 0.587, 0.114], np.float32)  # ITU-R 601, as PIL.


class ImageError(ValueError):
  """An input image cannot be read or has the wrong size."""


@contextlib.contextmanager
def open_image(path: str | os.PathLike[str], kind: str = "image"
               ) -> Iterator[Image.Image]:
  """Opens `path` lazily (header only); one ImageError for any problem.

  Args:
    path: image file.
    kind: what the file is, for messages ("image", "mask", ...).

  Raises:
    ImageError: missing, not an image, or more than MAX_PIXELS pixels.
  """
  path = os.fspath(path)
  if not os.path.isfile(path):
    raise ImageError(f"{kind.capitalize()} file not found: {path}")
  try:
    with warnings.catch_warnings():  # Our own limit below is lower.
      warnings.simplefilter("ignore", Image.DecompressionBombWarning)
      im = Image.open(path)
  except Image.DecompressionBombError as e:
    raise ImageError(f"{kind.capitalize()} {path} is too large to read: "
                     f"{e}") from e
  except (UnidentifiedImageError, OSError, SyntaxError) as e:
    raise ImageError(f"Cannot read {kind} {path}: {e}") from e
  with im:
    w, h = im.size
    if w * h > MAX_PIXELS:
      raise ImageError(f"{kind.capitalize()} {path} is {w}x{h} "
                       f"({w * h / 1e6:.0f} Mpixel): too large to read (at "
                       f"most {MAX_PIXELS / 1e6:.0f} Mpixel).")
    yield im


# EXIF orientations that swap width and height (transposed or rotated 90).
_SWAPPING_ORIENTATIONS = (5, 6, 7, 8)
_ORIENTATION_TAG = 0x0112


def oriented_size(im: Image.Image) -> tuple[int, int]:
  """(width, height) as a viewer shows `im` (EXIF orientation applied)."""
  w, h = im.size
  try:
    orientation = im.getexif().get(_ORIENTATION_TAG, 1)
  except (OSError, SyntaxError, ValueError):
    orientation = 1
  return (h, w) if orientation in _SWAPPING_ORIENTATIONS else (w, h)


def upright(im: Image.Image) -> Image.Image:
  """`im` turned the way its EXIF orientation tag says (a no-op without)."""
  return ImageOps.exif_transpose(im)


def image_size(path: str | os.PathLike[str], kind: str = "image"
               ) -> tuple[int, int]:
  """(width, height) as shown (EXIF orientation applied); nothing decoded."""
  with open_image(path, kind) as im:
    return oriented_size(im)


def _decode(path, kind: str, size: int | None, resize: bool,
            background: float) -> np.ndarray:
  """float32 [H, W, 3] (`to_float_rgb`), decoded after the header checks."""
  path = os.fspath(path)
  with open_image(path, kind) as im:
    w, h = oriented_size(im)
    if size is not None and (w, h) != (size, size) and not resize:
      raise ImageError(f"{kind.capitalize()} {path} is {w}x{h}, expected "
                       f"{size}x{size}.")
    try:
      im.load()
      return to_float_rgb(upright(im), background)
    except (OSError, SyntaxError, ValueError) as e:
      raise ImageError(f"Cannot read {kind} {path}: {e}") from e


def load_image(path: str | os.PathLike[str], size: int | None = None,
               resize: bool = False) -> np.ndarray:
  """Loads an image as float32 [H, W, 3] in [0, 1].

  Args:
    path: image file.
    size: expected side length (square), or None for any size.
    resize: if the image is not size x size, resize it (bicubic) instead of
      raising.

  Raises:
    ImageError: missing, unreadable, too large, or (without `resize`) wrong
      size; checked from the header before decoding.
  """
  arr = _decode(path, "image", size, resize, background=1.0)
  if size is not None and arr.shape[:2] != (size, size):
    pil = Image.fromarray(to_uint8(arr)).resize((size, size), Image.BICUBIC)
    arr = np.asarray(pil, np.float32) / 255.0
  return arr


def load_mask(path: str | os.PathLike[str], size: int | None = None,
              resize: bool = False) -> np.ndarray:
  """Mask file -> float32 [H, W] in [0, 1] (> 0.5 = edited).

  Luminance; with alpha (RGBA, LA, PA), luminance x alpha (transparent = not
  edited); 16-bit scaled from 65535. `size`/`resize` as in `load_image`
  (nearest-neighbour resizing).
  """
  mask = np.clip(_decode(path, "mask", size, resize, background=0.0) @ _LUMA,
                 0.0, 1.0)
  if size is not None and mask.shape != (size, size):
    mask = np.asarray(Image.fromarray(mask).resize((size, size),
                                                   Image.NEAREST), np.float32)
  return mask


def to_float_rgb(im: Image.Image, background: float = 1.0) -> np.ndarray:
  """Any PIL image -> float32 [H, W, 3] in [0, 1] (see the module docstring).

  Args:
    im: a loaded PIL image in any mode.
    background: grey level in [0, 1] that alpha is composited onto.
  """
  if im.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
    a = np.asarray(im, np.float32)
    if im.mode != "F":
      a /= 65535.0 if a.max(initial=0) > 255 or im.mode.startswith(
          "I;16") else 255.0
    return np.repeat(np.clip(a, 0.0, 1.0)[..., None], 3, axis=-1)
  if im.mode == "P":
    im = im.convert("RGBA" if "transparency" in im.info else "RGB")
  if im.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
    rgba = np.asarray(im.convert("RGBA"), np.float32) / 255.0
    alpha = rgba[..., 3:]
    return rgba[..., :3] * alpha + background * (1.0 - alpha)
  return np.asarray(im.convert("RGB"), np.float32) / 255.0


def to_uint8(images: np.ndarray) -> np.ndarray:
  """Float images in [0, 1] -> uint8 (rounded, clipped)."""
  return np.round(np.clip(np.asarray(images), 0.0, 1.0) * 255.0).astype(
      np.uint8)


def save_png(path: str | os.PathLike[str], image: np.ndarray) -> None:
  """Writes a float [H, W, 3] (or [H, W]) image as PNG, atomically."""
  with io_utils.atomic_write(path) as f:
    Image.fromarray(to_uint8(image)).save(f, format="PNG")


def grid(images: np.ndarray, columns: int | None = None, pad: int = 2,
         fill: float = 1.0) -> np.ndarray:
  """Tiles images [N, H, W, C] into one [rows * (H + pad) + pad, ..., C].

  Args:
    images: N images of one size.
    columns: images per row; None = ceil(sqrt(N)) (a square-ish grid).
    pad: pixels of `fill` between and around the images.
    fill: background value.
  """
  images = np.asarray(images, np.float32)
  n, h, w, c = images.shape
  columns = columns or int(np.ceil(np.sqrt(n)))
  rows = -(-n // columns)
  out = np.full((rows * (h + pad) + pad, columns * (w + pad) + pad, c), fill,
                np.float32)
  for i, img in enumerate(images):
    r, col = divmod(i, columns)
    y, x = pad + r * (h + pad), pad + col * (w + pad)
    out[y:y + h, x:x + w] = img
  return out


def stack_rows(rows: list[np.ndarray], fill: float = 1.0) -> np.ndarray:
  """Stacks images [H_i, W_i, C] top to bottom, right-padded to one width."""
  width = max(r.shape[1] for r in rows)
  return np.concatenate([np.pad(r, ((0, 0), (0, width - r.shape[1]), (0, 0)),
                                constant_values=fill) for r in rows], axis=0)
