"""Editing metrics: one table (`METRICS`) that scoring, tables and plots read.

`METRICS` lists every per-image metric of the evaluation with its formula,
direction, format, the benchmark kinds it is computed on and the baseline
that games it; `score` computes them all for a set of outputs, and KID is
the distribution metric (`stats.KidBootstrap`). The functions below are the
formulas.

Images are uint8 [N, H, W, 3] in [0, 255] or floating [N, H, W, 3] in [0, 1]
(converted to float64 in [0, 1]); regions are bool [N, H, W]. Every metric
is computed at the resolution of the images it is given (the emoji
benchmark: 64 x 64) and returns one value per image unless stated otherwise.
"8-bit levels" means the [0, 1] difference times 255.

Faithfulness (does the output follow the guide?):
  stroke_rmse    SDEdit-style stroke error as an RMSE: both images blurred
                 with a Gaussian of sigma `STROKE_SIGMA` = 2 px (at 64 px;
                 SDEdit's median kernel 23 at 256 px is ~5.75 px at 64 px, a
                 Gaussian of sigma 2 px removes detail below that scale), then
                 RMSE over the region's pixels and the 3 channels, in 8-bit
                 levels. Region = the edit mask (in-mask) or the whole image.
  sdedit_l2      SDEdit's own number: the L2 norm of (output - guide) over all
                 pixels and channels, pixels in [0, 1], no blur, at the given
                 resolution. (SDEdit reports it at 256 x 256; at 64 px the
                 same per-pixel error gives a 4x smaller norm.)
  truth_rmse     for inversion edits (the guide was made from a known image):
                 RMSE in 8-bit levels between output and truth over the
                 region, no blur.
Realism (does the output look like real images?):
  kid            Kernel Inception Distance (Binkowski et al. 2018) on
                 features: unbiased MMD^2 with the polynomial kernel
                 k(x, y) = (x.y / d + 1)^3, d = feature width, averaged over
                 random subsets; returns (mean, std over subsets).
  fid            Frechet distance between Gaussians fitted to two feature
                 sets (mean and covariance, float64).
  The features come from `maskgit_edit.evaluation.features` (this
  project's emoji network, NOT Inception: numbers are comparable only with
  other numbers on the same network) or from user-supplied files
  (`load_features`; e.g. Inception pool3 features computed elsewhere:
  `python -m maskgit_edit.evaluation.metrics outputs.npz reference.npz`).
Closeness to the truth: `perceptual` (LPIPS-style, `evaluation.perceptual`)
  and `truth_rmse`.
Seam: `seam_rmse`, the edge mismatch across the mask boundary.
Preservation:
  max_change_outside  largest absolute change (8-bit levels, any channel,
                 both rounded to 8 bits) between output and input at pixels
                 whose composite weight is 0 (beyond the feather band); must
                 be 0.
"""

from __future__ import annotations

import dataclasses

import numpy as np
from scipy import linalg
from scipy import ndimage

STROKE_SIGMA = 2.0  # px, at the image's own resolution (64 px emoji).
KID_SUBSETS = 100
KID_SUBSET_SIZE = 1000


def as_float(images) -> np.ndarray:
  """float64 [N, H, W, 3] in [0, 1] from uint8 or floating [N, H, W, 3]."""
  images = np.asarray(images)
  if images.ndim != 4 or images.shape[-1] != 3:
    raise ValueError(f"images must be [N, H, W, 3], got {images.shape}.")
  if images.dtype == np.uint8:
    return images.astype(np.float64) / 255.0
  if not np.issubdtype(images.dtype, np.floating):
    raise ValueError(f"images must be uint8 or floating, got {images.dtype}.")
  return images.astype(np.float64)


def _region(region, shape) -> np.ndarray:
  """bool [N, H, W]; None = every pixel."""
  if region is None:
    return np.ones(shape[:3], bool)
  region = np.asarray(region, bool)
  if region.shape != tuple(shape[:3]):
    raise ValueError(f"region {region.shape} does not match images "
                     f"{tuple(shape[:3])}.")
  return region


