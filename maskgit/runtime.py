"""Process-level JAX setup shared by the command-line tools."""

from __future__ import annotations

import os

import jax


def enable_compilation_cache(path: str) -> None:
  """Turns on JAX's persistent compilation cache at `path` ('' = off).

  Compiled programs are reused across processes: a warm cache cuts the
  start-up of a small sampler several-fold.
  """
  if not path:
    return
  path = os.path.expanduser(path)
  os.makedirs(path, exist_ok=True)
  jax.config.update("jax_compilation_cache_dir", path)
  jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
  jax.config.update("jax_persistent_cache_min_entry_size_bytes", -1)
