"""Editing methods, one `Method` record each, found by name.

    from maskgit_edit import methods
    methods.names()             # ('inpaint', 'context', ..., plug-ins)
    m = methods.get("sdedit")   # the Method record (methods/record.py)
    m.uses_strength, m.sampler, m.section
    from maskgit_edit.methods import pool
    editors = pool.EditorPool()
    ed = editors.editor(config, "sdedit")     # built from a config, cached
    opts = editors.options(config, "sdedit")  # its validated options

Adding a token method = one module under `maskgit_edit/samplers/` (a
`Sampler` subclass: options, preparation, start, `DecodeHooks`) and one
`register(...)` line below. A method that is not a token sampler (e.g. the
diffusion baseline, `baselines/sdedit`) registers a record with
`build_editor`/`build_options` from its own module, which the edit config
lists in `config.plugins` (maskgit_edit never imports a plug-in).
"""

from __future__ import annotations

from maskgit import registry
from maskgit_edit.methods.record import Method
from maskgit_edit.methods.record import token_method
from maskgit_edit.samplers import context
from maskgit_edit.samplers import inpaint
from maskgit_edit.samplers import sdedit
from maskgit_edit.samplers import self_fixed
from maskgit_edit.samplers import self_learned
from maskgit_edit.samplers import selfcond

_METHODS: registry.Registry[Method] = registry.Registry(
    "method", origin=lambda m: (m.name, getattr(
        m.sampler or m.build_editor, "__module__", None)))


def register(method: Method) -> Method:
  """Adds `method` under its name (a name is registered once)."""
  return _METHODS.register(method.name, method)


def unregister(name: str) -> None:
  """Removes `name` (a method registered for a test or an experiment)."""
  _METHODS.unregister(name)


def get(name: str) -> Method:
  """The record of `name`; one ValueError listing the methods if unknown."""
  return _METHODS.get(name)


def names() -> tuple[str, ...]:
  """Registered method names (built-ins, then plug-ins imported so far)."""
  return _METHODS.names()


def import_plugins(config) -> None:
  """Imports the plug-in modules an edit config lists (`config.plugins`)."""
  registry.import_modules(config.get("plugins", ()) if hasattr(
      config, "get") else config)


register(token_method(inpaint.SAMPLER, inpaint.__doc__))
register(token_method(context.SAMPLER, context.__doc__))
register(token_method(self_fixed.SAMPLER, self_fixed.__doc__))
register(token_method(self_learned.SAMPLER, self_learned.__doc__))
register(token_method(sdedit.SAMPLER, sdedit.__doc__))
register(token_method(selfcond.SAMPLER, selfcond.__doc__))
