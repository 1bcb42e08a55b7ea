"""Guided samplers: `DecodeHooks` subclasses + how each builds its start tokens.

Every sampler runs on the one decode loop (`maskgit.decode.decode`). Hooks are
frozen dataclasses of Python scalars (part of the jit cache key); per-example
arrays travel in `aux` (a dict):

  strength  float32 [B]     the user knob in [0, 1] (traced: no recompile).
  edit      bool    [B, L]  E (False at the class token).
  guide     int32   [B, L]  G (guide tokens; meaningful on E).
  + method-specific entries (see each class).

Strength mapping (0 = G_E returned exactly, 1 = `inpaint` with the same seed):
  inpaint     ignores strength.
  context     positions that the schedule re-masks this step (the least
              confident of the previous step) are fed the guide token instead
              of [MASK] and their samples discarded (the pilot), but only where
              a fixed per-position uniform u >= strength: a fraction
              (1 - strength) of them.
  self_fixed  form 'poe': logits + lam * log k(x, G_j) with
              lam = scale * (1 - s) / s. form 'pilot': logits * w with
              w = C softmax(K[G_j] tau), tau = 1e-6 ** s * 100 ** (1 - s)
              (log-interpolated 1e-6..100 as guidance 1 - s goes 0..1).
  self_learned as self_fixed 'poe' with a learned kernel.
  sdedit      start from G_E; mask round(s |E|) random positions of E and enter
              the schedule at the first step t with mask_ratio(t/T) <= s; guide
              tokens still unrevised compete for re-masking with confidence
              p(g)^s (s -> 0: kept, s = 1: scored like samples).
  selfcond    classifier-free guidance on the hint: logits = unhinted +
              w (hinted - unhinted), w = (1 - s) / s; hints = the guide's
              per-token appearance (or its token ids) on E (or on E's masked
              positions).
At strength exactly 0 every method returns G_E (enforced after decoding: the
pilot's forms have no such limit on their own).
"""

from __future__ import annotations

import dataclasses
import math

import jax
import jax.numpy as jnp

from maskgit import decode as decode_lib
from maskgit import schedules

MASK_ID = decode_lib.MASK_ID
METHODS = ("inpaint", "context", "self_fixed", "self_learned", "sdedit",
           "selfcond")
# log k is clipped to this so that lam * log k stays finite (lam = 0 exact).
_MIN_LOG_K = -1e4
# selfcond: the guidance weight (1 - s) / s is capped (s -> 0 stays finite).
_MAX_CFG_WEIGHT = 1e3
SELFCOND_POSITIONS = ("edit", "masked")


def check_method(method: str) -> str:
  if method not in METHODS:
    raise ValueError(f"Unknown method {method!r}; choose one of "
                     f"{', '.join(METHODS)}.")
  return method


def _strength(s: decode_lib.DecodeState) -> jax.Array:
  return s.aux["strength"][:, None, None]


@dataclasses.dataclass(frozen=True)
class Inpaint(decode_lib.DecodeHooks):
  """E masked and regenerated; guidance unused (the official decoder)."""


@dataclasses.dataclass(frozen=True)
class Context(decode_lib.DecodeHooks):
  """The pilot's context guidance (aux: prev_conf [B, L], u [B, L])."""
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


@dataclasses.dataclass(frozen=True)
class SelfGuidance(decode_lib.DecodeHooks):
  """Self-guidance from G_j (aux: logk [B, L, C], 0 outside E).

  form 'poe': product of experts, logits + lam(s) * log k(x, G_j).
  form 'pilot': the pilot's reweighting logits * C softmax(K[G_j] tau(s)).
  """
  form: str = "poe"
  scale: float = 1.0

  def adjust_logits(self, s, logits_BLC):
    strength = _strength(s)
    edit = s.aux["edit"][..., None] & (s.tokens == MASK_ID)[..., None]
    logk = s.aux["logk"]
    if self.form == "poe":
      lam = self.scale * (1.0 - strength) / jnp.maximum(strength, 1e-6)
      return jnp.where(edit, logits_BLC + lam * logk, logits_BLC)
    if self.form == "pilot":
      log_tau = (strength * math.log(1e-6)
                 + (1.0 - strength) * math.log(100.0))
      w = logk.shape[-1] * jax.nn.softmax(logk * jnp.exp(log_tau), axis=-1)
      out = jnp.where(edit, logits_BLC * w, logits_BLC)
      return jnp.where(strength >= 1.0, logits_BLC, out)
    raise ValueError(f"Unknown self-guidance form {self.form!r}: 'poe' or "
                     "'pilot'.")


@dataclasses.dataclass(frozen=True)
class SDEdit(decode_lib.DecodeHooks):
  """Token-space SDEdit (aux: entry [B], total [B], revised bool [B, L])."""
  remask: bool = True

  def _active(self, s):
    return (s.step >= s.aux["entry"])[:, None]

  def resample_mask(self, s):
    return (s.tokens == MASK_ID) & self._active(s)

  def schedule_total(self, s):
    return s.aux["total"]

  def confidence(self, s, probs_BL, sampled_BL, resample_BL):
    conf = jnp.where(resample_BL, probs_BL, jnp.inf)
    if not self.remask:
      return conf
    guide = (s.aux["edit"] & ~s.aux["revised"] & (s.tokens != MASK_ID)
             & self._active(s))
    p = jnp.maximum(probs_BL, 1e-30) ** s.aux["strength"][:, None]
    return jnp.where(guide, p, conf)

  def update_aux(self, s, sampled_BL, next_BL, conf_BL):
    revised = s.aux["revised"] | (s.tokens == MASK_ID) | (next_BL == MASK_ID)
    return {**s.aux, "revised": revised}


