"""`context`: the pilot's context guidance.

Strength s: positions that the schedule re-masks this step (the least
confident of the previous step; random at the first step) are fed the guide
token instead of [MASK] and their samples discarded, but only where a fixed
per-position uniform u >= s: a fraction (1 - s) of them. s -> 0+ is the pilot
method, which does NOT tend to G_E (the editor returns G_E at exactly 0).
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp

from maskgit import decode as decode_lib
from maskgit import schedules
from maskgit_edit.samplers import base

MASK_ID = base.MASK_ID


@dataclasses.dataclass(frozen=True)
class ContextHooks(decode_lib.DecodeHooks):
  """aux: prev_conf float32 [S, L], u float32 [S, L] (+ base aux)."""
  schedule: str = "cosine"

  def _fed(self, s):
    unknown = s.tokens == MASK_ID
    k_B1 = jnp.floor(s.unknown0 * schedules.mask_ratio(
        s.ratio, s.unknown0, self.schedule))[:, None].astype(jnp.int32)
    conf = jnp.where(unknown, s.aux["prev_conf"], jnp.inf)
    cut_B1 = jnp.take_along_axis(jnp.sort(conf, -1), k_B1, -1)
    lowest = unknown & (conf < cut_B1)
    return (lowest & s.aux["edit"]
            & (s.aux["u"] >= s.aux["strength"][:, None]))

  def model_inputs(self, s):
    return jnp.where(self._fed(s), s.aux["guide"], s.tokens), None

  def resample_mask(self, s):
    return (s.tokens == MASK_ID) & ~self._fed(s)

  def confidence(self, s, probs_BL, sampled_BL, resample_BL):
    conf = super().confidence(s, probs_BL, sampled_BL, resample_BL)
    # Fed positions are re-masked first (their samples are discarded).
    return jnp.where(self._fed(s), 0.0, conf)

  def update_aux(self, s, sampled_BL, next_BL, conf_BL):
    return {**s.aux, "prev_conf": conf_BL}


class Context(base.Sampler):
  """Feeds guide tokens as context to a (1 - s) share of re-masked slots."""

  name = "context"

  def start(self, x, options, prepared):
    k1, k2 = jax.random.split(x.rng)
    aux = x.base_aux()
    aux["prev_conf"] = jnp.log(jax.random.uniform(k1, x.edit.shape))
    aux["u"] = jax.random.uniform(k2, x.edit.shape)
    return x.masked, ContextHooks(schedule=x.schedule), aux


SAMPLER = Context()
