"""The `Sampler` interface: what every editing method implements.

A sampler is a stateless singleton; `maskgit_edit.methods` registers it by
name. The editor calls it in three places:

  1. `check(editor)` (host, every call): can this model run the method?
  2. `prepare(editor, options)` (host, cached per Editor and options): extra
     arrays computed once (kernels, appearance tables, ...). They enter the
     jitted program as traced inputs.
  3. `start(x, options, prepared)` (traced, once per edit inside the jitted
     program): start tokens, `DecodeHooks` and aux for the one decode loop
     (`maskgit.decode.decode`).

Everything method-specific lives in the sampler's module: its options (a
frozen dataclass with `validate()`), its preparation, its start and its hooks,
and the docstring that says how `strength` maps onto its internals. The editor
enforces the invariants shared by all methods after decoding (tokens outside
E never change; strength 0 returns G_E).
"""

from __future__ import annotations

import dataclasses
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from maskgit import decode as decode_lib

MASK_ID = decode_lib.MASK_ID
PyTree = Any


@dataclasses.dataclass(frozen=True)
class NoOptions:
  """Options of a method that has none."""

  def validate(self) -> "NoOptions":
    return self


class StartInputs(NamedTuple):
  """What `Sampler.start` sees for ONE edit (S samples, L = 1 + w * w).

  Arrays are traced; the class token sits at position 0 (never in E).

  Attributes:
    rng: key for the sampler's own randomness (not the decoder's).
    original: int32 [S, L] image tokens in the window.
    guide: int32 [S, L] guide tokens in the window.
    edit: bool [S, L], E.
    strength: float32 [S], the user knob in [0, 1].
    guide_pixels: float32 [S, w * f, w * f, 3] guide pixels of the window.
    num_iter: static schedule length T.
    start_iter: static first decoding step.
    schedule: static mask schedule name.
    painted_pixels: bool [S, w * f, w * f] window pixels where the guide
      differs from the image (None where a caller does not provide them).
  """
  rng: jax.Array
  original: jax.Array
  guide: jax.Array
  edit: jax.Array
  strength: jax.Array
  guide_pixels: jax.Array
  num_iter: int
  start_iter: int
  schedule: str
  painted_pixels: jax.Array | None = None

  @property
  def masked(self) -> jax.Array:
    """int32 [S, L]: the original tokens with E masked."""
    return jnp.where(self.edit, MASK_ID, self.original)

  def base_aux(self) -> dict:
    """The aux entries every hook may read: strength [S], edit, guide."""
    return {"strength": self.strength.astype(jnp.float32),
            "edit": self.edit, "guide": self.guide}


class Sampler:
  """Base class; subclasses set `name`, `options_class` and `start`.

  Attributes:
    name: the method name it is registered under (`maskgit_edit.methods`).
    options_class: its options (a frozen dataclass with `validate()`).
    uses_strength: False for a method that ignores the strength knob.
    needs_hints: runs on a self-conditioned (hinted) transformer.
  """

  name: str = ""
  options_class: type = NoOptions
  uses_strength: bool = True
  needs_hints: bool = False

  def check(self, editor) -> None:
    """Raises ValueError when `editor.model` cannot run this method."""
    del editor

  def prepare(self, editor, options) -> PyTree:
    """Host-side extra inputs (traced in the jitted program); default none.

    Called once per (Editor, options): the editor caches the result.
    """
    del editor, options
    return None

  def start(self, x: StartInputs, options, prepared: PyTree):
    """Returns (inputs_SL int32 with MASK_ID, hooks, aux) for one edit."""
    raise NotImplementedError


def strength_SL1(s: decode_lib.DecodeState) -> jax.Array:
  """The per-sample strength broadcast against [S, L, C] logits."""
  return s.aux["strength"][:, None, None]