def gaussian_blur(images, sigma: float = STROKE_SIGMA) -> np.ndarray:
  """Spatial Gaussian blur (sigma px, edges replicated) of [N, H, W, 3]."""
  x = as_float(images)
  if sigma <= 0:
    return x
  return ndimage.gaussian_filter(x, sigma=(0, sigma, sigma, 0),
                                 mode="nearest")


def region_rmse(a, b, region=None) -> np.ndarray:
  """float64 [N]: RMSE in 8-bit levels over the region's pixels x 3 channels.

  An image with an empty region gets NaN.
  """
  a, b = as_float(a), as_float(b)
  if a.shape != b.shape:
    raise ValueError(f"shapes differ: {a.shape} vs {b.shape}.")
  m = _region(region, a.shape)
  sq = ((a - b) ** 2).sum(-1)
  count = m.sum((1, 2)) * 3
  with np.errstate(invalid="ignore", divide="ignore"):
    return np.sqrt((sq * m).sum((1, 2)) / count) * 255.0


def stroke_rmse(outputs, guides, region=None,
                sigma: float = STROKE_SIGMA) -> np.ndarray:
  """float64 [N]: RMSE (8-bit levels) of the sigma-px-blurred output vs guide.

  Args:
    outputs, guides: [N, H, W, 3] images.
    region: bool [N, H, W] (the edit mask for in-mask) or None (whole image).
    sigma: Gaussian blur in pixels at the images' resolution (0 = none).
  """
  return region_rmse(gaussian_blur(outputs, sigma),
                     gaussian_blur(guides, sigma), region)


def sdedit_l2(outputs, guides) -> np.ndarray:
  """float64 [N]: SDEdit's L2, ||output - guide||_2 over H x W x 3, [0, 1]."""
  a, b = as_float(outputs), as_float(guides)
  if a.shape != b.shape:
    raise ValueError(f"shapes differ: {a.shape} vs {b.shape}.")
  return np.sqrt(((a - b) ** 2).sum((1, 2, 3)))


def truth_rmse(outputs, truths, region=None) -> np.ndarray:
  """float64 [N]: RMSE (8-bit levels, no blur) to the true image in region."""
  return region_rmse(outputs, truths, region)


def to_uint8(images) -> np.ndarray:
  """uint8 [N, H, W, 3]: floats in [0, 1] rounded to 8 bits (as saved)."""
  images = np.asarray(images)
  if images.dtype == np.uint8:
    return images
  return np.clip(np.rint(images.astype(np.float64) * 255.0), 0,
                 255).astype(np.uint8)


def max_change_outside(outputs, images, weights) -> np.ndarray:
  """float64 [N]: max |output - input| where weights == 0, in 8-bit levels.

  Both are first rounded to 8 bits (what a saved PNG holds), so the value is
  an integer and exactly 0 when the pixels there are unchanged.

  Args:
    outputs, images: [N, H, W, 3].
    weights: float [N, H, W] composite weights (0 = must be the input).
  """
  a = to_uint8(outputs).astype(np.int16)
  b = to_uint8(images).astype(np.int16)
  outside = np.asarray(weights) == 0
  diff = np.abs(a - b).max(-1)
  return np.where(outside, diff, 0).max((1, 2)).astype(np.float64)


# ------------------------------------------------------------------ realism
def _check_features(x, name: str) -> np.ndarray:
  x = np.asarray(x, np.float64)
  if x.ndim != 2 or len(x) < 2:
    raise ValueError(f"{name} must be [N >= 2, D] features, got {x.shape}.")
  if not np.all(np.isfinite(x)):
    raise ValueError(f"{name} has non-finite values.")
  return x


