"""`selfcond`: a hinted transformer with classifier-free guidance on the hint.

Hints (what the hinted transformer is told about each token of E):
  appearance models (`transformer.hint_features` > 0): the guide's pixels of
    the token pooled to r x r x 3, its painted fraction and a flag
    (`maskgit_edit.hints`);
  token models (`transformer.num_hint_codes` > 0): the guide's token ids.
They sit at every position of E (`positions='edit'`) or only at its still
masked positions ('masked').

Strength s: logits = unhinted + w (hinted - unhinted), w = (1 - s) / s
(classifier-free guidance on the hint, 2 transformer calls per step): s = 1
gives w = 0, exactly the unhinted logits, i.e. inpaint with the same seed;
s = 0.5 gives w = 1, the hinted model as trained; s < 0.5 over-weights the
hint (w = 3 at 0.25, 9 at 0.1; capped at 1e3); s = 0 returns G_E (the
editor's shared invariant). A model with a zero hint table or projection
(`editor_lib.with_hint_embedding`, `hints.with_hint_projection`) computes
exactly what the base model computes, i.e. inpaint at every strength.
With `critic` > 0 (`samplers/critic.py`) the re-masking choice also prefers
to re-mask tokens whose appearance disagrees with the guide (weight
critic * (1 - s): off at s = 1).
"""

from __future__ import annotations

import dataclasses
import math

import jax.numpy as jnp

from maskgit import decode as decode_lib
from maskgit_edit import hints as hints_lib
from maskgit_edit.samplers import base
from maskgit_edit.samplers import critic as critic_lib

MASK_ID = base.MASK_ID
POSITIONS = ("edit", "masked")
# The guidance weight (1 - s) / s is capped so that s -> 0 stays finite.
MAX_WEIGHT = 1e3


def guidance_weight(strength):
  """w = (1 - s) / s, capped at MAX_WEIGHT (0 at s = 1)."""
  return jnp.minimum((1.0 - strength) / jnp.maximum(strength, 1e-6),
                     MAX_WEIGHT)


@dataclasses.dataclass(frozen=True)
class SelfCondHooks(decode_lib.DecodeHooks):
  """CFG on the hint (aux 'hint' [S, L, F] for appearance models)."""
  positions: str = "edit"
  critic: float = 0.0

  def confidence(self, s, probs_BL, sampled_BL, resample_BL):
    conf = super().confidence(s, probs_BL, sampled_BL, resample_BL)
    return critic_lib.rescore(s, conf, sampled_BL, self.critic)

  def logits(self, s, logits_fn):
    where = s.aux["edit"]
    if self.positions == "masked":
      where = where & (s.tokens == MASK_ID)
    if "hint" in s.aux:
      feats = s.aux["hint"]
      hints = hints_lib.select(feats, where)
      none = jnp.zeros_like(feats)
    else:
      hints = jnp.where(where, s.aux["guide"], -1)
      none = jnp.full_like(hints, -1)
    hinted = logits_fn(s.tokens, hints)
    plain = logits_fn(s.tokens, none)
    strength = base.strength_SL1(s)
    w = guidance_weight(strength)
    return jnp.where(strength >= 1.0, plain, plain + w * (hinted - plain))


@dataclasses.dataclass(frozen=True)
class Options:
  """selfcond options.

  Attributes:
    positions: hints on all of E ('edit') or only on its masked tokens
      ('masked').
    critic: weight of the guide-agreement critic in the re-masking choice
      (`samplers/critic.py`; 0 = off).
    critic_sigma: the critic's colour tolerance ([0, 1] units).
  """
  positions: str = "edit"
  critic: float = 0.0
  critic_sigma: float = 0.1

  def validate(self) -> "Options":
    critic_lib.check(self.critic, self.critic_sigma)
    if self.positions not in POSITIONS:
      raise ValueError(f"Unknown selfcond positions {self.positions!r}: "
                       f"{' or '.join(map(repr, POSITIONS))}.")
    return self


class SelfCond(base.Sampler):
  """Classifier-free guidance on the hints of a self-conditioned model."""

  name = "selfcond"
  options_class = Options
  needs_hints = True

  def check(self, editor):
    tc = editor.model.transformer_config
    if not (tc.num_hint_codes or tc.hint_features):
      raise ValueError("method 'selfcond' needs a self-conditioned "
                       "transformer (model config transformer.num_hint_codes"
                       " or hint_features > 0).")

  def prepare(self, editor, options):
    nf = editor.model.transformer_config.hint_features
    # Appearance models: only the (static) shape [F] matters in `start`.
    return dict(features=jnp.zeros((nf,), jnp.float32) if nf else None,
                critic=critic_lib.prepare(editor, options.critic))

  def start(self, x, options, prepared):
    aux = x.base_aux()
    if prepared["features"] is not None:
      p = x.guide_pixels.shape[1]
      side = int(math.isqrt(x.guide.shape[1] - 1))
      painted = x.painted_pixels
      if painted is None:
        painted = jnp.ones(x.guide_pixels.shape[:3], bool)
      feats = hints_lib.token_appearance(
          x.guide_pixels, painted, p // side,
          hints_lib.res_for(prepared["features"].shape[0]))
      aux["hint"] = hints_lib.with_class_token(feats)
    aux = critic_lib.add_aux(aux, x, prepared["critic"],
                             options.critic_sigma)
    return x.masked, SelfCondHooks(positions=options.positions,
                                   critic=options.critic), aux


SAMPLER = SelfCond()
