"""One registry helper for everything found by name (presets, recipes, methods).

    METHODS = registry.Registry("method")
    METHODS.register("sdedit", record)
    METHODS.get("sdedit")           # ValueError naming the choices if unknown
    METHODS.names()                 # registration order
    registry.import_modules("pkg.plugin,other.plugin")  # plugins register

A name is registered once. Registering it again is allowed only for the same
value or a value defined at the same place (module and qualified name), which
is what importing or reloading the same module does.
"""

from __future__ import annotations

import importlib
from typing import Callable, Generic, Iterator, Sequence, TypeVar

T = TypeVar("T")


def _origin(value) -> tuple[str | None, str | None]:
  """(module, qualified name) of where `value` (or its class) is defined."""
  obj = value if hasattr(value, "__qualname__") else type(value)
  return getattr(obj, "__module__", None), getattr(obj, "__qualname__", None)


class Registry(Generic[T]):
  """Values by name, in registration order (see module docstring)."""

  def __init__(self, kind: str, error: type[Exception] = ValueError,
               origin: Callable[[T], tuple] = _origin):
    """Args:
      kind: what the names are, for messages ("method", "recipe", ...).
      error: exception class raised for unknown or conflicting names.
      origin: value -> (module, qualified name) where it was defined
        (default: of the value, or of its class for instances).
    """
    self.kind = kind
    self.error = error
    self._origin = origin
    self._items: dict[str, T] = {}

  def register(self, name: str, value: T) -> T:
    """Adds `value` under `name`; returns it."""
    if not name:
      raise self.error(f"A {self.kind} needs a name.")
    old = self._items.get(name)
    if old is not None and old is not value and (
        self._origin(old) != self._origin(value)
        or self._origin(old) == (None, None)):
      raise self.error(f"A {self.kind} named {name!r} is already registered "
                       f"(by {self._origin(old)[0]}).")
    self._items[name] = value
    return value

  def unregister(self, name: str) -> None:
    """Removes `name` (e.g. a method a test registered); unknown: error."""
    self.get(name)
    del self._items[name]

  def names(self) -> tuple[str, ...]:
    """Registered names, in registration order."""
    return tuple(self._items)

  def get(self, name: str) -> T:
    """The value registered as `name`; one error listing the choices."""
    try:
      return self._items[name]
    except (KeyError, TypeError):
      raise self.error(f"Unknown {self.kind} {name!r}; choose one of "
                       f"{', '.join(self._items) or 'none'}.") from None

  def __contains__(self, name) -> bool:
    return name in self._items

  def __iter__(self) -> Iterator[str]:
    return iter(self._items)

  def values(self) -> tuple[T, ...]:
    return tuple(self._items.values())


def import_modules(spec: str | Sequence[str] | None,
                   error: type[Exception] = ValueError,
                   what: str = "Plugin module") -> None:
  """Imports modules that register on import: a comma list or a sequence.

  Raises:
    error: a module cannot be imported (one line naming it).
  """
  if isinstance(spec, str):
    spec = spec.split(",")
  for module in (str(m).strip() for m in spec or ()):
    if not module:
      continue
    try:
      importlib.import_module(module)
    except ImportError as e:
      raise error(f"{what} {module!r} cannot be imported: {e}") from e
