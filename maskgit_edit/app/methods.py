"""The browser editor's one door to the method registry (re-point it here).

Every method name the page lists and every editor it runs come from this
module, which today uses `maskgit_edit.editors` (the shared (config, method)
-> editor map: token samplers in the MaskGIT `Editor`, selfcond with its own
transformer, plugin backends such as the diffusion baseline from
`config.plugins`). When the method registry changes, only this file changes.
"""

from __future__ import annotations

from typing import Any

from maskgit_edit import backends
from maskgit_edit import editors
from maskgit_edit import samplers


def names(config) -> tuple[str, ...]:
  """Every registered method: token samplers, then plugin backends."""
  editors.import_plugins(config)
  return tuple(samplers.names()) + tuple(backends.names())


def check(config, method: str) -> str:
  """`method` if registered, else one ValueError listing the choices."""
  return editors.check_method(config, method)


def options(config, method: str) -> Any:
  """The validated options that `method`'s editor takes (ValueError)."""
  return editors.options(config, method)


class Editors:
  """Editors by method, loaded on first use and kept (one pool per app)."""

  def __init__(self, config):
    self.config = config
    self._pool = editors.EditorPool()

  def base(self):
    """The MaskGIT editor of the config's model (encodes, generates)."""
    return self._pool.get(self.config, "inpaint")

  def get(self, method: str):
    """The editor that runs `method` (its `edit` has `Editor.edit`'s
    signature; it is the base editor for the plain token samplers)."""
    return self._pool.get(self.config, method)
