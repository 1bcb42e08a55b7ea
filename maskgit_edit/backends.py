"""Editor backends: editing methods that are not token samplers.

A token sampler (maskgit_edit/samplers) runs inside the MaskGIT `Editor`.
A backend brings its own editor instead, e.g. SDEdit with a pixel diffusion
model (baselines/sdedit). It registers, on import, a name and two functions
of the edit config (configs/edit.py):

    backends.register("diffusion_ddim", create=make_editor,
                      options=options_from_config)

* `create(config, method) -> editor`: an object with the `Editor.edit`
  signature, `edit(images, guides, masks, labels, strength, seed,
  num_samples, options) -> editor.EditResult` (loads weights; called once
  per run, lazily);
* `options(config, method) -> options`: the validated options passed to
  `edit` (called before any work, so a bad setting fails early).

The edit config lists the modules to import in `config.plugins` (dotted
paths); `import_plugins` runs them. maskgit_edit never imports a plugin
itself, so the dependency points from the baseline to this package only.
"""

from __future__ import annotations

import dataclasses
import importlib
from typing import Any, Callable, Sequence

from maskgit_edit import samplers


@dataclasses.dataclass(frozen=True)
class Backend:
  name: str
  create: Callable[[Any, str], Any]
  options: Callable[[Any, str], Any]


_REGISTRY: dict[str, Backend] = {}


def register(name: str, create: Callable[[Any, str], Any],
             options: Callable[[Any, str], Any]) -> Backend:
  """Adds a backend; a name may not shadow a token sampler or be reused."""
  if name in samplers.names():
    raise ValueError(f"{name!r} is a token sampler; a backend needs another "
                     "name.")
  b = Backend(name, create, options)
  old = _REGISTRY.get(name)
  if old is not None and (old.create, old.options) != (create, options):
    # The same module imported twice re-registers the same functions
    # (qualified names compared, so a reload is fine).
    same = all(getattr(f, "__module__", None) == getattr(g, "__module__",
                                                        None)
               and getattr(f, "__qualname__", None) == getattr(
                   g, "__qualname__", None)
               for f, g in ((old.create, create), (old.options, options)))
    if not same:
      raise ValueError(f"A backend named {name!r} is already registered.")
  _REGISTRY[name] = b
  return b


def names() -> tuple[str, ...]:
  """Registered backend names (of the plugins imported so far)."""
  return tuple(_REGISTRY)


def has(name: str) -> bool:
  return name in _REGISTRY


def get(name: str) -> Backend:
  if name not in _REGISTRY:
    raise ValueError(f"Unknown backend {name!r}; registered: "
                     f"{', '.join(_REGISTRY) or 'none'}.")
  return _REGISTRY[name]


def check_method(name: str) -> str:
  """`name` if it is a token sampler or a backend; else one ValueError."""
  if name in _REGISTRY or name in samplers.names():
    return name
  raise ValueError(f"Unknown method {name!r}; choose one of "
                   f"{', '.join(samplers.names() + names())}.")


def import_plugins(spec: str | Sequence[str] | None) -> None:
  """Imports plugin modules (a tuple, or a comma-separated string)."""
  if isinstance(spec, str):
    spec = spec.split(",")
  for module in (str(m).strip() for m in spec or ()):
    if not module:
      continue
    try:
      importlib.import_module(module)
    except ImportError as e:
      raise ValueError(f"Plugin module {module!r} cannot be imported: "
                       f"{e}") from e