def polynomial_mmd2(x: np.ndarray, y: np.ndarray) -> float:
  """Unbiased MMD^2 between samples x [m, d], y [n, d], kernel (x.y/d + 1)^3.

  (sum_{i != j} k(x_i, x_j)) / (m (m - 1)) + (same for y) - 2 mean k(x, y).
  Its expectation is the population MMD^2 (0 for equal distributions), so a
  single value may be negative.
  """
  d = x.shape[1]
  kxx = (x @ x.T / d + 1.0) ** 3
  kyy = (y @ y.T / d + 1.0) ** 3
  kxy = (x @ y.T / d + 1.0) ** 3
  m, n = len(x), len(y)
  sxx = (kxx.sum() - np.trace(kxx)) / (m * (m - 1))
  syy = (kyy.sum() - np.trace(kyy)) / (n * (n - 1))
  return float(sxx + syy - 2.0 * kxy.mean())


def kid(features_x, features_y, num_subsets: int = KID_SUBSETS,
        subset_size: int = KID_SUBSET_SIZE, seed: int = 0
        ) -> tuple[float, float]:
  """KID between two feature sets: (mean, std) of `polynomial_mmd2`.

  Each of `num_subsets` rounds draws min(subset_size, len(x), len(y))
  features from each set without replacement (numpy Generator from `seed`,
  so a call is deterministic) and computes the unbiased MMD^2. When a set
  is smaller than subset_size, every round uses all of it and the std only
  reflects the other set's sampling.

  Args:
    features_x, features_y: float [N, D] and [M, D].
    num_subsets: rounds, >= 1.
    subset_size: features per round and set, >= 2.
    seed: subset-sampling seed.

  Returns:
    (mean, std) over rounds (std = 0 for a single round).
  """
  x = _check_features(features_x, "features_x")
  y = _check_features(features_y, "features_y")
  if x.shape[1] != y.shape[1]:
    raise ValueError(f"feature widths differ: {x.shape[1]} vs {y.shape[1]}.")
  if num_subsets < 1 or subset_size < 2:
    raise ValueError("need num_subsets >= 1 and subset_size >= 2.")
  rng = np.random.default_rng(seed)
  m = min(int(subset_size), len(x), len(y))
  vals = []
  for _ in range(int(num_subsets)):
    xs = x if m == len(x) else x[rng.choice(len(x), m, replace=False)]
    ys = y if m == len(y) else y[rng.choice(len(y), m, replace=False)]
    vals.append(polynomial_mmd2(xs, ys))
  vals = np.asarray(vals)
  return float(vals.mean()), float(vals.std())


def gaussian_stats(features) -> tuple[np.ndarray, np.ndarray]:
  """(mean [D], covariance [D, D]) in float64 (covariance with N - 1)."""
  x = _check_features(features, "features")
  return x.mean(0), np.cov(x, rowvar=False)


def fid(features_x, features_y) -> float:
  """Frechet distance ||mu_x - mu_y||^2 + Tr(S_x + S_y - 2 (S_x S_y)^1/2).

  The matrix square root is scipy's `sqrtm` (its tiny imaginary part from
  round-off dropped); a singular product gets 1e-6 added to both diagonals.
  """
  mx, sx = gaussian_stats(features_x)
  my, sy = gaussian_stats(features_y)
  if mx.shape != my.shape:
    raise ValueError(f"feature widths differ: {mx.shape} vs {my.shape}.")
  covmean = linalg.sqrtm(sx @ sy)
  if not np.all(np.isfinite(covmean)):
    eps = np.eye(len(mx)) * 1e-6
    covmean = linalg.sqrtm((sx + eps) @ (sy + eps))
  covmean = np.real(covmean)
  return float(((mx - my) ** 2).sum() + np.trace(sx + sy - 2.0 * covmean))


def load_features(path: str, key: str = "features") -> np.ndarray:
  """User-supplied features: `key` of an .npz (or a .npy), float [N, D].

  E.g. Inception pool3 features computed elsewhere, in the same order as the
  images they describe.
  """
  if path.endswith(".npy"):
    return _check_features(np.load(path), path)
  with np.load(path) as f:
    if key not in f.files:
      raise ValueError(f"{path} has no {key!r} array (has {f.files}).")
    return _check_features(f[key], f"{path}:{key}")


