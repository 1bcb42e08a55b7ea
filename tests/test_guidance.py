"""Guidance: pixel mask, E, kernels, mask/mode handling on read."""

import types

import numpy as np
from PIL import Image
import pytest

from maskgit import image_io
from maskgit_edit import batch
from maskgit_edit import editor as editor_lib
from maskgit_edit import guidance


def _pair(size=32):
  rng = np.random.default_rng(0)
  image = rng.random((size, size, 3)).astype(np.float32)
  guide = image.copy()
  guide[5:9, 10:20] = (1.0, 0.0, 0.0)
  return image, guide


def test_pixel_mask_from_difference_and_given_mask():
  image, guide = _pair()
  m = guidance.pixel_mask(image, guide)
  want = np.zeros((32, 32), bool)
  want[5:9, 10:20] = True
  np.testing.assert_array_equal(m, want)
  given = np.zeros((32, 32), np.float32)
  given[0:2, 0:2] = 1.0
  np.testing.assert_array_equal(guidance.pixel_mask(image, guide, given),
                                given > 0.5)


def test_sub_8bit_differences_are_not_edits():
  image, _ = _pair()
  image = np.round(image * 255) / 255
  with pytest.raises(guidance.GuidanceError, match="identical"):
    guidance.pixel_mask(image, image + 1e-4)


@pytest.mark.parametrize("case", ["empty_mask", "identical", "size"])
def test_pixel_mask_errors(case):
  image, guide = _pair()
  with pytest.raises(guidance.GuidanceError):
    if case == "empty_mask":
      guidance.pixel_mask(image, guide, np.zeros((32, 32)))
    elif case == "identical":
      guidance.pixel_mask(image, image.copy())
    else:
      guidance.pixel_mask(image, guide[:16])


def test_token_mask_and_dilation():
  m = np.zeros((32, 32), bool)
  m[5, 9] = True  # patch (1, 2) with f=4
  e = guidance.token_mask(m, 4)
  assert e.shape == (8, 8) and e.sum() == 1 and e[1, 2]
  e1 = guidance.token_mask(m, 4, dilation=1)
  assert e1.sum() == 9 and e1[0:3, 1:4].all()
  corner = np.zeros((32, 32), bool)
  corner[0, 0] = True
  assert guidance.token_mask(corner, 4, dilation=1).sum() == 4


def test_bucket():
  assert [editor_lib.bucket(n, 16) for n in (1, 4, 5, 9, 13, 16)] == [
      2, 4, 6, 10, 14, 16]
  assert editor_lib.bucket(3, 8) == 3
  assert editor_lib.bucket(30, 32) == 32


def _windows(side, factor, edit, **kw):
  fake = types.SimpleNamespace(model=types.SimpleNamespace(side=side,
                                                           factor=factor))
  opts = editor_lib.EditOptions(patch_local=True, **kw)
  return editor_lib.Editor._windows(fake, edit, opts)


