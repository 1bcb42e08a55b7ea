"""Paired image-bootstrap intervals: means, differences and KID.

Every comparison in the evaluation resamples IMAGES (with replacement), the
same resample for every method, so a difference between two methods is
paired: what varies is which images were drawn, not which method saw which.
An interval is the 2.5 and 97.5 percentiles over `num_bootstrap` resamples;
a difference whose interval contains 0 is a tie.

KID is resampled the same way (`KidBootstrap`): its unbiased MMD^2 with the
kernel k(x, y) = (x.y / d + 1)^3 is computed from a precomputed kernel matrix
of the method's images, pairs of a resample that are the same image being
left out of the within-set term (so duplicates do not bias it).
"""

from __future__ import annotations

import dataclasses
from typing import Sequence

import numpy as np


def bootstrap_indices(n: int, num: int, seed: int) -> np.ndarray:
  """int [num, n]: `num` resamples of range(n) with replacement."""
  return np.random.default_rng(seed).integers(0, n, size=(num, n))


def cluster_indices(groups: Sequence, num: int, seed: int
                    ) -> list[np.ndarray]:
  """Resamples of rows by cluster: rows sharing a group (an image that
  appears in several benchmark kinds) are drawn together.

  Returns `num` int arrays of row indices.
  """
  groups = np.asarray(groups)
  uniq, inv = np.unique(groups, return_inverse=True)
  rows = [np.flatnonzero(inv == g) for g in range(len(uniq))]
  pick = bootstrap_indices(len(uniq), num, seed)
  return [np.concatenate([rows[g] for g in p]) for p in pick]


@dataclasses.dataclass(frozen=True)
class Interval:
  """A point estimate and its 95% bootstrap interval."""
  value: float
  lo: float
  hi: float

  @property
  def verdict(self) -> str:
    """'tie' when the interval holds 0, else the sign: '+' or '-'."""
    if self.lo <= 0 <= self.hi:
      return "tie"
    return "+" if self.value > 0 else "-"

  def as_list(self) -> list[float]:
    return [self.value, self.lo, self.hi]


def interval(value: float, replicates: np.ndarray) -> Interval:
  """The value and the 2.5/97.5 percentiles of its replicates (replicates
  that are undefined, NaN, are left out)."""
  lo, hi = np.nanpercentile(np.asarray(replicates, np.float64), (2.5, 97.5))
  return Interval(float(value), float(lo), float(hi))


def mean_interval(values: np.ndarray, resamples) -> Interval:
  """Mean of per-image `values` [N] and its interval."""
  v = np.asarray(values, np.float64)
  return interval(v.mean(), [v[r].mean() for r in resamples])


def diff_interval(a: np.ndarray, b: np.ndarray, resamples) -> Interval:
  """Paired mean(a - b) over images and its interval."""
  return mean_interval(np.asarray(a, np.float64) - np.asarray(b, np.float64),
                       resamples)


def poly_kernel(x: np.ndarray, y: np.ndarray) -> np.ndarray:
  """(x.y / d + 1)^3 for features x [m, d], y [n, d] (float64)."""
  return (x @ y.T / x.shape[1] + 1.0) ** 3


class KidBootstrap:
  """KID of one set of images against a fixed real reference, resampled.

  Each image may have several outputs (seeds/samples): `features` is
  [N * k, d] with image i's outputs at rows i*k .. i*k + k - 1, and a
  resample of images takes all k outputs of each drawn image.
  """

  def __init__(self, features: np.ndarray, reference: np.ndarray,
               per_image: int = 1):
    x = np.asarray(features, np.float64)
    y = np.asarray(reference, np.float64)
    if x.ndim != 2 or y.ndim != 2 or x.shape[1] != y.shape[1]:
      raise ValueError(f"features {x.shape} and reference {y.shape} must be "
                       "[N, d] with one d.")
    if len(x) % per_image:
      raise ValueError(f"{len(x)} features is not a multiple of "
                       f"{per_image} per image.")
    self.k = int(per_image)
    self.n = len(x) // self.k
    kxx = poly_kernel(x, x)
    # Image-level blocks: sums over the k x k outputs of images (i, j).
    blocks = kxx.reshape(self.n, self.k, self.n, self.k).sum((1, 3))
    self._kxx = blocks
    # Within one image, pairs of distinct outputs (i, a) != (i, b).
    diag = np.diagonal(kxx).reshape(self.n, self.k).sum(1)
    self._self = np.diagonal(blocks) - diag
    kyy = poly_kernel(y, y)
    m = len(y)
    self._yy = (kyy.sum() - np.trace(kyy)) / (m * (m - 1))
    self._xy = poly_kernel(x, y).mean(1).reshape(self.n, self.k).sum(1)

  def _mmd2(self, idx: np.ndarray) -> float:
    """Unbiased MMD^2 of the outputs of images `idx` (with repeats); NaN
    with fewer than two distinct images."""
    k = self.k
    if len(np.unique(idx)) < 2:
      return float("nan")
    counts = np.bincount(idx, minlength=self.n).astype(np.float64)
    # Pairs of outputs from different draws: every block pair (i, j) of the
    # resample, except a draw with itself and two draws of the same image
    # (identical outputs would count as distinct samples).
    total = counts @ self._kxx @ counts - np.sum(counts ** 2 *
                                                np.diag(self._kxx))
    pairs = len(idx) * (len(idx) - 1) * k * k - np.sum(
        counts * (counts - 1)) * k * k
    # Distinct outputs of the same draw (seeds of one image) are genuine
    # pairs: add them once per draw.
    total += np.sum(counts * self._self)
    pairs += len(idx) * k * (k - 1)
    xx = total / max(pairs, 1)
    xy = np.sum(counts * self._xy) / (len(idx) * k)
    return float(xx + self._yy - 2.0 * xy)

  def value(self) -> float:
    """KID of all images (each once)."""
    return self._mmd2(np.arange(self.n))

  def replicates(self, resamples) -> np.ndarray:
    return np.asarray([self._mmd2(np.asarray(r)) for r in resamples])

  def interval(self, resamples) -> Interval:
    return interval(self.value(), self.replicates(resamples))


def kid_diff_interval(a: KidBootstrap, b: KidBootstrap,
                      resamples) -> Interval:
  """Paired KID(a) - KID(b) over the same image resamples."""
  if a.n != b.n:
    raise ValueError(f"Paired KID needs the same images: {a.n} vs {b.n}.")
  return interval(a.value() - b.value(),
                  a.replicates(resamples) - b.replicates(resamples))
