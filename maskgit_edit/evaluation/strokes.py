"""Simulated user strokes for evaluating stroke-guided editing.

Host-side numpy transforms (no JAX): they run once per evaluation image, and
their output must be reproducible bit for bit from a seed.

Two simulators:

* `sdedit_strokes`: SDEdit's stroke-to-image protocol (Meng et al., ICLR 2022).
  A median filter (kernel 23 at 256 px) followed by reducing the WHOLE image to
  a few colours with an adaptive palette (6 by default; their Table 4 also uses
  3, 16, 30 and 50). Here the palette is a small seeded k-means.
* `pilot_stroke_edit`: the pilot fork's local "stroke edit". A median filter,
  SLIC superpixels (12 segments, sigma 1), and ONE random segment pasted onto
  the original image, either in the segment's mean colour ('inversion') or a
  random colour ('counterfactual', a deliberately wrong edit). The segment is
  the edit mask.

Images are uint8 [H, W, 3] in [0, 255] or floating [H, W, 3] in [0, 1]; outputs
have the input's dtype.
"""

import math
from typing import Literal

import numpy as np
import scipy.ndimage
from skimage import segmentation
from skimage.filters import rank

# SDEdit: kernel 23 at 256 px, i.e. about 9% of the image side.
_SDEDIT_KERNEL = 23
_SDEDIT_RESOLUTION = 256

# Floating channels with at most this many distinct values are median-filtered
# through their ranks with skimage's fast histogram filter (kept at 10 bits,
# beyond which skimage warns that its histograms get slow); others use scipy.
_MAX_RANK_LEVELS = 1 << 10

# k-means: fixed iteration cap so that run time is bounded, and a cap on the
# number of pixels used for fitting (all pixels are still assigned).
_KMEANS_MAX_ITERS = 30
_KMEANS_MAX_FIT_PIXELS = 1 << 16

# 'counterfactual' colours are redrawn until they are at least this far (L2 in
# [0, 1] RGB units; the RGB cube's diagonal is sqrt(3)) from the segment's mean
# colour, so that the edit is visibly wrong rather than accidentally right.
_MIN_COUNTERFACTUAL_DISTANCE = 0.25
_MAX_COLOR_DRAWS = 100

StrokeMode = Literal['inversion', 'counterfactual']


