"""The mesh and every partitioning decision of training, in one module.

Mesh: named axes from the config, e.g. `(("data", -1), ("fsdp", 1))` (-1 takes
the remaining devices), built with `AxisType.Auto` so that Linen's logical
constraints keep working.

Parameters and optimizer state (FSDP): the nets carry no partitioning
annotations (their parameter trees must stay the official ones), so specs come
from a rule over (path, shape): an array with at least `min_shard_size`
elements is split over 'fsdp' along its largest dimension divisible by the
'fsdp' size, never along the stacked-layer axis of `nn.scan` parameters;
smaller arrays and scalars are replicated. Optimizer moments have the shapes
and (suffix) paths of the parameters, so they get the same specs.

Batches: the leading (example) axis is split over ('data', 'fsdp').
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import jax
from jax.sharding import AxisType
from jax.sharding import NamedSharding
from jax.sharding import PartitionSpec as P
import numpy as np

from maskgit.training import ConfigError

PyTree = Any
BATCH_AXES = ("data", "fsdp")
FSDP_AXIS = "fsdp"
# Arrays smaller than this stay replicated (biases, norms, scalars): sharding
# them saves nothing and costs collectives.
MIN_SHARD_SIZE = 1024
# Path components whose leaves carry a leading stacked-layer axis.
_STACKED = ("TransformerLayers",)


def make_mesh(axes: Sequence[Sequence[Any]],
              devices: Sequence[jax.Device] | None = None) -> jax.sharding.Mesh:
  """Builds a mesh from `((name, size), ...)`; one size may be -1.

  Raises ConfigError when the sizes do not multiply to the device count.
  """
  devices = list(jax.devices() if devices is None else devices)
  names = tuple(str(a[0]) for a in axes)
  sizes = [int(a[1]) for a in axes]
  if set(names) != set(BATCH_AXES):
    raise ConfigError(f"config.mesh must name the axes {BATCH_AXES}, got "
                      f"{names}.")
  if sizes.count(-1) > 1:
    raise ConfigError(f"config.mesh: at most one axis may be -1, got {axes}.")
  known = math.prod(s for s in sizes if s != -1)
  if -1 in sizes:
    if known <= 0 or len(devices) % known:
      raise ConfigError(f"config.mesh {tuple(map(tuple, axes))} does not fit "
                        f"{len(devices)} devices.")
    sizes[sizes.index(-1)] = len(devices) // known
  if math.prod(sizes) != len(devices):
    raise ConfigError(f"config.mesh {tuple(map(tuple, axes))} needs "
                      f"{math.prod(sizes)} devices, have {len(devices)}.")
  return jax.make_mesh(tuple(sizes), names,
                       axis_types=(AxisType.Auto,) * len(names),
                       devices=devices)


def _path_names(path) -> list[str]:
  out = []
  for k in path:
    for attr in ("key", "name", "idx"):
      if hasattr(k, attr):
        out.append(str(getattr(k, attr)))
        break
  return out


def leaf_spec(path, shape: Sequence[int], fsdp_size: int,
              min_shard_size: int = MIN_SHARD_SIZE) -> P:
  """The PartitionSpec the FSDP rule gives one array (see module doc)."""
  shape = tuple(shape)
  if fsdp_size <= 1 or not shape or math.prod(shape) < min_shard_size:
    return P()
  first = 1 if any(n in _STACKED for n in _path_names(path)) else 0
  best = None
  for d in range(first, len(shape)):
    if shape[d] % fsdp_size == 0 and (best is None or shape[d] > shape[best]):
      best = d
  if best is None:
    return P()
  return P(*([None] * best + [FSDP_AXIS]))


def tree_specs(tree: PyTree, mesh: jax.sharding.Mesh,
               min_shard_size: int = MIN_SHARD_SIZE) -> PyTree:
  """PartitionSpecs for every leaf of `tree` (arrays or ShapeDtypeStructs)."""
  fsdp = mesh.shape.get(FSDP_AXIS, 1)
  return jax.tree_util.tree_map_with_path(
      lambda p, x: leaf_spec(p, np.shape(x), fsdp, min_shard_size), tree)


def tree_shardings(tree: PyTree, mesh: jax.sharding.Mesh,
                   min_shard_size: int = MIN_SHARD_SIZE) -> PyTree:
  """NamedShardings for every leaf of `tree` by the FSDP rule."""
  return jax.tree.map(lambda s: NamedSharding(mesh, s),
                      tree_specs(tree, mesh, min_shard_size),
                      is_leaf=lambda x: isinstance(x, P))


def batch_sharding(mesh: jax.sharding.Mesh) -> NamedSharding:
  """Examples split over ('data', 'fsdp'); other axes whole."""
  return NamedSharding(mesh, P(BATCH_AXES))


def replicated(mesh: jax.sharding.Mesh) -> NamedSharding:
  return NamedSharding(mesh, P())


def batch_divisor(mesh: jax.sharding.Mesh) -> int:
  """The global batch must be a multiple of this."""
  return math.prod(mesh.shape[a] for a in BATCH_AXES)


def put_tree(tree: PyTree, mesh: jax.sharding.Mesh) -> PyTree:
  """Places a host tree (e.g. frozen params) with the FSDP rule's shardings."""
  return jax.device_put(tree, tree_shardings(tree, mesh))


def global_batch(local: dict[str, np.ndarray],
                 mesh: jax.sharding.Mesh) -> dict[str, jax.Array]:
  """Per-process numpy batch -> global arrays split over the batch axes."""
  sharding = batch_sharding(mesh)
  return {k: jax.make_array_from_process_local_data(sharding, np.asarray(v))
          for k, v in local.items()}