# ---------------------------------------------------------- curve utilities
def interpolate_at(xs, ys, target: float) -> float | None:
  """y at x = target, linear along the curve (x_i, y_i) in the given order.

  The curve is walked segment by segment (e.g. in order of strength); the
  first segment whose x range contains `target` is used. None when no
  segment reaches it (no extrapolation).
  """
  xs = np.asarray(xs, np.float64)
  ys = np.asarray(ys, np.float64)
  for i in range(len(xs) - 1):
    a, b = xs[i], xs[i + 1]
    if min(a, b) <= target <= max(a, b):
      if a == b:
        return float(ys[i])
      t = (target - a) / (b - a)
      return float(ys[i] + t * (ys[i + 1] - ys[i]))
  if len(xs) == 1 and xs[0] == target:
    return float(ys[0])
  return None


def pareto_front(points) -> list[int]:
  """Indices of the points [(x, y), ...] not dominated when both are minimised.

  A point is dominated when another is <= in both coordinates and < in one.
  Returned in order of increasing x.
  """
  pts = np.asarray(points, np.float64)
  keep = []
  for i, p in enumerate(pts):
    dominated = np.any(np.all(pts <= p, axis=1) & np.any(pts < p, axis=1))
    if not dominated:
      keep.append(i)
  return sorted(keep, key=lambda i: (pts[i, 0], pts[i, 1]))


# -------------------------------------------------------------- the seam
SEAM_RING = 2  # px on each side of the mask boundary.


def boundary_ring(mask_HW: np.ndarray, width: int = SEAM_RING
                  ) -> np.ndarray:
  """bool [H, W]: pixels within `width` px of the mask's boundary (both
  sides); empty for an empty or full mask."""
  m = np.asarray(mask_HW, bool)
  if m.all() or not m.any():
    return np.zeros(m.shape, bool)
  d_in = ndimage.distance_transform_edt(m)
  d_out = ndimage.distance_transform_edt(~m)
  return (m & (d_in <= width)) | (~m & (d_out <= width))


def gradient_magnitude(images) -> np.ndarray:
  """float64 [N, H, W]: |grad| of RGB images (central differences, L2 over
  the channels and both directions), in [0, 1] units per pixel."""
  x = as_float(images)
  gy, gx = np.gradient(x, axis=(1, 2))
  return np.sqrt((gy ** 2 + gx ** 2).sum(-1))


def seam_rmse(outputs, references, masks) -> np.ndarray:
  """float64 [N]: RMS over the boundary ring of |grad out| - |grad ref|.

  8-bit levels per pixel. The reference is what the boundary should look
  like (the truth when known, else the input), so the originals score 0; a
  hard paste of the guide scores its paint's edges; a blurry edit scores
  its missing edges. NaN where the mask has no boundary (global edits).
  """
  go, gr = gradient_magnitude(outputs), gradient_magnitude(references)
  out = np.full(len(go), np.nan)
  for i, m in enumerate(np.asarray(masks, bool)):
    ring = boundary_ring(m)
    if ring.any():
      out[i] = np.sqrt(np.mean((go[i][ring] - gr[i][ring]) ** 2)) * 255.0
  return out


# -------------------------------------------------------- the metric table
@dataclasses.dataclass(frozen=True)
class Metric:
  """One per-image metric of the evaluation.

  Attributes:
    name: key in results.
    label: column header.
    axis: what it measures: faithfulness | truth | seam | preservation.
    formula: the definition, one line (docs).
    lower_is_better: direction.
    truth_only: computed only on kinds with a truth.
    fmt: format of a value.
    gamed_by: which baseline games it, and why (docs).
  """
  name: str
  label: str
  axis: str
  formula: str
  lower_is_better: bool
  truth_only: bool
  fmt: str
  gamed_by: str


