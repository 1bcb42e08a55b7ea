"""Metrics: the KID/FID estimators, faithfulness, preservation, and the
realism metric's sanity on real emoji with the shipped feature network."""

import os

import numpy as np
import pytest

from maskgit_edit.evaluation import features
from maskgit_edit.evaluation import metrics

_SLICE = os.path.join(os.path.dirname(__file__), "data",
                      "emoji_test_slice.npz")
# 171 train-split images (every 20th): the real reference (the feature
# network was trained on the train split; the test slice is unseen).
_TRAIN = os.path.join(os.path.dirname(__file__), "data",
                      "emoji_train_slice.npz")


def _brute_mmd2(x, y):
  d = x.shape[1]
  k = lambda a, b: (a @ b / d + 1.0) ** 3
  m, n = len(x), len(y)
  sxx = sum(k(x[i], x[j]) for i in range(m) for j in range(m) if i != j)
  syy = sum(k(y[i], y[j]) for i in range(n) for j in range(n) if i != j)
  sxy = sum(k(x[i], y[j]) for i in range(m) for j in range(n))
  return sxx / (m * (m - 1)) + syy / (n * (n - 1)) - 2 * sxy / (m * n)


def test_mmd2_matches_brute_force():
  rng = np.random.default_rng(0)
  x, y = rng.normal(size=(7, 3)), rng.normal(1.0, 2.0, size=(5, 3))
  assert metrics.polynomial_mmd2(x, y) == pytest.approx(_brute_mmd2(x, y),
                                                        rel=1e-10)


def test_kid_is_unbiased_on_known_distributions():
  # x, y drawn i.i.d. from uniform distributions over finite point sets A,
  # B: the population MMD^2 is exact; the unbiased estimator's average over
  # many draws must match it (a biased V-statistic would be off by ~1/n).
  rng = np.random.default_rng(1)
  a = rng.normal(size=(6, 4))
  b = a + np.array([0.3, 0.0, -0.2, 0.1])
  kernel = lambda p, q: (p @ q.T / 4 + 1.0) ** 3
  exact = kernel(a, a).mean() + kernel(b, b).mean() - 2 * kernel(a, b).mean()
  same = []
  shifted = []
  for _ in range(3000):
    xa = a[rng.integers(6, size=8)]
    xa2 = a[rng.integers(6, size=8)]
    xb = b[rng.integers(6, size=8)]
    same.append(metrics.polynomial_mmd2(xa, xa2))
    shifted.append(metrics.polynomial_mmd2(xa, xb))
  se = lambda v: np.std(v) / np.sqrt(len(v))
  assert abs(np.mean(same)) < 4 * se(same)
  assert abs(np.mean(shifted) - exact) < 4 * se(shifted)
  assert exact > 10 * se(shifted)  # The test can tell the two apart.


def test_kid_subsets_mean_std_and_determinism():
  rng = np.random.default_rng(2)
  x, y = rng.normal(size=(60, 5)), rng.normal(size=(200, 5))
  m1, s1 = metrics.kid(x, y, num_subsets=20, subset_size=50, seed=3)
  m2, s2 = metrics.kid(x, y, num_subsets=20, subset_size=50, seed=3)
  assert (m1, s1) == (m2, s2)
  assert s1 > 0 and abs(m1) < 3 * s1
  far, _ = metrics.kid(x + 2.0, y, num_subsets=20, subset_size=50)
  assert far > 100 * s1
  with pytest.raises(ValueError, match="widths differ"):
    metrics.kid(x, y[:, :4])


def test_fid_known_gaussians():
  rng = np.random.default_rng(4)
  x = rng.normal(size=(20000, 2))
  y = rng.normal(size=(20000, 2)) * 2.0 + np.array([3.0, 0.0])
  # ||mu||^2 = 9; Tr(I + 4I - 2 * 2I) = 2.
  assert metrics.fid(x, y) == pytest.approx(11.0, abs=0.25)
  assert metrics.fid(x, x) == pytest.approx(0.0, abs=1e-6)


