"""One orbax CheckpointManager per workdir: state + data position + config.

Items of a checkpoint at step s (s optimiser steps done):
  state   - the TrainState arrays (StandardSave; restored against an abstract
            tree that carries the target shardings, so a different mesh
            reshards on restore);
  data    - the data iterator position of EVERY process, one file each
            (`process_<i>-of-<n>.json`, as grain's own handler writes), so
            each process resumes its own shard;
  config  - the run's config (JSON, for the record).
Saving is async; `wait_until_finished()` runs before the process exits.
"""

from __future__ import annotations

import dataclasses
import json
import os
from typing import Any

from etils import epath
import jax
import orbax.checkpoint as ocp

from maskgit.training import ConfigError

PyTree = Any


def _process_file(directory: epath.Path) -> epath.Path:
  i, n = jax.process_index(), jax.process_count()
  return epath.Path(directory) / f"process_{i}-of-{n}.json"


class DataStateHandler(ocp.CheckpointHandler):
  """Writes/reads this process's iterator state (bytes) in its own file."""

  def save(self, directory: epath.Path, args: "DataSave") -> None:
    path = _process_file(directory)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(args.state.decode("utf-8"))

  def restore(self, directory: epath.Path, args: "DataRestore" = None
              ) -> bytes:
    del args
    path = _process_file(directory)
    if not path.exists():
      found = sorted(p.name for p in epath.Path(directory).glob("*.json"))
      raise ConfigError(
          f"No data position for process {jax.process_index()} of "
          f"{jax.process_count()} in {directory} (found {found}); resume "
          "with the process count that wrote the checkpoint.")
    return path.read_text().encode("utf-8")

  def metadata(self, directory: epath.Path) -> None:
    del directory
    return None


@ocp.args.register_with_handler(DataStateHandler, for_save=True)
@dataclasses.dataclass
class DataSave(ocp.args.CheckpointArgs):
  state: bytes


@ocp.args.register_with_handler(DataStateHandler, for_restore=True)
@dataclasses.dataclass
class DataRestore(ocp.args.CheckpointArgs):
  pass


def manager(workdir: str, config) -> ocp.CheckpointManager:
  c = config.checkpoint
  options = ocp.CheckpointManagerOptions(
      save_interval_steps=max(1, int(c.every_steps)),
      max_to_keep=int(c.max_to_keep) if c.max_to_keep else None,
      enable_async_checkpointing=bool(c.async_save),
      create=True)
  return ocp.CheckpointManager(
      os.path.join(os.path.abspath(workdir), "checkpoints"), options=options,
      item_names=("state", "data", "config"))


def save(mgr: ocp.CheckpointManager, step: int, state: PyTree,
         data_state: bytes, config, force: bool = False) -> bool:
  """Saves if the interval says so (or `force`); returns whether it did."""
  return mgr.save(step, args=ocp.args.Composite(
      state=ocp.args.StandardSave(state),
      data=DataSave(data_state),
      config=ocp.args.JsonSave(json.loads(config.to_json_best_effort()))),
      force=force)


def restore(mgr: ocp.CheckpointManager, step: int, abstract_state: PyTree
            ) -> tuple[PyTree, bytes, dict]:
  """(state with the abstract tree's shardings, this process's data
  iterator state, the saved config as a dict)."""
  out = mgr.restore(step, args=ocp.args.Composite(
      state=ocp.args.StandardRestore(abstract_state),
      data=DataRestore(), config=ocp.args.JsonRestore()))
  return out.state, out.data, dict(out.config or {})


def abstract_with_shardings(abstract: PyTree, shardings: PyTree) -> PyTree:
  return jax.tree.map(
      lambda a, s: jax.ShapeDtypeStruct(a.shape, a.dtype, sharding=s),
      abstract, shardings)
