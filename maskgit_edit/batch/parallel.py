"""Batch editing over devices and hosts: the local mesh and the item shards.

* Local devices: `local_mesh()` is a 1-D `jax.sharding.Mesh` over axis
  'data' of this process's devices. `use_mesh(editor, mesh)` hands it to an
  editor that can split a batch over it (the MaskGIT `Editor`; others run on
  one device); the editing loop pads each batch to a multiple of the mesh
  size, and the outputs are bit-identical to one device's.
* Hosts: started like train.py (`--distributed`, JAX_COORDINATOR_ADDRESS,
  JAX_NUM_PROCESSES, JAX_PROCESS_ID, SLURM / TPU pod detection; the one
  start-up is `maskgit.training.distributed`). Every process lists the same
  items; `shard(items)` keeps those with index % process_count ==
  process_index, so each item has one owner, which skips it when it is done
  already (per-item resume). No device collective runs while editing: each
  process edits its shard on its own devices. `wait_for_all` is the
  coordination-service barrier the primary waits at before writing the
  run's summary.
"""

from __future__ import annotations

from typing import Any, Sequence, TypeVar

import jax
import numpy as np

from maskgit.training import distributed

T = TypeVar("T")


def local_mesh(devices: Sequence[Any] | None = None) -> jax.sharding.Mesh:
  """A 1-D mesh over 'data' of `devices` (default: this process's)."""
  devices = list(jax.local_devices() if devices is None else devices)
  return jax.sharding.Mesh(np.asarray(devices), ("data",))


def use_mesh(editor, mesh: jax.sharding.Mesh | None) -> bool:
  """Gives `editor` the mesh if it can split batches over one.

  Returns whether it can (editors with a `mesh` attribute, e.g. the MaskGIT
  `Editor`); a one-device mesh is the same as none.
  """
  if not hasattr(editor, "mesh"):
    return False
  editor.mesh = mesh if mesh is not None and mesh.size > 1 else None
  return True


def mesh_size(editor) -> int:
  """Devices the editor splits a batch over (1 without a mesh)."""
  mesh = getattr(editor, "mesh", None)
  return 1 if mesh is None else int(mesh.size)


def shard(items: Sequence[T], index: int | None = None,
          count: int | None = None) -> list[T]:
  """This process's items: those with position % count == index.

  Defaults: `jax.process_index()` of `jax.process_count()`. Every process
  must pass the same list in the same order (the runner's discovery is
  sorted).
  """
  index = jax.process_index() if index is None else index
  count = jax.process_count() if count is None else count
  return [x for i, x in enumerate(items) if i % count == index]


def initialize(mode: str = "auto", **kwargs) -> bool:
  """Multi-host start-up, as train.py's (`maskgit.training.distributed`)."""
  return distributed.initialize(mode, **kwargs)


def wait_for_all(name: str, timeout_s: int = 24 * 3600) -> None:
  """Waits until every process reaches `name` (no-op with one process)."""
  distributed.barrier(name, timeout_s)
