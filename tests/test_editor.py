"""The MaskGIT editor on the tiny model: feathering, batches, appearance."""

import pathlib

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
    np.testing.assert_array_equal(batch.tokens.samples[1],
                                  alone.tokens.samples[0])
    np.testing.assert_array_equal(batch.tokens.offsets[1],
                                  alone.tokens.offsets[0])
    # Per-item seeds: item 1 with seed 5 inside a batch seeded [0, 5, 0].
    mixed = ed.edit(images, guides, labels=[1, 2, 3], strength=0.6,
                    seed=[0, 5, 0], num_samples=2, options=opts)
    np.testing.assert_array_equal(mixed.images[1], alone.images[0])


def _blurred_rmse(res, guides) -> float:
  """Blurred (sigma 2 px) RMSE to the guide inside the edit, 8-bit levels:
  per edit over its samples, then the mean over edits."""
  blur = lambda x: ndimage.gaussian_filter(x, (0, 0, 2, 2, 0), mode="nearest")
  m = res.pixel_masks[:, None, ..., None]
  sq = (blur(res.images) - blur(guides[:, None])) ** 2 * m
  per_edit = np.sqrt(sq.sum((1, 2, 3, 4))
                     / (3 * m.sum((1, 2, 3, 4)) * res.images.shape[1]))
  return float(per_edit.mean() * 255)


def test_self_fixed_faithfulness_improves_as_strength_decreases():
  """self_fixed (appearance kernel, embedded model, the 14 bundled examples):
  each step down in strength follows the paint measurably better (blurred
  RMSE to the guide in the edit drops by >= 1 level per step)."""
  from maskgit import embedded  # pylint: disable=g-import-not-at-top
  from maskgit_edit import batch  # pylint: disable=g-import-not-at-top
  model = embedded.load()
  items, _ = batch.discover(str(pathlib.Path(__file__).resolve().parents[1]
                                / "examples" / "edits.jsonl"))
  data = [batch.load_item(it, model.image_size, False) for it in items]
  images, guides = (np.stack([d[k] for d in data]) for k in (0, 1))
  ed = editor_lib.Editor(model)
  opts = editor_lib.EditOptions(method="self_fixed")
  rmse = [_blurred_rmse(ed.edit(
      images, guides, [d[2] for d in data],
      labels=[it.label or 0 for it in items], strength=s, seed=0,
      num_samples=2, options=opts), guides)
          for s in (0.9, 0.7, 0.5, 0.3, 0.1)]
  assert np.all(np.diff(rmse) <= -1.0), np.round(rmse, 2)


def test_appearance_table_tied_to_its_tokenizer(tiny_model, tmp_path):
  """The shipped table fits only its tokenizer; other models fall back to
  codes decoded alone with a warning, or use a table made for them."""
  import pytest  # pylint: disable=g-import-not-at-top
  from maskgit_edit import guidance  # pylint: disable=g-import-not-at-top
  from maskgit_edit.samplers import self_fixed  # pylint: disable=g-import-not-at-top
  ed = editor_lib.Editor(tiny_model)
  with pytest.raises(guidance.GuidanceError, match="not made for this"):
    self_fixed.code_appearance(ed, 2, self_fixed.default_table_path())
  with pytest.warns(UserWarning, match="no code-appearance table"):
    alone = self_fixed.code_appearance(ed, 2)
  images = np.random.default_rng(0).random((4, 32, 32, 3)).astype(np.float32)
  table, counts = self_fixed.appearance_in_context(tiny_model, images)
  assert counts.sum() == 4 * tiny_model.side ** 2
  path = str(tmp_path / "t.npz")
  self_fixed.save_appearance_table(path, tiny_model, table, counts)
  own = self_fixed.code_appearance(editor_lib.Editor(tiny_model), 2, path)
  assert own.shape == alone.shape
  unused = counts == 0
  np.testing.assert_allclose(own.reshape(len(counts), -1)[unused],
                             alone.reshape(len(counts), -1)[unused],
                             atol=1e-6)