def test_patch_local_windows_hold_e_and_the_feather_band():
  # The ImageNet-256 grid (16 x 16 tokens of 16 px), a 7 x 6-token stroke:
  # with no margins the transformer sees only E's box (8 after bucketing)
  # while the tokenizer window also holds the 8 px feather band (1 token).
  e = np.zeros((1, 16, 16), bool)
  e[0, 5:12, 4:10] = True
  ws, cws, win, ctx = _windows(16, 16, e, feather=8, window_margin=0,
                               decoder_margin=0)
  assert (ws[0], cws[0]) == (8, 10)
  ws, cws, _, _ = _windows(16, 16, e, feather=8, window_margin=1,
                           decoder_margin=1)
  assert (ws[0], cws[0]) == (10, 12)
  rng = np.random.default_rng(0)
  for side, factor, feather in ((16, 16, 8), (8, 8, 8), (16, 4, 10)):
    for _ in range(50):
      e = np.zeros((1, side, side), bool)
      r, c = rng.integers(0, side, 2)
      h, w = rng.integers(1, side + 1, 2)
      e[0, r:r + h, c:c + w] = True
      wm, dm = rng.integers(0, 3, 2)
      ws, cws, win, ctx = _windows(side, factor, e, feather=int(feather),
                                   window_margin=int(wm),
                                   decoder_margin=int(dm))
      rows, cols = np.flatnonzero(e[0].any(1)), np.flatnonzero(e[0].any(0))
      band = -(-feather // factor)
      inside = lambda lo, hi, off, n: off <= max(0, lo) and min(side, hi) <= (
          off + n)
      (t, l), (ct, cl), w, cw = win[0], ctx[0], ws[0], cws[0]
      assert editor_lib.bucket(w, side) == w and w <= cw <= side
      assert 0 <= t <= side - w and 0 <= ct <= side - cw
      assert inside(rows[0] - wm, rows[-1] + 1 + wm, t, w)
      assert inside(cols[0] - wm, cols[-1] + 1 + wm, l, w)
      assert inside(t, t + w, ct, cw) and inside(l, l + w, cl, cw)
      assert inside(rows[0] - band, rows[-1] + 1 + band, ct, cw)
      assert inside(cols[0] - band, cols[-1] + 1 + band, cl, cw)


def test_codebook_kernels():
  cb = np.random.default_rng(0).normal(size=(16, 4)).astype(np.float32)
  k = np.asarray(guidance.codebook_log_kernel(cb))
  assert k.shape == (16, 16)
  np.testing.assert_allclose(np.diag(k), 0.0, atol=1e-5)
  assert (k.argmax(1) == np.arange(16)).all()
  p = np.asarray(guidance.pilot_codebook_kernel(cb))
  np.testing.assert_allclose(p, -((cb[:, None] - cb[None]) ** 2).mean(-1),
                             rtol=1e-4, atol=1e-4)


def test_appearance_kernel_prefers_matching_code():
  app = np.random.default_rng(1).random((10, 12)).astype(np.float32)
  guide = app[[3, 7]].reshape(1, 1, 2, 12)
  logk = np.asarray(guidance.appearance_log_kernel(app, guide, 0.1))
  assert logk.shape == (1, 2, 10)
  assert logk[0].argmax(-1).tolist() == [3, 7]
  pooled = np.asarray(guidance.pool_patches(
      np.ones((1, 8, 8, 3), np.float32), 4, 2))
  assert pooled.shape == (1, 2, 2, 12)


def test_learned_kernel_file(tmp_path):
  good = tmp_path / "k.npy"
  np.save(good, np.zeros((8, 8), np.float32))
  assert guidance.load_learned_kernel(str(good), 8).shape == (8, 8)
  with pytest.raises(guidance.GuidanceError, match="shape"):
    guidance.load_learned_kernel(str(good), 4)
  bad = tmp_path / "nan.npy"
  np.save(bad, np.full((4, 4), np.nan, np.float32))
  with pytest.raises(guidance.GuidanceError, match="non-finite"):
    guidance.load_learned_kernel(str(bad), 4)
  with pytest.raises(guidance.GuidanceError, match="not found"):
    guidance.load_learned_kernel(str(tmp_path / "none.npy"), 4)
  with pytest.raises(guidance.GuidanceError, match="needs a kernel"):
    guidance.load_learned_kernel("", 4)


def test_modes_on_read(tmp_path):
  """RGBA -> on white; greyscale -> replicated; 16-bit -> / 65535; masks."""
  rgba = np.zeros((4, 4, 4), np.uint8)
  rgba[..., 0] = 255
  rgba[:2, :, 3] = 255  # top half opaque red, bottom transparent
  Image.fromarray(rgba, "RGBA").save(tmp_path / "a.png")
  a = image_io.load_image(str(tmp_path / "a.png"))
  np.testing.assert_allclose(a[0, 0], (1, 0, 0))
  np.testing.assert_allclose(a[3, 0], (1, 1, 1))
  rgba[..., :3] = 255
  Image.fromarray(rgba, "RGBA").save(tmp_path / "m.png")
  m = batch.load_mask(str(tmp_path / "m.png"))  # transparent = not edited
  assert (m[:2] == 1).all() and (m[2:] == 0).all()
  g16 = np.full((4, 4), 65535, np.uint16)
  Image.fromarray(g16).save(tmp_path / "g16.png")
  np.testing.assert_allclose(image_io.load_image(str(tmp_path / "g16.png")),
                             1.0)
  assert (batch.load_mask(str(tmp_path / "g16.png")) == 1.0).all()
  Image.fromarray(np.full((4, 4), 128, np.uint8), "L").save(
      tmp_path / "l.png")
  l = image_io.load_image(str(tmp_path / "l.png"))
  assert l.shape == (4, 4, 3) and np.allclose(l, 128 / 255)
  (tmp_path / "bad.png").write_text("not an image")
  with pytest.raises(image_io.ImageError):
    image_io.load_image(str(tmp_path / "bad.png"))
  with pytest.raises(image_io.ImageError):
    batch.load_mask(str(tmp_path / "bad.png"))
