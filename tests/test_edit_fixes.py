"""Regression tests for the editing fixes of issue 16 (tiny model)."""

import numpy as np
from scipy import ndimage

from maskgit import compositing
from maskgit_edit import editor as editor_lib

OPTS = dict(num_iter=6, start_iter=1)


def _inputs(n=3, size=32):
  rng = np.random.default_rng(0)
  images = rng.random((n, size, size, 3)).astype(np.float32)
  guides = images.copy()
  guides[0, 5:8, 6:10] = (1.0, 0.0, 0.0)
  guides[1, 14:20, 12:22] = (0.0, 0.2, 1.0)
  if n > 2:
    guides[2, 2:30, 20:28] = (0.1, 0.9, 0.1)
  return images, guides


def test_feather_band_is_euclidean():
  """The README promise: pixels farther than `feather` px (Euclidean) from an
  edited pixel are untouched; the weight ramps smoothly with distance."""
  mask = np.zeros((40, 40), bool)
  mask[20, 20] = True
  w = compositing.feather_mask(mask, 8)
  dist = ndimage.distance_transform_edt(~mask)
  assert (w[dist > 8] == 0).all()
  assert (w[dist <= 8] > 0).all()
  np.testing.assert_allclose(w[dist <= 8], 1 - dist[dist <= 8] / 9, atol=1e-6)


def test_feather_promise_through_the_editor(tiny_model):
  images, guides = _inputs(2)
  ed = editor_lib.Editor(tiny_model)
  for patch_local in (False, True):
    res = ed.edit(images, guides, strength=0.7, num_samples=2,
                  options=editor_lib.EditOptions(
                      method="sdedit", feather=5, patch_local=patch_local,
                      **OPTS))
    for n in range(2):
      far = ndimage.distance_transform_edt(~res.pixel_masks[n]) > 5
      for s in range(2):
        np.testing.assert_array_equal(res.images[n, s][far], images[n][far])


def test_same_seed_same_result_whatever_the_batch(tiny_model):
  """An item's samples do not depend on what else is in the batch."""
  images, guides = _inputs(3)
  ed = editor_lib.Editor(tiny_model)
  for patch_local in (False, True):
    opts = editor_lib.EditOptions(method="sdedit", feather=2,
                                  patch_local=patch_local, **OPTS)
    batch = ed.edit(images, guides, labels=[1, 2, 3], strength=0.6, seed=5,
                    num_samples=2, options=opts)
    alone = ed.edit(images[1:2], guides[1:2], labels=2, strength=0.6, seed=5,
                    num_samples=2, options=opts)
    np.testing.assert_array_equal(batch.images[1], alone.images[0])
    np.testing.assert_array_equal(batch.tokens[1], alone.tokens[0])
    np.testing.assert_array_equal(batch.window_offsets[1],
                                  alone.window_offsets[0])
    # Per-item seeds: item 1 with seed 5 inside a batch seeded [0, 5, 0].
    mixed = ed.edit(images, guides, labels=[1, 2, 3], strength=0.6,
                    seed=[0, 5, 0], num_samples=2, options=opts)
    np.testing.assert_array_equal(mixed.images[1], alone.images[0])

