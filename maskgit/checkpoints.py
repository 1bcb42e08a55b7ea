"""Checkpoint I/O: the official msgpack format, layout conversion and orbax.

Official files hold one Flax msgpack state dict `{"params": {...}}` of float32
arrays with the transformer layers unrolled (`TransformerLayer_{i}`). Models
built with `scan_layers=True` keep the layers stacked under
`TransformerLayers`; `to_scan_layout` / `to_official_layout` convert between
the two losslessly. Every load is validated against the tree the config
expects, and any problem raises one `CheckpointError` that names the file.
"""

from __future__ import annotations

import os
import re
from typing import Any, Callable, Mapping

import flax
from flax import traverse_util
import jax
import numpy as np

from maskgit import io_utils
from maskgit.nets import transformer as transformer_lib

PyTree = Any
_LAYER_RE = re.compile(r"^TransformerLayer_(\d+)$")
_MAX_LISTED = 8


class CheckpointError(ValueError):
  """A checkpoint file is missing, unreadable or does not match the config."""


def read_msgpack(path: str) -> dict:
  """Reads a Flax msgpack state dict; returns nested dicts of numpy arrays."""
  path = os.fspath(path)
  if not os.path.exists(path):
    raise CheckpointError(f"Checkpoint file not found: {path}")
  if os.path.isdir(path):
    raise CheckpointError(
        f"Checkpoint path is a directory, expected a msgpack file: {path} "
        "(orbax checkpoints are read with restore_orbax)")
  with open(path, "rb") as f:
    data = f.read()
  try:
    state = flax.serialization.msgpack_restore(data)
  except Exception as e:  # msgpack raises several unrelated exception types.
    raise CheckpointError(
        f"{path} is not a readable Flax msgpack file ({len(data)} bytes; "
        f"truncated or another format?): {type(e).__name__}: {e}") from e
  if not isinstance(state, dict) or "params" not in state:
    keys = list(state)[:5] if isinstance(state, dict) else type(state).__name__
    raise CheckpointError(
        f"{path} is not a MaskGIT state dict: expected a top-level 'params' "
        f"entry, found {keys}")
  return state


def write_msgpack(path: str, params: PyTree) -> None:
  """Writes `{"params": params}` atomically in the official msgpack format."""
  path = os.fspath(path)
  tree = params if "params" in params else {"params": params}
  tree = jax.tree.map(lambda x: np.asarray(x, np.float32), tree)
  data = flax.serialization.msgpack_serialize(flax.core.unfreeze(tree))
  io_utils.write_bytes(path, data)


def _shapes(tree: PyTree) -> dict[str, tuple[int, ...]]:
  """'a/b/c' -> shape for every leaf of a (possibly metadata) tree."""
  flat, _ = jax.tree_util.tree_flatten_with_path(
      tree, is_leaf=lambda x: hasattr(x, "shape"))
  def name(k):
    return str(getattr(k, "key", getattr(k, "name", getattr(k, "idx", k))))
  return {"/".join(name(k) for k in path): tuple(np.shape(v)) if not hasattr(
      v, "shape") else tuple(v.shape) for path, v in flat}


def check_tree(tree: PyTree, expected: PyTree, source: str) -> None:
  """Raises CheckpointError listing the first mismatched paths and shapes."""
  got, want = _shapes(tree), _shapes(expected)
  # Missing and unexpected paths first: they say most about what went wrong.
  problems = [f"  missing    {k}: expected {want[k]}"
              for k in sorted(set(want) - set(got))]
  problems += [f"  unexpected {k}: shape {got[k]}"
               for k in sorted(set(got) - set(want))]
  problems += [f"  shape      {k}: expected {want[k]}, got {got[k]}"
               for k in sorted(set(got) & set(want)) if got[k] != want[k]]
  if problems:
    shown = "\n".join(problems[:_MAX_LISTED])
    more = len(problems) - _MAX_LISTED
    extra = f"\n  ... and {more} more" if more > 0 else ""
    top_got = sorted({k.split("/")[0] for k in got})
    top_want = sorted({k.split("/")[0] for k in want})
    if not set(top_got) & set(top_want):
      extra += (f"\n  The file's top-level entries {top_got[:6]} share nothing "
                f"with the expected {top_want[:6]}: wrong kind of checkpoint "
                "(tokenizer vs transformer)?")
    raise CheckpointError(
        f"{source} does not match the model config: {len(problems)} "
        f"mismatched paths (expected {len(want)} leaves, got {len(got)}):\n"
        f"{shown}{extra}")


def to_scan_layout(params: Mapping[str, Any]) -> dict:
  """Stacks `TransformerLayer_{i}` subtrees into one `TransformerLayers`."""
  params = dict(params)
  ids = sorted(int(m.group(1)) for k in params
               if (m := _LAYER_RE.match(k)))
  if not ids:
    return params
  if ids != list(range(len(ids))):
    raise CheckpointError(f"Transformer layers are not contiguous: {ids}")
  layers = [params.pop(f"TransformerLayer_{i}") for i in ids]
  params[transformer_lib.SCAN_NAME] = jax.tree.map(
      lambda *xs: np.stack([np.asarray(x) for x in xs]), *layers)
  return params