@dataclasses.dataclass(frozen=True)
class SelfCond(decode_lib.DecodeHooks):
  """Hinted transformer with classifier-free guidance on the hint.

  aux 'hint' float32 [B, L, F] (appearance hints, `maskgit_edit.hints`) or,
  without it, the guide's token ids as hints. Hints sit at every position of
  E (`positions='edit'`) or only at its still-masked ones ('masked').
  logits = unhinted + w (hinted - unhinted), w = (1 - s) / s (s = strength:
  w = 1 at s = 0.5, the plain hinted model; w = 0 at s = 1, i.e. inpaint).
  """
  positions: str = "edit"

  def logits(self, s, logits_fn):
    where = s.aux["edit"]
    if self.positions == "masked":
      where = where & (s.tokens == MASK_ID)
    if "hint" in s.aux:
      feats = s.aux["hint"]
      hints = jnp.where(where[..., None], feats, 0.0)
      none = jnp.zeros_like(feats)
    else:
      hints = jnp.where(where, s.aux["guide"], -1)
      none = jnp.full_like(hints, -1)
    hinted = logits_fn(s.tokens, hints)
    plain = logits_fn(s.tokens, none)
    strength = _strength(s)
    w = jnp.minimum((1.0 - strength) / jnp.maximum(strength, 1e-6),
                    _MAX_CFG_WEIGHT)
    return jnp.where(strength >= 1.0, plain, plain + w * (hinted - plain))


def sdedit_entry(strength_B: jax.Array, total_B: jax.Array, num_iter: int,
                 start_iter: int, schedule: str) -> jax.Array:
  """First active step: #{t < T : mask_ratio(t / T) > s}, in [start, T-1].

  Strength 0 gives T (never active: G_E returned).
  """
  t = jnp.arange(num_iter, dtype=jnp.float32) / num_iter
  mr_BT = schedules.mask_ratio(t[None], total_B[:, None], schedule)
  entry = jnp.sum(mr_BT > strength_B[:, None] + 1e-6, axis=-1)
  entry = jnp.clip(entry, start_iter, num_iter - 1)
  return jnp.where(strength_B > 0, entry, num_iter).astype(jnp.int32)


def build(method: str, *, rng: jax.Array, original_BL: jax.Array,
          guide_BL: jax.Array, edit_BL: jax.Array, strength_B: jax.Array,
          num_iter: int, start_iter: int, schedule: str,
          logk_BLC: jax.Array | None = None, self_form: str = "poe",
          guidance_scale: float = 1.0, remask: bool = True,
          hint_BLF: jax.Array | None = None,
          hint_positions: str = "edit"):
  """Start tokens, hooks and aux for `method` (traceable; call under jit).

  Args:
    method: one of METHODS.
    rng: key for the sampler's own randomness (not the decoder's).
    original_BL: int32 [B, L] image tokens (class token at 0).
    guide_BL: int32 [B, L] guide tokens (class token at 0).
    edit_BL: bool [B, L], E.
    strength_B: float32 [B].
    num_iter, start_iter, schedule: decoder settings.
    logk_BLC: float32 [B, L, C] log k(x, G_j) for self_* methods.
    self_form, guidance_scale: SelfGuidance settings.
    remask: sdedit lets guide tokens be re-masked.
    hint_BLF: float32 [B, L, F] appearance hints for selfcond (None: the
      guide's token ids are the hints).
    hint_positions: selfcond hints on all of E ('edit') or its masked
      positions ('masked').

  Returns:
    (inputs_BL, hooks, aux).
  """
  check_method(method)
  masked = jnp.where(edit_BL, MASK_ID, original_BL)
  aux = {"strength": strength_B.astype(jnp.float32), "edit": edit_BL,
         "guide": guide_BL}
  if method == "inpaint":
    return masked, Inpaint(), aux
  if method == "context":
    k1, k2 = jax.random.split(rng)
    aux["prev_conf"] = jnp.log(jax.random.uniform(k1, edit_BL.shape))
    aux["u"] = jax.random.uniform(k2, edit_BL.shape)
    return masked, Context(schedule=schedule), aux
  if method in ("self_fixed", "self_learned"):
    logk = jnp.where(edit_BL[..., None],
                     jnp.maximum(logk_BLC, _MIN_LOG_K), 0.0)
    aux["logk"] = logk
    return masked, SelfGuidance(form=self_form, scale=guidance_scale), aux
  if method == "selfcond":
    if hint_positions not in SELFCOND_POSITIONS:
      raise ValueError(f"Unknown selfcond hint positions {hint_positions!r};"
                       f" choose one of {', '.join(SELFCOND_POSITIONS)}.")
    if hint_BLF is not None:
      aux["hint"] = hint_BLF.astype(jnp.float32)
    return masked, SelfCond(positions=hint_positions), aux
  # sdedit
  total = jnp.sum(edit_BL, -1)
  n0 = jnp.round(strength_B * total).astype(jnp.int32)
  noise = jnp.where(edit_BL, jax.random.uniform(rng, edit_BL.shape), 2.0)
  rank = jnp.argsort(jnp.argsort(noise, -1), -1)
  init_mask = edit_BL & (rank < n0[:, None])
  inputs = jnp.where(init_mask, MASK_ID,
                     jnp.where(edit_BL, guide_BL, original_BL))
  aux["total"] = total
  aux["entry"] = sdedit_entry(strength_B, total, num_iter, start_iter,
                              schedule)
  aux["revised"] = ~edit_BL | init_mask
  return inputs, SDEdit(remask=remask), aux
