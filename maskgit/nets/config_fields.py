"""Network configs from ml_collections: the one field check.

A network's config dataclass (`TransformerConfig`, `TokenizerConfig`) is built
from a ConfigDict with `dataclass_kwargs`: an unknown field is one error
naming the valid ones (a typo never silently keeps a default), and a dtype
given as a string becomes a jnp dtype.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import jax.numpy as jnp


def dataclass_kwargs(cls, cfg, what: str) -> dict[str, Any]:
  """kwargs for `cls(**kwargs)` from ConfigDict/dict `cfg`.

  Raises:
    ValueError: `cfg` has fields `cls` does not.
  """
  names = {f.name for f in dataclasses.fields(cls)}
  kwargs = dict(cfg)
  unknown = sorted(set(kwargs) - names)
  if unknown:
    raise ValueError(f"Unknown {what} config fields {unknown}; valid "
                     f"fields: {sorted(names)}")
  if isinstance(kwargs.get("dtype"), str):
    kwargs["dtype"] = jnp.dtype(kwargs["dtype"])
  return kwargs