def to_official_layout(params: Mapping[str, Any]) -> dict:
  """Inverse of `to_scan_layout`."""
  params = dict(params)
  stacked = params.pop(transformer_lib.SCAN_NAME, None)
  if stacked is None:
    return params
  n = jax.tree.leaves(stacked)[0].shape[0]
  for i in range(n):
    params[f"TransformerLayer_{i}"] = jax.tree.map(
        lambda x, i=i: np.asarray(x[i]), stacked)
  return params


def abstract_params(init_fn: Callable[[jax.Array], PyTree]) -> PyTree:
  """Shapes of `init_fn(key)['params']` without computing anything."""
  return jax.eval_shape(init_fn, jax.random.key(0))["params"]


def load_transformer(path: str,
                     config: transformer_lib.TransformerConfig) -> dict:
  """Loads an official-format transformer file into `config`'s layout.

  A file without hint parameters loads into a hinted config (the hint table
  or projection is then zero-initialised, i.e. "no hint" behaviour); hint
  parameters of a kind the config does not use are dropped (the rest of the
  network is the same).
  """
  params = read_msgpack(path)["params"]
  official = _official_config(config)
  expected = abstract_params(
      lambda k: transformer_lib.init_params(official, k))
  embed = dict(params.get("Embed_0", {}))
  hint = embed.pop("hint_embeddings", None)
  proj = embed.pop("hint_projection", None)
  had_hints = hint is not None or proj is not None
  if config.num_hint_codes or config.hint_features or had_hints:
    params = {**params, "Embed_0": embed}
  check_tree(params, expected, path)
  if config.num_hint_codes:
    rows = (config.num_hint_codes + 1, config.hidden_size)
    if hint is None:
      hint = {"embedding": np.zeros(rows, np.float32)}
    elif np.shape(hint["embedding"]) != rows:
      raise CheckpointError(
          f"{path}: hint embedding shape {np.shape(hint['embedding'])}, "
          f"expected {rows}")
    params["Embed_0"] = {**embed, "hint_embeddings": hint}
  if config.hint_features:
    shape = (config.hint_features, config.hidden_size)
    if proj is None:
      proj = {"kernel": np.zeros(shape, np.float32),
              "bias": np.zeros(shape[1:], np.float32)}
    elif (np.shape(proj["kernel"]) != shape
          or np.shape(proj["bias"]) != shape[1:]):
      raise CheckpointError(
          f"{path}: hint projection kernel {np.shape(proj['kernel'])}, "
          f"expected {shape}")
    params["Embed_0"] = {**embed, "hint_projection": proj}
  params = jax.tree.map(np.asarray, params)
  return to_scan_layout(params) if config.scan_layers else params


def stored_hints(path: str) -> dict | None:
  """Hint fields of a transformer file: {'num_hint_codes', 'hint_features'}.

  None when the file has no hint parameters (a plain transformer).
  """
  embed = read_msgpack(path)["params"].get("Embed_0", {})
  if "hint_projection" in embed:
    return {"num_hint_codes": 0, "hint_features":
            int(np.shape(embed["hint_projection"]["kernel"])[0])}
  if "hint_embeddings" in embed:
    return {"num_hint_codes":
            int(np.shape(embed["hint_embeddings"]["embedding"])[0]) - 1,
            "hint_features": 0}
  return None


def save_transformer(path: str, params: PyTree) -> None:
  """Saves transformer params (either layout) in the official format."""
  write_msgpack(path, to_official_layout(flax.core.unfreeze(params)))


def _official_config(config):
  import dataclasses  # pylint: disable=g-import-not-at-top
  return dataclasses.replace(config, scan_layers=False, remat=False,
                             num_hint_codes=0, hint_features=0)


def load_tokenizer(path: str, config) -> dict:
  """Loads an official-format tokenizer file, validated against `config`."""
  from maskgit.nets import vqgan  # pylint: disable=g-import-not-at-top
  params = read_msgpack(path)["params"]
  expected = abstract_params(lambda k: vqgan.init_params(config, k))
  check_tree(params, expected, path)
  return jax.tree.map(np.asarray, params)


def save_orbax(directory: str, params: PyTree) -> None:
  """Saves a params tree with orbax (atomic; overwrites)."""
  import orbax.checkpoint as ocp  # pylint: disable=g-import-not-at-top
  with ocp.StandardCheckpointer() as ckptr:
    ckptr.save(os.path.abspath(directory), params, force=True)


def restore_orbax(directory: str, abstract: PyTree | None = None) -> PyTree:
  """Restores an orbax params tree, validated against `abstract` if given."""
  import orbax.checkpoint as ocp  # pylint: disable=g-import-not-at-top
  directory = os.path.abspath(directory)
  if not os.path.isdir(directory):
    raise CheckpointError(f"Orbax checkpoint directory not found: {directory}")
  with ocp.StandardCheckpointer() as ckptr:
    try:
      meta = ckptr.metadata(directory)
      tree = getattr(meta, "item_metadata", meta)
      tree = getattr(tree, "tree", tree)
    except Exception as e:
      raise CheckpointError(
          f"{directory} is not a readable orbax checkpoint: {e}") from e
    if abstract is not None:
      check_tree(tree, abstract, directory)
      return ckptr.restore(directory, abstract)
    return ckptr.restore(directory)
