"""Editing methods: one `Sampler` per module, registered here by name.

    from maskgit_edit import samplers
    samplers.names()            # ('inpaint', 'context', ...)
    samplers.get("sdedit")      # the Sampler (options_class, prepare, start)
    samplers.check_method(m)    # ValueError listing the valid names

Adding a method = one new module defining a `base.Sampler` subclass (its
options dataclass, preparation, start tokens/aux and `DecodeHooks`) and one
`register(...)` line below (docs/editing.md has a worked example).
"""

from __future__ import annotations

from maskgit_edit.samplers import base
from maskgit_edit.samplers import context
from maskgit_edit.samplers import inpaint
from maskgit_edit.samplers import sdedit
from maskgit_edit.samplers import self_fixed
from maskgit_edit.samplers import self_learned
from maskgit_edit.samplers import selfcond

Sampler = base.Sampler
StartInputs = base.StartInputs
MASK_ID = base.MASK_ID

_REGISTRY: dict[str, base.Sampler] = {}


def register(sampler: base.Sampler) -> base.Sampler:
  """Adds `sampler` under `sampler.name` (a name may be registered once)."""
  if not sampler.name:
    raise ValueError(f"{type(sampler).__name__} has no name.")
  if sampler.name in _REGISTRY and _REGISTRY[sampler.name] is not sampler:
    raise ValueError(f"A sampler named {sampler.name!r} is already "
                     "registered.")
  _REGISTRY[sampler.name] = sampler
  return sampler


def names() -> tuple[str, ...]:
  """Registered method names, in registration order."""
  return tuple(_REGISTRY)


def check_method(name: str) -> str:
  """Returns `name` if registered; else one ValueError listing valid names."""
  if name not in _REGISTRY:
    raise ValueError(f"Unknown method {name!r}; choose one of "
                     f"{', '.join(_REGISTRY)}.")
  return name


def get(name: str) -> base.Sampler:
  """The sampler registered as `name` (ValueError listing valid names)."""
  return _REGISTRY[check_method(name)]


register(inpaint.SAMPLER)
register(context.SAMPLER)
register(self_fixed.SAMPLER)
register(self_learned.SAMPLER)
register(sdedit.SAMPLER)
register(selfcond.SAMPLER)
