"""Blending decoded pixels back into the original image (host-side numpy).

Two modes:
- `official_blend_mask`: the release's box-editing blend (latent mask resized
  bicubically to image size, then Gaussian-blurred with radius
  image_size // 16 - 1). Pixels near but outside the box change too.
- `feather_mask`: ours. 1 on the edited pixels, a linear ramp over `radius`
  pixels (Euclidean distance to the nearest edited pixel), exactly 0 beyond,
  so `composite` keeps every pixel farther than `radius` from the edit
  bit-identical to the input.
"""

from __future__ import annotations

import numpy as np
from PIL import Image
from PIL import ImageFilter
from scipy import ndimage


def official_blend_mask(latent_mask_hw: np.ndarray, image_size: int,
                        blur_radius: int | None = None) -> np.ndarray:
  """Official soft mask, float32 [image_size, image_size] in [0, 1]."""
  if blur_radius is None:
    blur_radius = image_size // 16 - 1
  m = Image.fromarray(np.asarray(latent_mask_hw, np.uint8) * 255, mode="L")
  m = m.resize((image_size, image_size), Image.BICUBIC)
  m = m.filter(ImageFilter.GaussianBlur(radius=blur_radius))
  return np.asarray(m, np.float32) / 255.0


def feather_mask(pixel_mask_hw: np.ndarray, radius: int) -> np.ndarray:
  """1 inside the mask, 1 - d / (radius + 1) at Euclidean distance d <= radius.

  Args:
    pixel_mask_hw: bool [H, W], the edited pixels.
    radius: width of the blend band in pixels (0 = hard edge).

  Returns:
    float32 [H, W]; exactly 0 at distance > radius.
  """
  mask = np.asarray(pixel_mask_hw, bool)
  if radius < 0:
    raise ValueError(f"Feather radius must be >= 0, got {radius}.")
  if not mask.any():
    return np.zeros(mask.shape, np.float32)
  dist = ndimage.distance_transform_edt(~mask)
  weight = np.where(dist <= radius, 1.0 - dist / (radius + 1), 0.0)
  return weight.astype(np.float32)


def composite(original: np.ndarray, decoded: np.ndarray,
              weight_hw: np.ndarray) -> np.ndarray:
  """weight * decoded + (1 - weight) * original; exact original where w == 0.

  Args:
    original: [..., H, W, 3] float images in [0, 1].
    decoded: same shape, decoded pixels (clipped to [0, 1] here).
    weight_hw: [..., H, W] float weights in [0, 1].

  Returns:
    float32 images; pixels with weight 0 are bit-identical to `original`.
  """
  original = np.asarray(original, np.float32)
  decoded = np.clip(np.asarray(decoded, np.float32), 0.0, 1.0)
  w = np.asarray(weight_hw, np.float32)[..., None]
  blended = w * decoded + (1.0 - w) * original
  return np.where(w > 0, blended, original)
