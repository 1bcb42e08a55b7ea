"""One orbax CheckpointManager per workdir: state + data position + config.

Items of a checkpoint at step s (s optimiser steps done):
  state   - the TrainState arrays (StandardSave; restored against an abstract
            tree that carries the target shardings, so a different mesh
            reshards on restore);
  data    - the data iterator position (JSON; grain/synthetic state bytes);
  config  - the run's config (JSON, for the record).
Saving is async; `wait_until_finished()` runs before the process exits.
"""

from __future__ import annotations

import json
import os
from typing import Any

import jax
import orbax.checkpoint as ocp

PyTree = Any


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
      data=ocp.args.JsonSave({"iterator": data_state.decode("utf-8")}),
      config=ocp.args.JsonSave(json.loads(config.to_json_best_effort()))),
      force=force)


def restore(mgr: ocp.CheckpointManager, step: int, abstract_state: PyTree
            ) -> tuple[PyTree, bytes]:
  """(state with the abstract tree's shardings, data iterator state)."""
  out = mgr.restore(step, args=ocp.args.Composite(
      state=ocp.args.StandardRestore(abstract_state),
      data=ocp.args.JsonRestore()))
  return out.state, out.data["iterator"].encode("utf-8")


def abstract_with_shardings(abstract: PyTree, shardings: PyTree) -> PyTree:
  return jax.tree.map(
      lambda a, s: jax.ShapeDtypeStruct(a.shape, a.dtype, sharding=s),
      abstract, shardings)
