"""`sdedit`: token-space SDEdit, start from G_E and re-enter the schedule.

Strength s: start from G_E; mask round(s |E|) random positions of E and enter
the schedule at the first step t >= start_iter with mask_ratio(t / T) <= s
(the schedule counts from |E|). With `remask`, guide tokens not yet revised
compete for re-masking with confidence p(g)^s (s -> 0: kept; s = 1: scored
like samples), so unlikely guide tokens are re-masked and resampled.
With `critic` > 0 (`samplers/critic.py`) the re-masking choice also prefers
to re-mask tokens whose appearance disagrees with the guide (weight
critic * (1 - s): off at s = 1).
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp

from maskgit import decode as decode_lib
from maskgit import schedules
from maskgit_edit.samplers import base
from maskgit_edit.samplers import critic as critic_lib

MASK_ID = base.MASK_ID


@dataclasses.dataclass(frozen=True)
class SDEditHooks(decode_lib.DecodeHooks):
  """aux: entry int32 [S], total [S], revised bool [S, L] (+ base aux)."""
  remask: bool = True
  critic: float = 0.0

  def _active(self, s):
    return (s.step >= s.aux["entry"])[:, None]

  def resample_mask(self, s):
    return (s.tokens == MASK_ID) & self._active(s)

  def schedule_total(self, s):
    return s.aux["total"]

  def confidence(self, s, probs_BL, sampled_BL, resample_BL):
    conf = jnp.where(resample_BL, probs_BL, jnp.inf)
    if self.remask:
      guide = (s.aux["edit"] & ~s.aux["revised"] & (s.tokens != MASK_ID)
               & self._active(s))
      p = jnp.maximum(probs_BL, 1e-30) ** s.aux["strength"][:, None]
      conf = jnp.where(guide, p, conf)
    return critic_lib.rescore(s, conf, sampled_BL, self.critic)

  def update_aux(self, s, sampled_BL, next_BL, conf_BL):
    revised = s.aux["revised"] | (s.tokens == MASK_ID) | (next_BL == MASK_ID)
    return {**s.aux, "revised": revised}


def entry_step(strength_B: jax.Array, total_B: jax.Array, num_iter: int,
               start_iter: int, schedule: str) -> jax.Array:
  """First active step: #{t < T : mask_ratio(t / T) > s}, in [start, T-1].

  Strength 0 gives T (never active: G_E returned).
  """
  t = jnp.arange(num_iter, dtype=jnp.float32) / num_iter
  mr_BT = schedules.mask_ratio(t[None], total_B[:, None], schedule)
  entry = jnp.sum(mr_BT > strength_B[:, None] + 1e-6, axis=-1)
  entry = jnp.clip(entry, start_iter, num_iter - 1)
  return jnp.where(strength_B > 0, entry, num_iter).astype(jnp.int32)


@dataclasses.dataclass(frozen=True)
class Options:
  """sdedit options.

  Attributes:
    remask: unrevised guide tokens may be re-masked.
    critic: weight of the guide-agreement critic in the re-masking choice
      (`samplers/critic.py`; 0 = off).
    critic_sigma: the critic's colour tolerance ([0, 1] units).
  """
  remask: bool = True
  critic: float = 0.0
  critic_sigma: float = 0.1

  def validate(self) -> "Options":
    critic_lib.check(self.critic, self.critic_sigma)
    return self


class SDEdit(base.Sampler):
  """Partially masks G_E and decodes from the matching schedule step."""

  name = "sdedit"
  options_class = Options

  def prepare(self, editor, options):
    return critic_lib.prepare(editor, options.critic)

  def start(self, x, options, prepared):
    edit = x.edit
    total = jnp.sum(edit, -1)
    n0 = jnp.round(x.strength * total).astype(jnp.int32)
    noise = jnp.where(edit, jax.random.uniform(x.rng, edit.shape), 2.0)
    rank = jnp.argsort(jnp.argsort(noise, -1), -1)
    init_mask = edit & (rank < n0[:, None])
    inputs = jnp.where(init_mask, MASK_ID,
                       jnp.where(edit, x.guide, x.original))
    aux = x.base_aux()
    aux["total"] = total
    aux["entry"] = entry_step(x.strength, total, x.num_iter, x.start_iter,
                              x.schedule)
    aux["revised"] = ~edit | init_mask
    aux = critic_lib.add_aux(aux, x, prepared, options.critic_sigma)
    return inputs, SDEditHooks(remask=options.remask,
                               critic=options.critic), aux


SAMPLER = SDEdit()
