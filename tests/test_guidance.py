"""Guidance: pixel mask, E, kernels, mask/mode handling on read."""

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
