"""Mask schedules: the fraction of unknown tokens still masked after a step.

`mask_ratio(ratio, total_unknown, method)` follows the official release:
ratio = (step + 1) / num_iter in (0, 1]; the result is clipped to [1e-6, 1].
"""

from __future__ import annotations

import math
import re

import jax.numpy as jnp

METHODS = ("cosine", "uniform", "linear", "pow<p>", "log", "exp")
_POW = re.compile(r"^pow(\d+(\.\d+)?)$")


def validate(method: str) -> str:
  """Returns `method` or raises ValueError naming the valid choices."""
  if method in ("cosine", "uniform", "linear", "log", "exp") or _POW.match(
      method):
    return method
  raise ValueError(f"Unknown mask schedule {method!r}; choose one of "
                   f"{', '.join(METHODS)} (e.g. 'pow2').")


def mask_ratio(ratio, total_unknown, method: str = "cosine"):
  """Fraction of the initially unknown tokens to keep masked.

  Args:
    ratio: float array, (step + 1) / num_iter.
    total_unknown: number of unknown tokens at the start (used by log/exp).
    method: schedule name.

  Returns:
    float32 array broadcast from `ratio` and `total_unknown`, in [1e-6, 1].
  """
  validate(method)
  ratio = jnp.asarray(ratio, jnp.float32)
  if method == "cosine":
    r = jnp.cos(math.pi / 2.0 * ratio)
  elif method in ("uniform", "linear"):
    r = 1.0 - ratio
  elif method == "log":
    r = -jnp.log2(ratio) / jnp.log2(jnp.asarray(total_unknown, jnp.float32))
  elif method == "exp":
    r = 1.0 - jnp.exp2(
        -jnp.log2(jnp.asarray(total_unknown, jnp.float32)) * (1.0 - ratio))
  else:
    r = 1.0 - ratio ** float(_POW.match(method).group(1))
  return jnp.clip(r, 1e-6, 1.0)
