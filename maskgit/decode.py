"""The one parallel decoding loop (MaskGIT iterative decoding) used everywhere.

`decode` is a pure function (jit it, or call it inside a jitted function) that
runs `jax.lax.scan` over steps `start_iter .. num_iter - 1`. With the default
`DecodeHooks` it is the official decoder: it consumes the rng in exactly the
official order, so with the same logits function, inputs and key it returns
bit-identical tokens.

Samplers customise the loop by subclassing `DecodeHooks` (how the model input
is formed and the model called, how logits are adjusted, which positions may
be resampled, how sampled tokens are scored for keeping, which count the mask
schedule multiplies, and how per-example `aux` evolves between steps); they
never copy the loop.
"""

from __future__ import annotations

from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp

from maskgit import schedules

MASK_ID = -1
PyTree = Any
# (ids_BL, hints_BL or None) -> logits_BLV over at least `num_codes` ids.
LogitsFn = Callable[[jax.Array, jax.Array | None], jax.Array]


class DecodeState(NamedTuple):
  """What a hook sees at each step (all arrays are traced)."""
  step: jax.Array         # int32 scalar, the current step index.
  ratio: jax.Array        # float32 scalar, (step + 1) / num_iter.
  tokens: jax.Array       # int32 [B, L], current tokens, MASK_ID = unknown.
  unknown0: jax.Array     # int32 [B], unknown tokens at start_iter.
  aux: PyTree             # sampler-specific arrays given to `decode`.


class DecodeHooks:
  """Default hooks: the official decoder. Subclass and override to customise.

  Subclasses must be hashable (e.g. frozen dataclasses of Python scalars):
  per-example data goes through `decode(..., aux=...)`, not into the hook.
  """

  def model_inputs(self, s: DecodeState):
    """Returns (ids_BL, hints_BL or None) fed to the transformer."""
    return s.tokens, None

  def logits(self, s: DecodeState, logits_fn: LogitsFn) -> jax.Array:
    """Transformer logits [B, L, V]; override to call `logits_fn` twice etc."""
    return logits_fn(*self.model_inputs(s))

  def schedule_total(self, s: DecodeState) -> jax.Array:
    """int32/float [B]: the count the mask schedule's ratio multiplies."""
    return s.unknown0

  def adjust_logits(self, s: DecodeState, logits_BLC: jax.Array) -> jax.Array:
    """Logits over image codes before sampling (and before confidences)."""
    return logits_BLC

  def resample_mask(self, s: DecodeState) -> jax.Array:
    """bool [B, L]: positions whose new sample is taken this step."""
    return s.tokens == MASK_ID

  def confidence(self, s: DecodeState, probs_BL: jax.Array,
                 sampled_BL: jax.Array, resample_BL: jax.Array) -> jax.Array:
    """Probability-like score of each sample; +inf = never re-mask."""
    del s, sampled_BL
    return jnp.where(resample_BL, probs_BL, jnp.inf)

  def update_aux(self, s: DecodeState, sampled_BL: jax.Array,
                 next_BL: jax.Array, conf_BL: jax.Array) -> PyTree:
    """aux for the next step (carried through the scan); default unchanged.

    Args:
      s: this step's state.
      sampled_BL: int32 [B, L], this step's tokens before re-masking.
      next_BL: int32 [B, L], the next step's input (MASK_ID = re-masked).
      conf_BL: float32 [B, L], the Gumbel-perturbed log-confidences used to
        choose what to re-mask.
    """
    del sampled_BL, next_BL, conf_BL
    return s.aux


REFERENCE = DecodeHooks()


