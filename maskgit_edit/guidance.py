"""Guidance: (image, guide, optional mask) -> pixel mask, edited tokens E, G_E.

Host-side numpy for the masks (they decide static window sizes), JAX for the
guide kernels (log k(x, G_j) used by the self-guided samplers).

* `pixel_mask`: the user's mask, or (when absent) the pixels where the guide
  differs from the image after both are quantised to 8 bits.
* `token_mask`: E = the tokens whose f x f patch holds an edited pixel,
  optionally dilated by `dilation` tokens (chessboard).
* Kernels, all as log-affinities [C, C] (row = guide code, column = candidate)
  or per position [B, L, C]:
  - `codebook_log_kernel`: -|e_g - e_x|^2 / mean distance (codebook vectors).
  - `pilot_codebook_kernel`: the pilot's K = -mean squared distance.
  - `appearance_log_kernel`: -|a(x) - p_j|^2 / (2 sigma^2) where a(x) is code
    x's decoded low-resolution appearance (a lone token decoded, average-pooled
    to r x r) and p_j the guide pixels of patch j pooled the same way.
  - `load_learned_kernel`: a .npy float32 [C, C] file of log-affinities.
"""

from __future__ import annotations

import os

import jax
import jax.numpy as jnp
import numpy as np
from scipy import ndimage


class GuidanceError(ValueError):
  """Guidance that cannot be edited (empty mask, mismatched sizes, ...)."""


def pixel_mask(image_HW3: np.ndarray, guide_HW3: np.ndarray,
               mask_HW: np.ndarray | None = None) -> np.ndarray:
  """The edited pixels, bool [H, W].

  Args:
    image_HW3: float [H, W, 3] in [0, 1].
    guide_HW3: float [H, W, 3] in [0, 1], same size.
    mask_HW: optional user mask (bool, or float/uint8 where > 0.5 of full
      scale counts as edited). When None, the pixels whose 8-bit RGB values
      differ between image and guide.

  Raises:
    GuidanceError: size mismatch, empty mask, or guide identical to image.
  """
  image = np.asarray(image_HW3, np.float32)
  guide = np.asarray(guide_HW3, np.float32)
  if image.shape != guide.shape or image.ndim != 3:
    raise GuidanceError(f"Image {image.shape} and guide {guide.shape} must "
                        "have the same [H, W, 3] shape.")
  if mask_HW is None:
    diff = _u8(image) != _u8(guide)
    mask = np.any(diff, axis=-1)
    if not mask.any():
      raise GuidanceError("The guide is identical to the image (no edited "
                          "pixel) and no mask was given: nothing to edit.")
    return mask
  mask = np.asarray(mask_HW)
  if mask.ndim == 3:
    mask = mask.mean(axis=-1)
  if mask.shape != image.shape[:2]:
    raise GuidanceError(f"Mask {mask.shape} does not match the image "
                        f"{image.shape[:2]}.")
  if mask.dtype != bool:
    mask = np.asarray(mask, np.float32) > 0.5
  if not mask.any():
    raise GuidanceError("The mask is empty: nothing to edit.")
  return mask


def _u8(x: np.ndarray) -> np.ndarray:
  return np.round(np.clip(x, 0.0, 1.0) * 255.0).astype(np.uint8)


def token_mask(pixel_mask_HW: np.ndarray, factor: int,
               dilation: int = 0) -> np.ndarray:
  """E: bool [H/f, W/f], tokens whose patch holds an edited pixel (+ dilation)."""
  m = np.asarray(pixel_mask_HW, bool)
  h, w = m.shape
  if h % factor or w % factor:
    raise GuidanceError(f"Mask size {m.shape} is not a multiple of the "
                        f"tokenizer's patch size {factor}.")
  e = m.reshape(h // factor, factor, w // factor, factor).any(axis=(1, 3))
  return dilate(e, dilation)


def dilate(mask_hw: np.ndarray, k: int) -> np.ndarray:
  """Chessboard dilation of a bool grid by k cells."""
  if k < 0:
    raise ValueError(f"Dilation must be >= 0, got {k}.")
  m = np.asarray(mask_hw, bool)
  if k == 0 or not m.any():
    return m
  return ndimage.binary_dilation(m, np.ones((3, 3), bool), iterations=k)


# ------------------------------------------------------------------ kernels
def _sq_dists(a_ND: jax.Array, b_MD: jax.Array) -> jax.Array:
  """Mean (over D) squared distances [N, M]."""
  d = (jnp.sum(a_ND ** 2, -1)[:, None] - 2 * a_ND @ b_MD.T
       + jnp.sum(b_MD ** 2, -1)[None])
  return jnp.maximum(d, 0.0) / a_ND.shape[-1]


def pilot_codebook_kernel(codebook_CD: jax.Array) -> jax.Array:
  """The pilot's K [C, C] = -mean squared distance between code vectors."""
  c = jnp.asarray(codebook_CD, jnp.float32)
  return -_sq_dists(c, c)


def codebook_log_kernel(codebook_CD: jax.Array) -> jax.Array:
  """log k [C, C] = -|e_g - e_x|^2 / mean_{g,x}|e_g - e_x|^2 (0 on the diagonal)."""
  d = -pilot_codebook_kernel(codebook_CD)
  return -d / jnp.maximum(jnp.mean(d), 1e-12)


def load_learned_kernel(path: str, num_codes: int) -> np.ndarray:
  """Loads a learned [C, C] float32 log-affinity kernel (.npy).

  Row = guide code, column = candidate code. Raises GuidanceError on a
  missing file, wrong shape or non-finite values.
  """
  if not path:
    raise GuidanceError("method 'self_learned' needs a kernel file "
                        "(option kernel, config.self_learned.kernel: a .npy "
                        "float32 [C, C]).")
  if not os.path.isfile(path):
    raise GuidanceError(f"Kernel file not found: {path}")
  try:
    k = np.load(path, allow_pickle=False)
  except (ValueError, OSError) as e:
    raise GuidanceError(f"Cannot read kernel {path}: {e}") from e
  if k.shape != (num_codes, num_codes):
    raise GuidanceError(f"Kernel {path} has shape {k.shape}, expected "
                        f"({num_codes}, {num_codes}).")
  k = k.astype(np.float32)
  if not np.all(np.isfinite(k)):
    raise GuidanceError(f"Kernel {path} has non-finite values.")
  return k


def pool_patches(images_BHW3: jax.Array, factor: int,
                 res: int) -> jax.Array:
  """Per-token low-res appearance: [B, H/f, W/f, res*res*3] (average pool)."""
  b, h, w, _ = images_BHW3.shape
  s = factor // res
  x = images_BHW3.reshape(b, h // factor, res, s, w // factor, res, s, 3)
  x = x.mean(axis=(3, 6))  # [B, h, res, w, res, 3]
  x = jnp.transpose(x, (0, 1, 3, 2, 4, 5))
  return x.reshape(b, h // factor, w // factor, res * res * 3)


def appearance_log_kernel(code_app_CK: jax.Array, guide_app_BhwK: jax.Array,
                          sigma: float) -> jax.Array:
  """log k [B, h*w, C] = -mean|a(x) - p_j|^2 / (2 sigma^2)."""
  b, h, w, k = guide_app_BhwK.shape
  p = guide_app_BhwK.reshape(b * h * w, k)
  d = _sq_dists(p, code_app_CK)
  return (-d / (2.0 * sigma ** 2)).reshape(b, h * w, -1)
