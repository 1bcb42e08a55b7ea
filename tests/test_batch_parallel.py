"""Data parallelism in the editing loop: a batch split over the local devices
(8 fake CPU devices, tests/conftest.py) gives the one-device outputs, bit for
bit; items are sharded over processes by position."""

import jax
import numpy as np
import pytest

from maskgit_edit import editor as editor_lib
from maskgit_edit.batch import loop
from maskgit_edit.batch import parallel

OPTS = dict(method="sdedit", num_iter=4, start_iter=1, feather=2)


def _items(n):
  rng = np.random.default_rng(1)
  out = []
  for i in range(n):
    image = rng.random((32, 32, 3)).astype(np.float32)
    guide = image.copy()
    r = 2 + 3 * (i % 6)
    guide[r:r + 4 + i % 3, 4:12 + 2 * (i % 4)] = (0.1, 0.9, 0.3)
    out.append(loop.EditItem(name=f"e{i}", image=image, guide=guide,
                             label=i % 10, seed=7 + i))
  return out


@pytest.mark.parametrize("patch_local,batch_size", [(False, 8), (True, 5)])
def test_mesh_outputs_equal_one_device(tiny_model, patch_local, batch_size):
  assert len(jax.local_devices()) == 8  # tests/conftest.py's fake devices.
  items = _items(11)
  opts = editor_lib.EditOptions(patch_local=patch_local, **OPTS)
  one = editor_lib.Editor(tiny_model)
  many = editor_lib.Editor(tiny_model)
  assert parallel.use_mesh(many, parallel.local_mesh())
  assert parallel.mesh_size(many) == 8
  run = lambda ed: {o.item.name: o for o in loop.edit_items(
      ed, opts, items, strength=0.5, num_samples=2, batch_size=batch_size)}
  want, got = run(one), run(many)
  assert sorted(got) == sorted(want) == sorted(it.name for it in items)
  for name, o in want.items():
    np.testing.assert_array_equal(got[name].images, o.images)
    np.testing.assert_array_equal(got[name].weights, o.weights)
    np.testing.assert_array_equal(got[name].tokens.samples, o.tokens.samples)
  # The split program ran (batches were padded to whole blocks of 8).
  assert any(k[0] == "sharded" for k in many._cache if isinstance(k, tuple))
  assert not any(k[0] == "sharded" for k in one._cache
                 if isinstance(k, tuple))


def test_one_device_mesh_is_no_mesh_and_shards_cover_items(tiny_model):
  ed = editor_lib.Editor(tiny_model)
  assert parallel.use_mesh(ed, parallel.local_mesh(jax.local_devices()[:1]))
  assert ed.mesh is None and parallel.mesh_size(ed) == 1
  assert not parallel.use_mesh(object(), parallel.local_mesh())
  items = list(range(7))
  parts = [parallel.shard(items, i, 3) for i in range(3)]
  assert parts == [[0, 3, 6], [1, 4], [2, 5]]
  assert parallel.shard(items) == items  # One process: everything.