def decode(logits_fn: LogitsFn,
           inputs_BL: jax.Array,
           rng: jax.Array,
           *,
           num_iter: int,
           start_iter: int = 0,
           num_codes: int = 1024,
           choice_temperature: float = 4.5,
           schedule: str = "cosine",
           hooks: DecodeHooks = REFERENCE,
           aux: PyTree = None,
           return_all: bool = False) -> jax.Array:
  """MaskGIT parallel decoding.

  Args:
    logits_fn: transformer call, (ids_BL, hints_BL | None) -> logits_BLV.
    inputs_BL: int32 [B, L], MASK_ID (-1) at unknown positions.
    rng: PRNG key (typed or raw).
    num_iter: total schedule length.
    start_iter: first step to run (editing enters the schedule late).
    num_codes: image codebook size; logits are cut to the first num_codes.
    choice_temperature: Gumbel temperature of the re-masking choice, annealed
      by (1 - ratio).
    schedule: mask schedule name (see `maskgit.schedules`).
    hooks: sampler customisation.
    aux: per-example arrays handed to the hooks.
    return_all: return the official [B, num_iter, L] buffer (rows before
      start_iter hold the input) instead of only the final tokens.

  Returns:
    int32 [B, L] final tokens (no MASK_ID left), or [B, num_iter, L].
  """
  schedules.validate(schedule)
  if not 0 <= start_iter < num_iter:
    raise ValueError(f"Need 0 <= start_iter < num_iter, got start_iter="
                     f"{start_iter}, num_iter={num_iter}.")
  inputs_BL = jnp.asarray(inputs_BL, jnp.int32)
  unknown0_B = jnp.sum(inputs_BL == MASK_ID, axis=-1)

  def step_fn(carry, step):
    tokens_BL, rng, aux_t = carry
    ratio = (step + 1).astype(jnp.float32) / num_iter
    s = DecodeState(step, ratio, tokens_BL, unknown0_B, aux_t)
    logits_BLC = hooks.logits(s, logits_fn)[..., :num_codes]
    logits_BLC = hooks.adjust_logits(s, logits_BLC)
    rng, sample_rng = jax.random.split(rng, 2)
    sampled_BL = jax.random.categorical(sample_rng, logits_BLC)
    resample_BL = hooks.resample_mask(s)
    sampled_BL = jnp.where(resample_BL, sampled_BL, tokens_BL)

    mask_ratio = schedules.mask_ratio(ratio, hooks.schedule_total(s),
                                      schedule)
    probs_BLC = jax.nn.softmax(logits_BLC, axis=-1)
    probs_BL = jnp.take_along_axis(probs_BLC, sampled_BL[..., None], -1)[..., 0]
    probs_BL = hooks.confidence(s, probs_BL, sampled_BL, resample_BL)
    mask_len_B1 = jnp.floor(hooks.schedule_total(s) * mask_ratio)[:, None]
    mask_len_B1 = jnp.maximum(
        1, jnp.minimum(jnp.sum(resample_BL, -1, keepdims=True) - 1,
                       mask_len_B1))
    rng, choice_rng = jax.random.split(rng)
    temperature = choice_temperature * (1.0 - ratio)
    conf_BL = jnp.log(probs_BL) + temperature * jax.random.gumbel(
        choice_rng, probs_BL.shape)
    cut_B1 = jnp.take_along_axis(jnp.sort(conf_BL, axis=-1),
                                 mask_len_B1.astype(jnp.int32), axis=-1)
    next_BL = jnp.where(conf_BL < cut_B1, MASK_ID, sampled_BL)
    aux_t = hooks.update_aux(s, sampled_BL, next_BL, conf_BL)
    return (next_BL, rng, aux_t), sampled_BL

  steps = jnp.arange(start_iter, num_iter, dtype=jnp.int32)
  _, sampled_TBL = jax.lax.scan(step_fn, (inputs_BL, rng, aux), steps)
  if not return_all:
    return sampled_TBL[-1]
  head = jnp.broadcast_to(inputs_BL[:, None],
                          (inputs_BL.shape[0], start_iter, inputs_BL.shape[1]))
  return jnp.concatenate([head, jnp.moveaxis(sampled_TBL, 0, 1)], axis=1)