def median_kernel_for(resolution: int) -> int:
  """Median-filter kernel size scaled from SDEdit's 23 at 256 px.

  Args:
    resolution: image side in pixels (for non-square images, the shorter
      side), a positive int.

  Returns:
    Odd kernel size k >= 3 with k - 1 <= 23 * resolution / 256 < k + 1, e.g.
    64 -> 5, 128 -> 11, 256 -> 23, 512 -> 47.

  Raises:
    ValueError: if `resolution` is not a positive int.
  """
  if (isinstance(resolution, bool) or
      not isinstance(resolution, (int, np.integer)) or resolution < 1):
    raise ValueError(f'resolution must be a positive int, got {resolution!r}.')
  scaled = _SDEDIT_KERNEL * int(resolution) / _SDEDIT_RESOLUTION
  return max(3, 2 * int(scaled // 2) + 1)


def sdedit_strokes(image: np.ndarray,
                   num_colors: int = 6,
                   kernel_size: int | None = None,
                   seed: int = 0) -> np.ndarray:
  """SDEdit's simulated stroke painting of a whole image.

  Median filter per channel, then every pixel is replaced by the nearest of
  `num_colors` palette colours fitted by k-means (k-means++ init from `seed`,
  at most 30 Lloyd iterations, fitted on at most 65536 pixels sampled with
  `seed`).

  Args:
    image: uint8 [H, W, 3] in [0, 255] or floating [H, W, 3] in [0, 1].
    num_colors: palette size, >= 1 (SDEdit: 6; Table 4: 3, 6, 16, 30, 50).
    kernel_size: odd median-filter kernel; None means
      `median_kernel_for(min(H, W))`.
    seed: seed of the numpy Generator; same seed, same output.

  Returns:
    Guide of the input's dtype and shape [H, W, 3], with at most `num_colors`
    distinct colours (fewer when the filtered image has fewer).

  Raises:
    ValueError: on a bad image shape/dtype/range, `num_colors` < 1, a bad
      `kernel_size` or a bad `seed`.
  """
  _check_image(image)
  if (isinstance(num_colors, bool) or
      not isinstance(num_colors, (int, np.integer)) or num_colors < 1):
    raise ValueError(f'num_colors must be an int >= 1, got {num_colors!r}.')
  rng = _make_rng(seed)
  kernel_size = _resolve_kernel(kernel_size, image)

  filtered = _median_filter(image, kernel_size)
  height, width, _ = image.shape
  pixels = filtered.reshape(-1, 3).astype(np.float64)
  palette = _kmeans_palette(pixels, int(num_colors), rng)
  # Round the palette to the output dtype first and assign to the rounded
  # colours, so the count of distinct output colours is bounded by the palette.
  palette = _to_dtype(palette, image.dtype)
  labels = _nearest(pixels, palette.astype(np.float64))
  return palette[labels].reshape(height, width, 3)


def pilot_stroke_edit(
    image: np.ndarray,
    num_segments: int = 12,
    sigma: float = 1.0,
    kernel_size: int | None = None,
    mode: StrokeMode = 'inversion',
    seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
  """The pilot fork's local stroke edit: one superpixel pasted on the image.

  Median filter, SLIC superpixels on the filtered image, then one segment
  (drawn with `seed` among those that are neither empty nor the whole image)
  is painted onto the ORIGINAL image in a flat colour. Pixels outside the
  segment are bit-identical to `image`.

  Args:
    image: uint8 [H, W, 3] in [0, 255] or floating [H, W, 3] in [0, 1], with at
      least 2 pixels.
    num_segments: SLIC's `n_segments`, >= 2 (the result may have a few more or
      fewer segments).
    sigma: SLIC's Gaussian pre-smoothing width, >= 0.
    kernel_size: odd median-filter kernel; None means
      `median_kernel_for(min(H, W))`.
    mode: 'inversion' paints the segment's mean (filtered) colour;
      'counterfactual' paints a random colour at least 0.25 (L2, [0, 1] RGB)
      from that mean.
    seed: seed of the numpy Generator; same seed, same output.

  Returns:
    (guide, mask): guide of the input's dtype, [H, W, 3]; mask bool [H, W],
    True on the painted segment, never empty and never the whole image.

  Raises:
    ValueError: on a bad image shape/dtype/range, fewer than 2 pixels,
      `num_segments` < 2, negative `sigma`, a bad `kernel_size`, an unknown
      `mode` or a bad `seed`.
  """
  _check_image(image)
  height, width, _ = image.shape
  if height * width < 2:
    raise ValueError(
        f'pilot_stroke_edit needs at least 2 pixels, got {height}x{width}.')
  if (isinstance(num_segments, bool) or
      not isinstance(num_segments, (int, np.integer)) or num_segments < 2):
    raise ValueError(
        f'num_segments must be an int >= 2, got {num_segments!r}.')
  if (isinstance(sigma, bool) or
      not isinstance(sigma, (int, float, np.integer, np.floating)) or
      not np.isfinite(sigma) or sigma < 0):
    raise ValueError(f'sigma must be finite and >= 0, got {sigma!r}.')
  if mode not in ('inversion', 'counterfactual'):
    raise ValueError(
        f"mode must be 'inversion' or 'counterfactual', got {mode!r}.")
  rng = _make_rng(seed)
  kernel_size = _resolve_kernel(kernel_size, image)

  filtered = _median_filter(image, kernel_size)
  labels = segmentation.slic(
      filtered, n_segments=int(num_segments), sigma=float(sigma),
      start_label=0, channel_axis=-1)
  counts = np.bincount(labels.ravel())
  candidates = np.flatnonzero((counts > 0) & (counts < height * width))
  if candidates.size == 0:
    # SLIC returned a single segment (tiny or degenerate image): fall back to
    # a regular grid so that the mask is still a proper part of the image.
    labels = _grid_labels(height, width, int(num_segments))
    candidates = np.unique(labels)
  mask = labels == candidates[rng.integers(candidates.size)]

  mean_color = filtered[mask].astype(np.float64).mean(axis=0)
  scale = 255.0 if image.dtype == np.uint8 else 1.0
  if mode == 'inversion':
    color = mean_color
  else:
    color = _counterfactual_color(mean_color / scale, rng) * scale
  guide = image.copy()
  guide[mask] = _to_dtype(color[None], image.dtype)[0]
  return guide, mask


def _check_image(image: np.ndarray) -> None:
  """Raises ValueError unless `image` is uint8/float [H, W, 3] in range."""
  if not isinstance(image, np.ndarray):
    raise ValueError(f'image must be a numpy array, got {type(image)}.')
  if image.ndim != 3 or image.shape[-1] != 3 or min(image.shape[:2]) < 1:
    raise ValueError(f'image must have shape [H, W, 3], got {image.shape}.')
  if image.dtype == np.uint8:
    return
  if not np.issubdtype(image.dtype, np.floating):
    raise ValueError(
        f'image dtype must be uint8 or floating, got {image.dtype}.')
  if not np.all(np.isfinite(image)) or image.min() < 0 or image.max() > 1:
    raise ValueError('floating image values must be finite and in [0, 1].')


def _make_rng(seed: int) -> np.random.Generator:
  if (isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or
      seed < 0):
    raise ValueError(f'seed must be a non-negative int, got {seed!r}.')
  return np.random.default_rng(int(seed))


def _resolve_kernel(kernel_size: int | None, image: np.ndarray) -> int:
  if kernel_size is None:
    return median_kernel_for(min(image.shape[:2]))
  if (isinstance(kernel_size, bool) or
      not isinstance(kernel_size, (int, np.integer)) or kernel_size < 1 or
      kernel_size % 2 == 0):
    raise ValueError(
        f'kernel_size must be an odd positive int, got {kernel_size!r}.')
  return int(kernel_size)


def _median_filter(image: np.ndarray, kernel_size: int) -> np.ndarray:
  """Per-channel k x k median filter with edge replication.

  Args:
    image: uint8 or floating [H, W, 3].
    kernel_size: odd kernel side k >= 1.

  Returns:
    Filtered image, same dtype and shape. Matches
    `scipy.ndimage.median_filter(image, size=(k, k, 1), mode='nearest')`
    exactly.
  """
  if kernel_size == 1:
    return image.copy()
  out = np.empty_like(image)
  for c in range(3):
    channel = image[..., c]
    if image.dtype == np.uint8:
      out[..., c] = _rank_median(channel, kernel_size)
      continue
    # A median only compares values, so filtering the ranks of the distinct
    # values and mapping back is exact, and lets floats use the fast uint
    # histogram filter too (e.g. floats that came from uint8 have <= 256).
    levels, ranks = np.unique(channel, return_inverse=True)
    if levels.size <= _MAX_RANK_LEVELS:
      ranks = ranks.reshape(channel.shape).astype(np.uint16)
      out[..., c] = levels[_rank_median(ranks, kernel_size)]
    else:
      # scipy has no float16 kernel; the median is one of the inputs, so the
      # float32 round trip is exact.
      work = channel.astype(np.promote_types(channel.dtype, np.float32))
      out[..., c] = scipy.ndimage.median_filter(
          work, size=kernel_size, mode='nearest')
  return out


def _rank_median(channel: np.ndarray, kernel_size: int) -> np.ndarray:
  """k x k median of a uint8/uint16 [H, W] channel, edges replicated.

  skimage's sliding-histogram rank filter is O(k) per pixel, against O(k^2)
  for PIL's and scipy's (about 15x faster at 256 px, 50x at 512 px). It skips
  out-of-image pixels instead of replicating edges, so pad first.
  """
  r = kernel_size // 2
  padded = np.pad(channel, r, mode='edge')
  footprint = np.ones((kernel_size, kernel_size), dtype=bool)
  return rank.median(padded, footprint=footprint)[r:-r, r:-r]


def _to_dtype(colors: np.ndarray, dtype: np.dtype) -> np.ndarray:
  """Converts float colours in the dtype's units to `dtype` (rounds uint8)."""
  if dtype == np.uint8:
    return np.clip(np.rint(colors), 0, 255).astype(np.uint8)
  return np.clip(colors, 0.0, 1.0).astype(dtype)


def _sq_distances(pixels: np.ndarray, centers: np.ndarray) -> np.ndarray:
  """Squared L2 distances, float64 [N, K], from [N, 3] and [K, 3]."""
  d = ((pixels**2).sum(1)[:, None] - 2.0 * pixels @ centers.T +
       (centers**2).sum(1)[None, :])
  return np.maximum(d, 0.0)


def _nearest(pixels: np.ndarray, centers: np.ndarray) -> np.ndarray:
  """Index of the nearest centre, int [N], for pixels [N, 3], centres [K, 3]."""
  return np.argmin(_sq_distances(pixels, centers), axis=1)


def _kmeans_palette(pixels: np.ndarray, num_colors: int,
                    rng: np.random.Generator) -> np.ndarray:
  """Seeded k-means palette (k-means++ init, capped Lloyd iterations).

  Runs on the distinct colours weighted by their pixel counts, which gives the
  same clusters as running on every pixel but is several times faster on
  median-filtered images.

  Args:
    pixels: float64 [N, 3] colours.
    num_colors: wanted palette size K >= 1.
    rng: numpy Generator (consumed).

  Returns:
    float64 [K', 3] palette, K' <= K (smaller only when the pixels have fewer
    than K distinct colours).
  """
  if pixels.shape[0] > _KMEANS_MAX_FIT_PIXELS:
    idx = rng.choice(pixels.shape[0], _KMEANS_MAX_FIT_PIXELS, replace=False)
    pixels = pixels[np.sort(idx)]
  colors, weights = np.unique(pixels, axis=0, return_counts=True)
  weights = weights.astype(np.float64)
  # k-means++: each new centre is drawn with probability ~ count * D^2.
  centers = [colors[rng.choice(colors.shape[0], p=weights / weights.sum())]]
  min_d = ((colors - centers[0])**2).sum(1)
  while len(centers) < num_colors:
    mass = weights * min_d
    total = mass.sum()
    if total <= 0:  # Every colour already coincides with a centre.
      break
    new = colors[rng.choice(colors.shape[0], p=mass / total)]
    centers.append(new)
    min_d = np.minimum(min_d, ((colors - new)**2).sum(1))
  centers = np.stack(centers)
  # Weighted Lloyd iterations; an empty cluster keeps its previous centre.
  labels = None
  for _ in range(_KMEANS_MAX_ITERS):
    new_labels = _nearest(colors, centers)
    if labels is not None and np.array_equal(new_labels, labels):
      break
    labels = new_labels
    mass = np.bincount(labels, weights=weights, minlength=len(centers))
    sums = np.stack([
        np.bincount(labels, weights=weights * colors[:, c],
                    minlength=len(centers)) for c in range(3)
    ], axis=1)
    nonempty = mass > 0
    centers[nonempty] = sums[nonempty] / mass[nonempty, None]
  return centers


def _grid_labels(height: int, width: int, num_segments: int) -> np.ndarray:
  """Regular grid of about `num_segments` cells, int [H, W], >= 2 cells."""
  rows = min(height, max(1, round(math.sqrt(num_segments * height / width))))
  cols = min(width, max(1, math.ceil(num_segments / rows)))
  if rows * cols < 2:
    if height >= 2:
      rows = 2
    else:
      cols = 2
  row_ids = np.arange(height) * rows // height
  col_ids = np.arange(width) * cols // width
  return row_ids[:, None] * cols + col_ids[None, :]


def _counterfactual_color(mean_color: np.ndarray,
                          rng: np.random.Generator) -> np.ndarray:
  """Random RGB in [0, 1], float64 [3], far from `mean_color` ([3], [0, 1])."""
  for _ in range(_MAX_COLOR_DRAWS):
    color = rng.random(3)
    if np.linalg.norm(color - mean_color) >= _MIN_COUNTERFACTUAL_DISTANCE:
      return color
  # Practically unreachable (acceptance is > 90% per draw); the opposite
  # corner of the RGB cube is always at least sqrt(3) / 2 away.
  return (mean_color < 0.5).astype(np.float64)
