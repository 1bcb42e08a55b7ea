"""The simulated-edit benchmark: determinism, kinds, manifest round trip."""

import json
import os

import numpy as np
import pytest

from maskgit_edit import batch
from maskgit_edit import benchmark_set as bs

_SLICE = os.path.join(os.path.dirname(__file__), "data",
                      "emoji_test_slice.npz")


@pytest.fixture(scope="module")
def data():
  with np.load(_SLICE) as f:
    return f["test_image"][:3], f["test_label"][:3], f["test_id"][:3]


@pytest.fixture(scope="module")
def edits(data):
  return bs.build(*data, seed=0)


def test_deterministic_and_seed_dependent(data, edits):
  again = bs.build(*data, seed=0)
  other = bs.build(*data, seed=1)
  for a, b in zip(edits, again):
    assert a.name == b.name
    np.testing.assert_array_equal(a.guide, b.guide)
    np.testing.assert_array_equal(a.mask, b.mask)
  assert any(not np.array_equal(a.guide, b.guide)
             for a, b in zip(edits, other))
  # An image's edits do not depend on which other images are built.
  alone = bs.build(*data, seed=0, indices=[2])
  for e in alone:
    twin = next(x for x in edits if x.name == e.name)
    np.testing.assert_array_equal(e.guide, twin.guide)


def test_kinds(data, edits):
  images = data[0]
  assert [e.kind for e in edits] == [k for k in bs.KINDS for _ in range(3)]
  for e in edits:
    img = images[e.index]
    assert e.guide.dtype == np.uint8 and e.mask.dtype == bool
    assert e.mask.any()
    # Pixels outside the mask are the image's.
    np.testing.assert_array_equal(e.guide[~e.mask], img[~e.mask])
    frac = e.mask.mean()
    if e.kind == "global":
      assert e.mask.all()
    elif e.kind == "local":
      assert bs.LOCAL_AREA[0] - 0.02 <= frac <= bs.LOCAL_AREA[1] + 0.02
      rows, cols = np.flatnonzero(e.mask.any(1)), np.flatnonzero(
          e.mask.any(0))
      assert e.mask.sum() == len(rows) * len(cols)  # A rectangle.
    else:
      assert frac < 1
    assert e.has_truth == (e.kind != "segment_counterfactual")
  inv = {e.index: e for e in edits if e.kind == "segment_inversion"}
  for e in edits:
    if e.kind == "segment_counterfactual":
      np.testing.assert_array_equal(e.mask, inv[e.index].mask)  # Same seg.
      assert len(np.unique(e.guide[e.mask], axis=0)) == 1  # Flat colour.


def test_write_load_and_sample_edit_reads_manifest(tmp_path, edits):
  path = bs.write(edits, str(tmp_path / "set"))
  loaded = bs.load(path)
  assert loaded.names == [e.name for e in edits]
  np.testing.assert_array_equal(loaded.guides, np.stack([e.guide
                                                         for e in edits]))
  np.testing.assert_array_equal(loaded.masks, np.stack([e.mask
                                                        for e in edits]))
  items, errors = batch.discover(path)  # sample_edit.py's parser.
  assert not errors and len(items) == len(edits)
  image, guide, mask = batch.load_item(items[0], 64, False)
  np.testing.assert_allclose(guide * 255, edits[0].guide, atol=1e-3)
  np.testing.assert_array_equal(mask > 0.5, edits[0].mask)
  with open(path) as f:
    rec = json.loads(f.readline())
  assert {"kind", "truth", "label", "name"} <= set(rec)


def test_ensure_refuses_other_settings(tmp_path):
  out = str(tmp_path / "b")
  path = bs.ensure(_SLICE, out, split="test", seed=0, limit=1)
  assert bs.ensure(_SLICE, out, split="test", seed=0, limit=1) == path
  with pytest.raises(ValueError, match="delete it"):
    bs.ensure(_SLICE, out, split="test", seed=1, limit=1)


def test_bad_kind(data):
  with pytest.raises(ValueError, match="Unknown kind"):
    bs.build(*data, kinds=("blob",))
