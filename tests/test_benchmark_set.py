"""The simulated-edit benchmark and its splits: determinism, kinds, manifest."""

import json
import os

import numpy as np
import pytest

from maskgit_edit import batch
from maskgit_edit.evaluation import benchmark_set as bs
from maskgit_edit.evaluation import splits

_DATA = os.path.join(os.path.dirname(__file__), "data")
_BOTH = ",".join(os.path.join(_DATA, f) for f in (
    "emoji_train_slice.npz", "emoji_test_slice.npz"))


@pytest.fixture(scope="module")
def parts():
  return splits.derive(_BOTH)


@pytest.fixture(scope="module")
def edits(parts):
  return bs.build(parts["test"], "test", seed=0, indices=range(4))


def test_splits_are_disjoint_and_by_code_point(parts):
  ids = {k: set(v.ids) for k, v in parts.items()}
  for a in splits.SPLITS:
    for b in splits.SPLITS:
      if a < b:
        assert not ids[a] & ids[b]
  assert len(parts["val"]) and len(parts["test"]) and len(parts["reference"])
  # The split of an image depends on its id alone.
  for k, v in parts.items():
    src = "test" if k in ("val", "test") else "train"
    assert all(splits.which(i, src) == k for i in v.ids)


def test_deterministic_and_seed_dependent(parts, edits):
  again = bs.build(parts["test"], "test", seed=0, indices=range(4))
  other = bs.build(parts["test"], "test", seed=1, indices=range(4))
  for a, b in zip(edits, again):
    assert a.name == b.name
    np.testing.assert_array_equal(a.guide, b.guide)
    np.testing.assert_array_equal(a.image, b.image)
  assert any(not np.array_equal(a.guide, b.guide)
             for a, b in zip(edits, other))
  # An image's edits do not depend on which other images are built.
  alone = bs.build(parts["test"], "test", seed=0, indices=[2])
  for e in alone:
    twin = next(x for x in edits if x.name == e.name)
    np.testing.assert_array_equal(e.guide, twin.guide)


def test_kinds(parts, edits):
  images = parts["test"].images
  assert [e.kind for e in edits] == [k for k in bs.KINDS for _ in range(4)]
  for e in edits:
    t = images[e.index]
    assert e.guide.dtype == np.uint8 and e.mask.dtype == bool
    assert e.mask.any()
    # Outside the mask, input = guide (= the truth for restore kinds).
    np.testing.assert_array_equal(e.guide[~e.mask], e.image[~e.mask])
    if e.kind in bs.TRUTH_KINDS:
      np.testing.assert_array_equal(e.truth, t)
      np.testing.assert_array_equal(e.image[~e.mask], t[~e.mask])
      # The input holds a distractor in the mask: the no-op is wrong there.
      assert bs._changed_fraction(e.image, t, e.mask) > 0.1  # pylint: disable=protected-access
      assert e.distractor and e.distractor != e.id
    else:
      assert e.truth is None
      np.testing.assert_array_equal(e.image, t)
      assert len(np.unique(e.guide[e.mask], axis=0)) == 1  # Flat colour.
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


def test_write_load_and_sample_edit_reads_manifest(tmp_path, edits):
  path = bs.write(edits, str(tmp_path / "set"))
  loaded = bs.load(path)
  assert loaded.names == [e.name for e in edits]
  for field in ("images", "guides", "masks"):
    np.testing.assert_array_equal(getattr(loaded, field), np.stack(
        [getattr(e, field[:-1]) for e in edits]))
  np.testing.assert_array_equal(loaded.has_truth,
                                [e.truth is not None for e in edits])
  items, errors = batch.discover(path)  # sample_edit.py's parser.
  assert not errors and len(items) == len(edits)
  _, guide, mask = batch.load_item(items[0], 64, False)
  np.testing.assert_allclose(guide * 255, edits[0].guide, atol=1e-3)
  np.testing.assert_array_equal(mask > 0.5, edits[0].mask)
  with open(path) as f:
    rec = json.loads(f.readline())
  assert {"kind", "truth", "label", "name", "split"} <= set(rec)


def test_ensure_refuses_other_settings(tmp_path):
  out = str(tmp_path / "b")
  sp = str(tmp_path / "splits.npz")
  path = bs.ensure(_BOTH, out, seed=0, limit=1, splits_path=sp)
  assert bs.ensure(_BOTH, out, seed=0, limit=1, splits_path=sp) == path
  assert len(bs.load(path)) == 2 * len(bs.KINDS)  # 1 val + 1 test image.
  with pytest.raises(ValueError, match="delete it"):
    bs.ensure(_BOTH, out, seed=1, limit=1, splits_path=sp)


def test_bad_kind(parts):
  with pytest.raises(ValueError, match="Unknown kind"):
    bs.build(parts["test"], "test", kinds=("blob",))
