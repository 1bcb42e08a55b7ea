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
