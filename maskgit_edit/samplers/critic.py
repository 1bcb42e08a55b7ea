"""Critic-guided re-masking: keep the tokens that agree with the guide.

An option of the `sdedit` and `selfcond` samplers (`critic` > 0). At each
step the decode loop keeps the sampled tokens of highest confidence and
re-masks the rest; with the critic, a sampled token x_j at a position j of E
has its log-confidence raised by

  critic * (1 - s) * log k(x_j, p_j),
  log k(x, p) = -mean |a(x) - p|^2 / (2 critic_sigma^2)  (<= 0),

where a(x) is code x's appearance in context (the code-appearance table of
`self_fixed`, pooled to 2 x 2 x 3) and p_j the guide's pixels of patch j
pooled the same way. Tokens whose decoded look disagrees most with the
(pooled, i.e. blurred) guide are therefore the first re-masked and
resampled. s = 1 gives a zero weight: exactly the method without the critic
(so still inpaint for selfcond and sdedit at s = 1); s = 0 returns G_E (the
editor's invariant).
"""

from __future__ import annotations

import math

import jax.numpy as jnp

from maskgit_edit import guidance
from maskgit_edit.samplers import base

RES = 2  # Appearance grid per token (as self_fixed's default).


def check(critic: float, sigma: float) -> None:
  """Raises ValueError for a bad critic weight or tolerance."""
  if not (math.isfinite(critic) and critic >= 0):
    raise ValueError(f"critic must be >= 0, got {critic!r}.")
  if not sigma > 0:
    raise ValueError(f"critic_sigma must be > 0, got {sigma!r}.")


def prepare(editor, critic: float):
  """The code-appearance table [C, RES*RES*3] when the critic is on."""
  if not critic:
    return None
  from maskgit_edit.samplers import self_fixed  # pylint: disable=g-import-not-at-top
  return jnp.asarray(self_fixed.code_appearance(editor, RES))


def appearance_logk(x: base.StartInputs, table_CK, res: int,
                    sigma: float):
  """log k [S, L, C] of every code at every position (0 for the class)."""
  s, p = x.guide_pixels.shape[:2]
  side = int(math.isqrt(x.guide.shape[1] - 1))
  gapp = guidance.pool_patches(x.guide_pixels, p // side, res)
  logk = guidance.appearance_log_kernel(table_CK, gapp, sigma)
  return jnp.concatenate([jnp.zeros((s, 1, logk.shape[-1]), logk.dtype),
                          logk], 1)


def add_aux(aux: dict, x: base.StartInputs, table_CK, sigma: float) -> dict:
  """aux with 'critic_logk' [S, L, C] (when the critic is on)."""
  if table_CK is not None:
    aux = dict(aux, critic_logk=jnp.where(
        x.edit[..., None], appearance_logk(x, table_CK, RES, sigma), 0.0))
  return aux


def rescore(s, conf_BL, sampled_BL, critic: float):
  """Confidences times k(x_j, p_j)^(critic (1 - s)) on E (see module)."""
  if not critic:
    return conf_BL
  logk = jnp.take_along_axis(s.aux["critic_logk"],
                             jnp.maximum(sampled_BL, 0)[..., None],
                             -1)[..., 0]
  w = critic * (1.0 - s.aux["strength"])[:, None]
  factor = jnp.exp(w * jnp.where(s.aux["edit"], logk, 0.0))
  return jnp.where(jnp.isfinite(conf_BL), conf_BL * factor, conf_BL)
