"""An LPIPS-style perceptual distance on the evaluation's feature network.

d(a, b) = sum_l w_l * mean over the region of
          || u_l(a)[h, w] - u_l(b)[h, w] ||^2
where u_l is stage l's activation (`FeatureExtractor.activations`: the stem
and every stage) with each position's channel vector scaled to unit length
(as LPIPS does), and the region (the edit's feathered footprint, or the whole
image) is area-averaged to each stage's resolution. Without learned
per-channel weights this is LPIPS's "baseline" variant; the layer weights
w_l are CALIBRATED (`calibrate`): w_l = 1 / (L * mean_l) where mean_l is
layer l's mean distance over a set of known distortions (blur, noise,
posterise, paint, shifts) of real images, so every layer contributes about
equally and the distance is about 1 for a typical such distortion. Reported
x100 in tables.
"""

from __future__ import annotations

import numpy as np

from maskgit_edit.evaluation import features as features_lib

# Distortions (family, strength) the calibration averages over.
CALIBRATION = (("blur", 0.3), ("blur", 0.8), ("noise", 0.3), ("noise", 0.8),
               ("posterise", 0.5), ("paint_local", 0.5), ("segment", 0.5))


def _unit(x: np.ndarray) -> np.ndarray:
  return x / np.sqrt(np.sum(x * x, -1, keepdims=True) + 1e-10)


def _pool(region: np.ndarray, h: int, w: int) -> np.ndarray:
  """Area-average bool [N, H, W] regions to float [N, h, w]."""
  n, hh, ww = region.shape
  r = region.astype(np.float64).reshape(n, h, hh // h, w, ww // w)
  return r.mean((2, 4))


def layer_distances(extractor: features_lib.FeatureExtractor, a, b,
                    region=None) -> np.ndarray:
  """float64 [N, L]: each layer's region-averaged squared distance."""
  acts_a = extractor.activations(a)
  acts_b = extractor.activations(b)
  n = len(acts_a[0])
  out = np.zeros((n, len(acts_a)))
  for l, (xa, xb) in enumerate(zip(acts_a, acts_b)):
    d = np.sum((_unit(xa.astype(np.float64)) - _unit(xb.astype(np.float64)))
               ** 2, -1)
    if region is None:
      out[:, l] = d.mean((1, 2))
    else:
      wgt = _pool(np.asarray(region, bool), *d.shape[1:])
      out[:, l] = (d * wgt).sum((1, 2)) / np.maximum(wgt.sum((1, 2)), 1e-12)
  return out


def distance(extractor: features_lib.FeatureExtractor, a, b,
             region=None) -> np.ndarray:
  """float64 [N]: the calibrated perceptual distance of images a vs b.

  Args:
    extractor: the feature network (its `layer_weights` from `calibrate`;
      uniform 1/L if it has none).
    a, b: images [N, S, S, 3] (uint8 or float in [0, 1]).
    region: None (whole image) or bool [N, S, S].
  """
  per = layer_distances(extractor, a, b, region)
  w = extractor.layer_weights
  if w is None:
    w = np.full(per.shape[1], 1.0 / per.shape[1])
  return per @ w


def calibrate(extractor: features_lib.FeatureExtractor, images,
              seed: int = 0) -> list[float]:
  """Layer weights w_l = 1 / (L * mean_l) over the CALIBRATION distortions
  of `images` (real images, uint8 or float)."""
  x = features_lib.as_float_images(images)
  per = []
  for k, (family, u) in enumerate(CALIBRATION):
    rng = np.random.default_rng([seed, k])
    deg = np.stack([features_lib.degrade(im, family, u, rng)[0] for im in x])
    per.append(layer_distances(extractor, x, deg))
  mean = np.concatenate(per).mean(0)
  return [float(1.0 / (len(mean) * m)) for m in mean]
