"""Reading and writing images (host side), with clear errors and atomic writes.

Mode handling on read: RGB as is; greyscale (L, I;16, I, F) replicated to
RGB, 16-bit scaled from [0, 65535]; palette images converted to RGB; images
with alpha (RGBA, LA, PA) composited onto white. Output is float32 [H, W, 3] in
[0, 1].
"""

from __future__ import annotations

import os
import tempfile

import numpy as np
from PIL import Image
from PIL import UnidentifiedImageError


class ImageError(ValueError):
  """An input image cannot be read or has the wrong size."""


def load_image(path: str, size: int | None = None,
               resize: bool = False) -> np.ndarray:
  """Loads an image as float32 [H, W, 3] in [0, 1].

  Args:
    path: image file.
    size: expected side length (square), or None for any size.
    resize: if the image is not size x size, resize it (bicubic) instead of
      raising.

  Raises:
    ImageError: missing, unreadable, or (without `resize`) wrong size.
  """
  path = os.fspath(path)
  if not os.path.isfile(path):
    raise ImageError(f"Image file not found: {path}")
  try:
    with Image.open(path) as im:
      im.load()
      arr = _to_rgb_float(im)
  except (UnidentifiedImageError, OSError, SyntaxError) as e:
    raise ImageError(f"Cannot read image {path}: {e}") from e
  if size is not None and arr.shape[:2] != (size, size):
    if not resize:
      raise ImageError(f"Image {path} is {arr.shape[1]}x{arr.shape[0]}, "
                       f"expected {size}x{size}.")
    pil = Image.fromarray(to_uint8(arr)).resize((size, size), Image.BICUBIC)
    arr = np.asarray(pil, np.float32) / 255.0
  return arr


def _to_rgb_float(im: Image.Image) -> np.ndarray:
  if im.mode in ("I;16", "I;16B", "I;16L", "I"):
    a = np.asarray(im, np.float32)
    scale = 65535.0 if a.max(initial=0) > 255 or im.mode.startswith(
        "I;16") else 255.0
    return np.repeat(np.clip(a / scale, 0, 1)[..., None], 3, axis=-1)
  if im.mode == "F":
    a = np.clip(np.asarray(im, np.float32), 0, 1)
    return np.repeat(a[..., None], 3, axis=-1)
  if im.mode == "P":
    im = im.convert("RGBA" if "transparency" in im.info else "RGB")
  if im.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
    rgba = np.asarray(im.convert("RGBA"), np.float32) / 255.0
    alpha = rgba[..., 3:]
    return rgba[..., :3] * alpha + (1.0 - alpha)
  return np.asarray(im.convert("RGB"), np.float32) / 255.0


def to_uint8(images: np.ndarray) -> np.ndarray:
  """Float images in [0, 1] -> uint8 (rounded, clipped)."""
  return np.round(np.clip(np.asarray(images), 0.0, 1.0) * 255.0).astype(
      np.uint8)


def save_png(path: str, image: np.ndarray) -> None:
  """Writes a float [H, W, 3] (or [H, W]) image as PNG, atomically."""
  path = os.fspath(path)
  directory = os.path.dirname(os.path.abspath(path))
  os.makedirs(directory, exist_ok=True)
  fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-", suffix=".png")
  os.close(fd)
  try:
    Image.fromarray(to_uint8(image)).save(tmp, format="PNG")
    os.replace(tmp, path)
  except BaseException:
    if os.path.exists(tmp):
      os.remove(tmp)
    raise


def grid(images: np.ndarray, columns: int, pad: int = 2) -> np.ndarray:
  """Tiles [N, H, W, 3] images into one image with `columns` per row."""
  images = np.asarray(images, np.float32)
  n, h, w, c = images.shape
  rows = -(-n // columns)
  out = np.ones((rows * (h + pad) + pad, columns * (w + pad) + pad, c),
                np.float32)
  for i, img in enumerate(images):
    r, col = divmod(i, columns)
    y, x = pad + r * (h + pad), pad + col * (w + pad)
    out[y:y + h, x:x + w] = img
  return out
