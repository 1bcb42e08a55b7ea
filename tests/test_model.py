"""Generation and box editing through the Python API."""

import numpy as np
import pytest

from maskgit import compositing
from maskgit import model as model_lib


def _images(n=2, seed=0):
  return np.random.default_rng(seed).random((n, 32, 32, 3)).astype(
      np.float32)


def test_generate_deterministic_and_shaped(tiny_model):
  a = tiny_model.generate([0, 5, 9], seed=7, num_iter=6)
  b = tiny_model.generate([0, 5, 9], seed=7, num_iter=6)
  c = tiny_model.generate([0, 5, 9], seed=8, num_iter=6)
  assert a.shape == (3, 32, 32, 3) and a.dtype == np.float32
  assert a.min() >= 0 and a.max() <= 1
  np.testing.assert_array_equal(a, b)
  assert not np.array_equal(a, c)


@pytest.mark.parametrize("labels", [[10], [-1], [0, 99]])
def test_label_out_of_range(tiny_model, labels):
  with pytest.raises(ValueError, match="out of range"):
    tiny_model.generate(labels)


def test_box_to_latent_mask_official_rule():
  m = model_lib.box_to_latent_mask((64, 32, 128, 144), 256, 16)
  rows, cols = np.where(m.any(1))[0], np.where(m.any(0))[0]
  assert (rows.min(), rows.max() + 1) == (3, 13)
  assert (cols.min(), cols.max() + 1) == (1, 12)
  m = model_lib.box_to_latent_mask((0, 0, 256, 256), 256, 16)
  assert m.all()


@pytest.mark.parametrize("box", [(-1, 0, 8, 8), (0, 0, 40, 8), (28, 28, 8, 8),
                                 (0, 0, 0, 8)])
def test_box_outside_image(tiny_model, box):
  with pytest.raises(ValueError, match="Box"):
    tiny_model.box_edit(_images(1), box, 1)


def test_wrong_image_size(tiny_model):
  with pytest.raises(ValueError, match=r"\[B, 32, 32, 3\]"):
    tiny_model.box_edit(np.zeros((1, 64, 64, 3)), (0, 0, 8, 8), 1)
  with pytest.raises(ValueError, match="out of range"):
    tiny_model.box_edit(_images(1), (0, 0, 8, 8), 10)


def test_box_edit_changes_only_box_tokens(tiny_model):
  images = _images(2)
  box = (8, 8, 8, 8)
  latent = model_lib.box_to_latent_mask(box, 32, 4)
  before = tiny_model.encode(images)
  out = tiny_model.box_edit(images, box, 3, seed=1, blend="feather",
                            feather=0)
  # Pixels outside the box are bit-identical with a hard edge.
  outside = np.ones((32, 32), bool)
  outside[8:16, 8:16] = False
  np.testing.assert_array_equal(out[:, outside], images[:, outside])
  # Tokens outside the latent box are unchanged by decoding.
  seq = tiny_model.sequence(
      np.where(latent.reshape(1, -1), -1, before.reshape(2, -1)), [3, 3])
  toks = tiny_model.decode(seq, 1, model_lib.DecodeOptions(12, 2))
  np.testing.assert_array_equal(toks[:, 1:][:, ~latent.reshape(-1)],
                                before.reshape(2, -1)[:, ~latent.reshape(-1)])


def test_feather_keeps_pixels_beyond_band(tiny_model):
  images = _images(1)
  out = tiny_model.box_edit(images, (12, 12, 8, 8), 2, seed=0,
                            blend="feather", feather=3)
  far = compositing.feather_mask(
      np.pad(np.ones((8, 8), bool), 12), 3) == 0
  assert far.sum() > 0
  np.testing.assert_array_equal(out[0][far], images[0][far])
  assert not np.array_equal(out, images)


def test_official_blend_matches_release_values():
  # Release facts: at 512 px, m = 0.32 at 16 px and 0.07 at 48 px outside the
  # regenerated (latent) box.
  box = (128, 64, 256, 288)
  latent = model_lib.box_to_latent_mask(box, 512, 16)
  m = compositing.official_blend_mask(latent, 512)
  top = np.where(latent.any(1))[0].min() * 16
  col = box[1] + box[3] // 2
  assert abs(m[top - 16, col] - 0.32) < 0.01
  assert abs(m[top - 48, col] - 0.07) < 0.01
  assert m[0, col] == 0 and m[box[0] + 64, col] == 1.0


def test_feather_mask_values():
  mask = np.zeros((9, 9), bool)
  mask[4, 4] = True
  w = compositing.feather_mask(mask, 2)
  # Euclidean distance: the diagonal neighbour is sqrt(2) px away.
  assert w[4, 4] == 1 and w[3, 3] == pytest.approx(1 - np.sqrt(2) / 3)
  assert w[2, 4] == pytest.approx(1 / 3) and w[1, 4] == 0