METRICS = (
    Metric("stroke", "stroke RMSE", "faithfulness",
           "RMSE (8-bit levels) between output and guide, both blurred with "
           f"a Gaussian of sigma {STROKE_SIGMA:g} px, over the mask",
           True, False, "{:.1f}",
           "the raw guide (0: it is the paint); ignoring the paint is "
           "punished on recolour edits"),
    Metric("perceptual", "perceptual x100", "truth",
           "LPIPS-style distance to the truth (unit-normalised activations "
           "of the feature network's 4 stages, calibrated layer weights), "
           "averaged over the mask and its feather band, x100",
           True, True, "{:.1f}",
           "nothing trivially: the input holds a distractor there, the raw "
           "guide is flat paint"),
    Metric("truth_rmse", "RMSE to truth", "truth",
           "pixel RMSE (8-bit levels) between output and truth over the "
           "mask", True, True, "{:.1f}",
           "cautious, averaged outputs (the raw guide's flat colours score "
           "well)"),
    Metric("seam", "seam", "seam",
           f"RMS over the pixels within {SEAM_RING} px of the mask boundary "
           "of |grad output| - |grad reference| (reference: the truth, else "
           "the input), 8-bit levels; global edits have no boundary",
           True, False, "{:.2f}",
           "the no-op on recolour edits (0: it is the reference there)"),
    Metric("max_change_outside", "max change outside", "preservation",
           "largest 8-bit change of any channel beyond the feather band "
           "(must be 0)", True, False, "{:.0f}", "-"),
)
METRIC_BY_NAME = {m.name: m for m in METRICS}


def score(outputs, images, guides, masks, truths, has_truth, weights,
          extractor, feather: int) -> dict[str, np.ndarray]:
  """Every metric of `METRICS` per image (NaN where it does not apply).

  Args:
    outputs: [N, S, S, 3] edited images.
    images, guides: [N, S, S, 3] inputs and guides.
    masks: bool [N, S, S].
    truths: [N, S, S, 3] (anything where there is none).
    has_truth: bool [N].
    weights: float [N, S, S] composite weights (0 = must be the input).
    extractor: the feature network (perceptual distance).
    feather: px of the feather band (the perceptual region).
  """
  masks = np.asarray(masks, bool)
  has_truth = np.asarray(has_truth, bool)
  ref = np.where(has_truth[:, None, None, None], as_float(truths),
                 as_float(images))
  out = dict(
      stroke=stroke_rmse(outputs, guides, masks),
      truth_rmse=np.where(has_truth, region_rmse(outputs, truths, masks),
                          np.nan),
      seam=seam_rmse(outputs, ref, masks),
      max_change_outside=max_change_outside(outputs, images, weights))
  perc = np.full(len(masks), np.nan)
  if has_truth.any():
    from maskgit_edit.evaluation import perceptual  # pylint: disable=g-import-not-at-top
    region = np.stack([ndimage.binary_dilation(m, iterations=feather)
                       if feather else m for m in masks[has_truth]])
    perc[has_truth] = 100.0 * perceptual.distance(
        extractor, as_float(outputs)[has_truth], as_float(truths)[has_truth],
        region)
  out["perceptual"] = perc
  return {m.name: out[m.name] for m in METRICS}


def main(argv):
  """KID and FID between two feature files (e.g. Inception features)."""
  if len(argv) != 3:
    raise SystemExit("usage: python -m maskgit_edit.evaluation.metrics A.npz "
                     "B.npz "
                     "(each with a 'features' array [N, D], or .npy)")
  a, b = load_features(argv[1]), load_features(argv[2])
  k_mean, k_std = kid(a, b)
  print(f"KID {k_mean:.6f} +- {k_std:.6f} ({KID_SUBSETS} subsets of "
        f"{min(KID_SUBSET_SIZE, len(a), len(b))}), FID {fid(a, b):.4f}, "
        f"N = {len(a)} vs {len(b)}, D = {a.shape[1]}")


if __name__ == "__main__":
  import sys  # pylint: disable=g-import-not-at-top
  main(sys.argv)
