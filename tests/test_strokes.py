"""Tests for maskgit_edit.strokes (simulated strokes for evaluation)."""

import numpy as np
import pytest

from maskgit_edit.evaluation import strokes


def _image(size: int = 48, seed: int = 0) -> np.ndarray:
  """uint8 [size, size, 3]: gradients, two flat blocks and a little noise."""
  yy, xx = np.mgrid[:size, :size] * (255 // size)
  img = np.stack([yy, xx, (255 - yy + xx) // 2], axis=-1).astype(np.int64)
  img[size // 4:size // 2, size // 3:3 * size // 4] = [200, 30, 40]
  img[3 * size // 4:, :size // 3] = [20, 180, 90]
  noise = np.random.default_rng(seed).integers(-12, 13, img.shape)
  return np.clip(img + noise, 0, 255).astype(np.uint8)


def _num_colors(image: np.ndarray) -> int:
  return len(np.unique(image.reshape(-1, 3), axis=0))


@pytest.mark.parametrize(
    'resolution,expected',
    [(16, 3), (32, 3), (64, 5), (128, 11), (256, 23), (512, 47)])
def test_median_kernel_scales_with_resolution(resolution, expected):
  assert strokes.median_kernel_for(resolution) == expected


def test_median_kernel_is_odd_and_monotonic():
  kernels = [strokes.median_kernel_for(r) for r in range(1, 1025)]
  assert all(k % 2 == 1 and k >= 3 for k in kernels)
  assert all(a <= b for a, b in zip(kernels, kernels[1:]))


@pytest.mark.parametrize('num_colors', [1, 3, 6, 16])
def test_sdedit_at_most_num_colors(num_colors):
  img = _image()
  guide = strokes.sdedit_strokes(img, num_colors=num_colors, kernel_size=5)
  assert guide.shape == img.shape and guide.dtype == np.uint8
  assert 1 <= _num_colors(guide) <= num_colors


def test_sdedit_fewer_colors_than_palette():
  img = np.zeros((8, 8, 3), np.uint8)
  img[:, 4:] = [10, 200, 30]
  guide = strokes.sdedit_strokes(img, num_colors=6, kernel_size=1)
  np.testing.assert_array_equal(guide, img)


def test_sdedit_deterministic_per_seed():
  img = _image()
  a = strokes.sdedit_strokes(img, num_colors=16, kernel_size=3, seed=1)
  b = strokes.sdedit_strokes(img, num_colors=16, kernel_size=3, seed=1)
  np.testing.assert_array_equal(a, b)
  others = [
      strokes.sdedit_strokes(img, num_colors=16, kernel_size=3, seed=s)
      for s in range(2, 6)
  ]
  assert any(not np.array_equal(a, o) for o in others)


def test_sdedit_float_input_keeps_dtype():
  img = _image().astype(np.float32) / 255
  guide = strokes.sdedit_strokes(img, num_colors=6, kernel_size=5)
  assert guide.dtype == np.float32 and guide.shape == img.shape
  assert guide.min() >= 0 and guide.max() <= 1
  assert _num_colors(guide) <= 6


@pytest.mark.parametrize('mode', ['inversion', 'counterfactual'])
def test_pilot_changes_only_mask(mode):
  img = _image()
  for seed in range(4):
    guide, mask = strokes.pilot_stroke_edit(
        img, kernel_size=5, mode=mode, seed=seed)
    assert guide.dtype == img.dtype and guide.shape == img.shape
    assert mask.dtype == np.bool_ and mask.shape == img.shape[:2]
    assert 0 < mask.sum() < mask.size
    np.testing.assert_array_equal(guide[~mask], img[~mask])
    # The segment is painted in one flat colour.
    assert _num_colors(guide[mask][None]) == 1


def test_pilot_inversion_uses_mean_color_counterfactual_does_not():
  img = _image()
  guide, mask = strokes.pilot_stroke_edit(img, kernel_size=1, seed=0)
  mean = img[mask].astype(np.float64).mean(axis=0)
  np.testing.assert_allclose(guide[mask][0], mean, atol=0.5)
  guide, mask = strokes.pilot_stroke_edit(
      img, kernel_size=1, mode='counterfactual', seed=0)
  mean = img[mask].astype(np.float64).mean(axis=0) / 255
  assert np.linalg.norm(guide[mask][0] / 255 - mean) >= 0.24


def test_pilot_deterministic_per_seed():
  img = _image()
  for mode in ('inversion', 'counterfactual'):
    a = strokes.pilot_stroke_edit(img, kernel_size=5, mode=mode, seed=7)
    b = strokes.pilot_stroke_edit(img, kernel_size=5, mode=mode, seed=7)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    others = [
        strokes.pilot_stroke_edit(img, kernel_size=5, mode=mode, seed=s)[0]
        for s in range(4)
    ]
    assert any(not np.array_equal(a[0], o) for o in others)


def test_pilot_float_matches_uint8_mask():
  img = _image()
  imgf = img.astype(np.float32) / 255
  guide, mask = strokes.pilot_stroke_edit(img, kernel_size=5, seed=3)
  guidef, maskf = strokes.pilot_stroke_edit(imgf, kernel_size=5, seed=3)
  assert guidef.dtype == np.float32
  np.testing.assert_array_equal(mask, maskf)
  np.testing.assert_array_equal(guidef[~maskf], imgf[~maskf])
  np.testing.assert_allclose(guidef * 255, guide, atol=1.0)


@pytest.mark.parametrize('shape', [(2, 1, 3), (1, 2, 3), (3, 3, 3)])
def test_pilot_mask_proper_on_tiny_and_constant_images(shape):
  img = np.full(shape, 128, np.uint8)
  for seed in range(3):
    guide, mask = strokes.pilot_stroke_edit(
        img, mode='counterfactual', seed=seed)
    assert 0 < mask.sum() < mask.size
    np.testing.assert_array_equal(guide[~mask], img[~mask])


@pytest.mark.parametrize('bad', [
    np.zeros((8, 8), np.uint8),
    np.zeros((8, 8, 4), np.uint8),
    np.zeros((0, 8, 3), np.uint8),
    np.zeros((8, 8, 3), np.int32),
    np.zeros((8, 8, 3), np.bool_),
    np.full((8, 8, 3), 1.5, np.float32),
    np.full((8, 8, 3), np.nan, np.float32),
    [[[0, 0, 0]]],
])
def test_bad_image_raises(bad):
  with pytest.raises(ValueError):
    strokes.sdedit_strokes(bad)
  with pytest.raises(ValueError):
    strokes.pilot_stroke_edit(bad)


@pytest.mark.parametrize('num_colors', [0, -1, 2.5, True])
def test_bad_num_colors_raises(num_colors):
  with pytest.raises(ValueError, match='num_colors'):
    strokes.sdedit_strokes(_image(8), num_colors=num_colors)


def test_bad_mode_raises():
  with pytest.raises(ValueError, match='mode'):
    strokes.pilot_stroke_edit(_image(8), mode='random')


@pytest.mark.parametrize('kwargs,match', [
    ({'num_segments': 1}, 'num_segments'),
    ({'sigma': -1.0}, 'sigma'),
    ({'kernel_size': 4}, 'kernel_size'),
    ({'kernel_size': 0}, 'kernel_size'),
    ({'seed': -1}, 'seed'),
])
def test_bad_pilot_args_raise(kwargs, match):
  with pytest.raises(ValueError, match=match):
    strokes.pilot_stroke_edit(_image(8), **kwargs)


def test_pilot_single_pixel_raises():
  with pytest.raises(ValueError, match='2 pixels'):
    strokes.pilot_stroke_edit(np.zeros((1, 1, 3), np.uint8))


@pytest.mark.parametrize('resolution', [0, -4, 2.0, None])
def test_bad_resolution_raises(resolution):
  with pytest.raises(ValueError, match='resolution'):
    strokes.median_kernel_for(resolution)


@pytest.mark.parametrize('levels', [256, 1 << 16])
@pytest.mark.parametrize('dtype', [np.uint8, np.float16, np.float32])
@pytest.mark.parametrize('shape,kernel', [((24, 17, 3), 5), ((6, 4, 3), 9)])
def test_median_filter_matches_scipy(levels, dtype, shape, kernel):
  # Covers the rank-histogram path and, for floats with many distinct values,
  # the scipy fallback.
  if dtype == np.uint8 and levels > 256:
    pytest.skip('uint8 has 256 levels')
  ndimage = pytest.importorskip('scipy.ndimage')
  img = np.random.default_rng(0).integers(0, levels, shape)
  img = img.astype(np.uint8) if dtype == np.uint8 else (
      img / (levels - 1)).astype(dtype)
  # scipy has no float16 kernel; float32 holds float16 values exactly.
  work = img.astype(np.float32) if dtype == np.float16 else img
  expected = ndimage.median_filter(
      work, size=(kernel, kernel, 1), mode='nearest').astype(dtype)
  actual = strokes._median_filter(img, kernel)  # pylint: disable=protected-access
  np.testing.assert_array_equal(actual, expected)
