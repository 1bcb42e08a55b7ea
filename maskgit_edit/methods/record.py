"""The `Method` record: everything the callers of an editing method need.

A method is found once by name (`maskgit_edit.methods.get`); every caller
(the batch runner, the evaluation, the browser editor, the scripts) works
with its record and never compares method names:

  uses_strength   False: the method ignores the strength knob (inpaint), so
                  a sweep runs it once (`strengths`).
  options_class   its options (a frozen dataclass with `validate()`).
  section         the edit config's sub-section holding its own options.
  sampler         token methods: the decode-loop plug-in
                  (`maskgit_edit.samplers.base.Sampler`); its `needs_hints`
                  says whether it runs on a self-conditioned transformer.
  build_editor    other methods (e.g. SDEdit with a diffusion model):
  build_options   config -> editor / options (`EditorPool` caches editors).
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable


@dataclasses.dataclass(frozen=True)
class Method:
  """One editing method (see the module docstring)."""
  name: str
  summary: str = ""
  uses_strength: bool = True
  options_class: type | None = None
  section: str = ""
  sampler: Any = None
  build_editor: Callable[[Any], Any] | None = None
  build_options: Callable[[Any], Any] | None = None

  def __post_init__(self):
    if (self.sampler is None) == (self.build_editor is None):
      raise ValueError(f"Method {self.name!r} needs exactly one of sampler "
                       "(a token method) or build_editor (a backend).")
    if self.build_editor is not None and self.build_options is None:
      raise ValueError(f"Method {self.name!r}: a backend needs "
                       "build_options too.")

  @property
  def is_token_method(self) -> bool:
    return self.sampler is not None

  @property
  def needs_hints(self) -> bool:
    """Runs on a self-conditioned (hinted) transformer."""
    return bool(self.sampler is not None and self.sampler.needs_hints)

  def strengths(self, grid) -> tuple[float, ...]:
    """The strengths a sweep over `grid` runs (one, 1.0, if unused)."""
    grid = tuple(float(s) for s in grid)
    return grid if self.uses_strength else (1.0,)


def _summary(module_doc: str | None) -> str:
  """First line of a docstring, without the leading '`name`: '."""
  line = (module_doc or "").strip().splitlines()[0] if module_doc else ""
  return line.split(": ", 1)[1] if line.startswith("`") and ": " in line \
      else line


def token_method(sampler, module_doc: str | None = None) -> Method:
  """The record of a token sampler (`maskgit_edit.samplers`)."""
  has_options = bool(dataclasses.fields(sampler.options_class))
  return Method(name=sampler.name, summary=_summary(module_doc),
                uses_strength=sampler.uses_strength,
                options_class=sampler.options_class,
                section=sampler.name if has_options else "", sampler=sampler)
