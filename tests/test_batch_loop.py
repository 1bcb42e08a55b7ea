"""The one editing loop: batches equal one-at-a-time, bad items isolated."""

import numpy as np
import pytest

from maskgit_edit import editor as editor_lib
from maskgit_edit.batch import loop

OPTS = dict(method="sdedit", num_iter=4, start_iter=1, feather=2)


def _items(n, bad=()):
  rng = np.random.default_rng(0)
  out = []
  for i in range(n):
    image = rng.random((32, 32, 3)).astype(np.float32)
    guide = image.copy()
    if i not in bad:  # A bad item has nothing painted.
      r = 2 + 3 * (i % 6)
      guide[r:r + 4 + i % 3, 4:12 + 2 * (i % 4)] = (1.0, 0.2, 0.0)
    out.append(loop.EditItem(name=f"e{i}", image=image, guide=guide,
                             label=i % 10, seed=100 + i))
  return out


@pytest.fixture(scope="module")
def editor(tiny_model):
  return editor_lib.Editor(tiny_model)


@pytest.mark.parametrize("patch_local", [False, True])
def test_batches_equal_one_at_a_time(editor, patch_local):
  items = _items(7)
  opts = editor_lib.EditOptions(patch_local=patch_local, **OPTS)
  batched = {o.name if hasattr(o, "name") else o.item.name: o
             for o in loop.edit_items(editor, opts, items, strength=0.5,
                                      num_samples=2, batch_size=3)}
  assert len(batched) == 7
  assert {o.batch for o in batched.values()} <= {1, 2, 3}
  for it in items:
    alone, = loop.edit_items(editor, opts, [it], strength=0.5,
                             num_samples=2, batch_size=1)
    np.testing.assert_array_equal(batched[it.name].images, alone.images)


def test_bad_items_are_failures_not_batch_errors(editor):
  items = _items(5, bad=(1, 3))
  lazy = [lambda it=it: it for it in items]
  lazy[4] = _Broken("e4")
  outs = list(loop.edit_items(editor, editor_lib.EditOptions(**OPTS), lazy,
                              strength=0.5, batch_size=2))
  failures = sorted(o.name for o in outs if isinstance(o, loop.ItemFailure))
  done = sorted(o.item.name for o in outs if isinstance(o, loop.ItemOutput))
  assert failures == ["e1", "e3", "e4"] and done == ["e0", "e2"]
  bad = next(o for o in outs if isinstance(o, loop.ItemFailure)
             and o.name == "e1")
  assert "identical" in str(bad.error)
  with pytest.raises(ValueError, match="batch_size"):
    list(loop.edit_items(editor, None, items, batch_size=0))


class _Broken:
  """A lazy item whose file cannot be read."""

  def __init__(self, name):
    self.name = name

  def __call__(self):
    raise OSError(f"{self.name}: cannot read")


def test_isolate_errors_reruns_one_at_a_time(editor, monkeypatch):
  items = _items(3)
  real = editor.edit
  calls = []

  def flaky(images, *a, **kw):
    calls.append(len(images))
    if len(images) > 1 or np.array_equal(images[0], items[1].image):
      raise RuntimeError("device fault")
    return real(images, *a, **kw)
  monkeypatch.setattr(editor, "edit", flaky)
  opts = editor_lib.EditOptions(**OPTS)
  with pytest.raises(RuntimeError, match="device fault"):
    list(loop.edit_items(editor, opts, items, batch_size=3))
  outs = list(loop.edit_items(editor, opts, items, batch_size=3,
                              isolate_errors=True))
  assert sorted(type(o).__name__ for o in outs) == [
      "ItemFailure", "ItemOutput", "ItemOutput"]
