"""The browser editor's door to the method registry.

Every method name the page lists and every editor it runs come from
`maskgit_edit.methods` through the shared (config, method) -> editor map
(`methods.pool.EditorPool`): token methods in the MaskGIT `Editor`, hinted
ones on the self-conditioned transformer, plug-ins such as the diffusion
baseline from `config.plugins`.
"""

from __future__ import annotations

from typing import Any

from maskgit_edit import methods as methods_lib
from maskgit_edit.methods import pool as pool_lib


def names(config) -> tuple[str, ...]:
  """Every registered method: built-ins, then the config's plug-ins."""
  methods_lib.import_plugins(config)
  return methods_lib.names()


def check(config, method: str) -> str:
  """`method` if registered, else one ValueError listing the choices."""
  return pool_lib.method(config, method).name


def summary(config, method: str) -> str:
  """One line about the method (for the page)."""
  return pool_lib.method(config, method).summary


class Editors:
  """Editors and options by method, loaded on first use (one per app)."""

  def __init__(self, config):
    self.config = config
    self._pool = pool_lib.EditorPool()

  def base(self):
    """The MaskGIT editor of the config's model (encodes, generates)."""
    return self._pool.editor(self.config, "inpaint")

  def get(self, method: str):
    """The editor that runs `method` (any editor of the protocol)."""
    return self._pool.editor(self.config, method)

  def options(self, method: str) -> Any:
    """The validated options that `method`'s editor takes (ValueError)."""
    return self._pool.options(self.config, method)