def test_faithfulness_metrics():
  img = np.zeros((2, 8, 8, 3), np.uint8)
  guide = img.copy()
  guide[:, :4] = 255
  region = np.zeros((2, 8, 8), bool)
  region[:, :4] = True
  # Unblurred: the full error in the region, half the pixels overall.
  np.testing.assert_allclose(metrics.stroke_rmse(img, guide, region, 0),
                             [255, 255])
  np.testing.assert_allclose(metrics.stroke_rmse(img, guide, None, 0),
                             [255 / np.sqrt(2)] * 2)
  np.testing.assert_allclose(metrics.sdedit_l2(img, guide),
                             [np.sqrt(4 * 8 * 3)] * 2)
  assert np.all(metrics.stroke_rmse(guide, guide, region) == 0)
  # Blur lowers the error of a sharp edge.
  assert np.all(metrics.stroke_rmse(img, guide, region) < 255)
  np.testing.assert_allclose(metrics.truth_rmse(guide, img, ~region), [0, 0])


def test_max_change_outside():
  img = np.zeros((1, 4, 4, 3), np.float32)
  out = img.copy()
  out[0, 0, 0] = 0.5
  w = np.zeros((1, 4, 4), np.float32)
  assert metrics.max_change_outside(out, img, w)[0] == 128  # rint(127.5).
  same = (np.arange(48).reshape(1, 4, 4, 3) / 255.0).astype(np.float32)
  assert metrics.max_change_outside(same, (same * 255).round().astype(
      np.uint8), w)[0] == 0
  w[0, 0, 0] = 0.3
  assert metrics.max_change_outside(out, img, w)[0] == 0


def test_interpolate_and_pareto():
  assert metrics.interpolate_at([10, 20, 30], [1, 3, 4], 25) == 3.5
  assert metrics.interpolate_at([30, 20, 10], [4, 3, 1], 15) == 2.0
  assert metrics.interpolate_at([10, 20], [1, 2], 40) is None
  pts = [(1, 5), (2, 2), (3, 3), (4, 1), (2, 6)]
  assert metrics.pareto_front(pts) == [0, 1, 3]


# ------------------------------------------- sanity with the shipped network
@pytest.fixture(scope="module")
def extractor():
  return features.FeatureExtractor.load(batch_size=64)


@pytest.fixture(scope="module")
def slice_images():
  with np.load(_SLICE) as f:
    return f["test_image"]


def _kid(ext, images, ref_feats):
  return metrics.kid(ext.features(images), ref_feats, num_subsets=20,
                     seed=0)


_REF = {}


def _reference(ext):
  if "ref" not in _REF:
    with np.load(_TRAIN) as f:
      _REF["ref"] = ext.features(f["train_image"])
  return _REF["ref"]


def test_kid_runs_repeat(extractor, slice_images):
  ref = _reference(extractor)
  assert _kid(extractor, slice_images, ref) == _kid(extractor, slice_images,
                                                    ref)


def test_raw_guides_score_worse_than_originals(extractor, slice_images):
  from maskgit_edit.evaluation import strokes  # pylint: disable=g-import-not-at-top
  ref = _reference(extractor)
  guides = np.stack([strokes.sdedit_strokes(im, seed=i)
                     for i, im in enumerate(slice_images)])
  assert (_kid(extractor, guides, ref)[0] >
          _kid(extractor, slice_images, ref)[0] + 1e-3)


def test_user_features_roundtrip(tmp_path):
  x = np.random.default_rng(0).normal(size=(5, 3))
  np.savez(tmp_path / "f.npz", features=x)
  np.testing.assert_array_equal(metrics.load_features(
      str(tmp_path / "f.npz")), x)
  with pytest.raises(ValueError, match="no 'feats'"):
    metrics.load_features(str(tmp_path / "f.npz"), key="feats")


def test_shipped_network_sanity_suite_on_the_slices(extractor, slice_images):
  """The evaluation's own sanity suite (features.sanity) on the 48 unseen
  test-slice images: originals are indistinguishable from real reference
  images (interval holds 0), every degradation family scores higher with
  strength, and above the originals' interval from the middle level on (the
  weakest levels need the whole test split: weights/emoji/features_card.json).
  """
  r = features.sanity(extractor, slice_images, _reference(extractor),
                      num_bootstrap=200)
  lo, hi = r["originals"]["ci"]
  assert lo <= 0 <= hi, r["originals"]
  for family, _ in features.SANITY:
    kids = r[family]["kid"]
    assert all(b > a for a, b in zip(kids, kids[1:])), (family, kids)
    assert kids[1] > hi, (family, kids, hi)
