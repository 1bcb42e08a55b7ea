"""`selfcond`: a hinted (self-conditioned) transformer; hints = G on E.

Strength s: logits = s * unhinted + (1 - s) * hinted, where the hints are the
guide tokens at the masked positions of E (2 transformer calls per step).
Without a trained hint table (`editor_lib.with_hint_embedding`) the hinted
model computes exactly what the base model computes, i.e. inpaint.
"""

from __future__ import annotations

import dataclasses

import jax.numpy as jnp

from maskgit import decode as decode_lib
from maskgit_edit.samplers import base

MASK_ID = base.MASK_ID


@dataclasses.dataclass(frozen=True)
class SelfCondHooks(decode_lib.DecodeHooks):
  """Hinted transformer: hints = G at masked positions of E."""

  def logits(self, s, logits_fn):
    unknown = s.tokens == MASK_ID
    hints = jnp.where(unknown & s.aux["edit"], s.aux["guide"], -1)
    hinted = logits_fn(s.tokens, hints)
    plain = logits_fn(s.tokens, jnp.full_like(hints, -1))
    strength = base.strength_SL1(s)
    return strength * plain + (1.0 - strength) * hinted


class SelfCond(base.Sampler):
  """Interpolates hinted and unhinted logits of a self-conditioned model."""

  name = "selfcond"

  def check(self, editor):
    if not editor.model.transformer_config.num_hint_codes:
      raise ValueError("method 'selfcond' needs a self-conditioned "
                       "transformer (model config transformer.num_hint_codes"
                       " > 0).")

  def start(self, x, options, prepared):
    return x.masked, SelfCondHooks(), x.base_aux()


SAMPLER = SelfCond()
