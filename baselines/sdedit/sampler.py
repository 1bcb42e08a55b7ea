"""SDEdit sampling on the VP schedule: perturb the guide to t0, then denoise.

All images here are in the model's range [-1, 1], float [B, H, W, 3].
`t0_B` (int32 [B], traced) is each example's start time, t0 = strength * T
(`VPSchedule.t_from_strength`); examples with different t0 share one batch.

* Perturbation: x_t0 = sqrt(ab_t0) guide + sqrt(1 - ab_t0) z, except t0 = T,
  where x_T = z exactly (strength 1 ignores the guide). t0 = 0 is the guide.
* `ancestral`: SDEdit's sampler, the DDPM reverse chain t0, t0 - 1, ..., 1
  (posterior mean from the predicted x0, clipped to [-1, 1], posterior
  variance; no noise on the last step). One UNet call per unit of t0.
* `ddim`: deterministic DDIM (eta = 0) from t0 to 0 in `num_steps` steps
  at t_k = round(t0 (S - k) / S).
* `masked`: SDEdit's masked variant: after every step the pixels outside
  `region` are replaced by the ORIGINAL re-noised to the current time (fresh
  noise), so the model only generates inside `region` but sees its
  context; at t = 0 they are the original exactly.
* `repeats`: SDEdit's K: the output of one perturb-denoise pass is the guide
  of the next (fresh noise each time).

Every noise draw of example b comes from its own key (`key[b]`, or
fold_in(key, b) for one key): the same key gives the same result, and with
per-example keys an example does not depend on the rest of the batch.
"""

from __future__ import annotations

from typing import Callable

import jax
import jax.numpy as jnp

from baselines.sdedit.schedule import VPSchedule

# eps_fn(x [B,H,W,3], t int32 [B]) -> eps [B,H,W,3] (labels bound inside).
EpsFn = Callable[[jax.Array, jax.Array], jax.Array]
SAMPLERS = ("ancestral", "ddim")


def _bcast(v_B: jax.Array) -> jax.Array:
  return v_B[:, None, None, None]


def _normal(keys_B: jax.Array, like: jax.Array) -> jax.Array:
  """Standard normal noise shaped like `like`, row b from keys_B[b]."""
  return jax.vmap(lambda k: jax.random.normal(k, like.shape[1:],
                                              like.dtype))(keys_B)


def _fold(keys_B: jax.Array, data) -> jax.Array:
  return jax.vmap(lambda k: jax.random.fold_in(k, data))(keys_B)


def example_keys(key: jax.Array, batch: int) -> jax.Array:
  """Typed keys [B]: `key` itself when it holds B keys, else fold_in(key, b)."""
  key = jnp.asarray(key)
  if key.ndim == 1:
    if key.shape[0] != batch:
      raise ValueError(f"{key.shape[0]} keys for a batch of {batch}.")
    return key
  return jax.vmap(lambda b: jax.random.fold_in(key, b))(jnp.arange(batch))


def predict_x0(sched: VPSchedule, x: jax.Array, t_B: jax.Array,
               eps: jax.Array) -> jax.Array:
  ab = _bcast(jnp.asarray(sched.alpha_bars)[t_B])
  return (x - jnp.sqrt(1.0 - ab) * eps) / jnp.sqrt(ab)


def ancestral_step(sched: VPSchedule, eps_fn: EpsFn, x: jax.Array,
                   t_B: jax.Array, keys_B: jax.Array) -> jax.Array:
  """One DDPM step x_t -> x_{t-1} (t >= 1) with the posterior variance."""
  ab = jnp.asarray(sched.alpha_bars)
  betas = jnp.asarray(sched.betas)
  ab_t, ab_p, beta = (_bcast(ab[t_B]), _bcast(ab[t_B - 1]),
                      _bcast(betas[t_B]))
  x0 = jnp.clip(predict_x0(sched, x, t_B, eps_fn(x, t_B)), -1.0, 1.0)
  mean = (jnp.sqrt(ab_p) * beta / (1.0 - ab_t) * x0
          + jnp.sqrt(1.0 - beta) * (1.0 - ab_p) / (1.0 - ab_t) * x)
  var = beta * (1.0 - ab_p) / (1.0 - ab_t)
  z = _normal(keys_B, x)
  return mean + jnp.where(_bcast(t_B) > 1, jnp.sqrt(var), 0.0) * z


def ddim_step(sched: VPSchedule, eps_fn: EpsFn, x: jax.Array, t_B: jax.Array,
              s_B: jax.Array) -> jax.Array:
  """Deterministic DDIM step x_t -> x_s (s < t); x0 clipped to [-1, 1]."""
  ab_s = _bcast(jnp.asarray(sched.alpha_bars)[s_B])
  eps = eps_fn(x, t_B)
  x0 = jnp.clip(predict_x0(sched, x, t_B, eps), -1.0, 1.0)
  return jnp.sqrt(ab_s) * x0 + jnp.sqrt(1.0 - ab_s) * eps


def ddim_times(t0_B: jax.Array, num_steps: int) -> jax.Array:
  """int32 [num_steps + 1, B]: round(t0 (S - k) / S), from t0 down to 0."""
  k = jnp.arange(num_steps + 1, dtype=jnp.float32)[:, None]
  return jnp.round(t0_B[None].astype(jnp.float32) * (num_steps - k)
                   / num_steps).astype(jnp.int32)


def perturb(sched: VPSchedule, x0: jax.Array, t0_B: jax.Array,
            z: jax.Array) -> jax.Array:
  """x_t0 from x0 (pure noise at t0 = T, x0 itself at t0 = 0)."""
  xt = sched.q_sample(x0, t0_B, z)
  return jnp.where(_bcast(t0_B) >= sched.num_timesteps, z, xt)


def sdedit(eps_fn: EpsFn, sched: VPSchedule, guide: jax.Array,
           original: jax.Array, region: jax.Array, t0_B: jax.Array,
           key: jax.Array, *, sampler: str = "ancestral", num_steps: int = 50,
           repeats: int = 1, masked: bool = True) -> jax.Array:
  """SDEdit (see module docstring) -> float [B, H, W, 3] in [-1, 1].

  Args:
    eps_fn: the noise predictor.
    sched: the VP schedule.
    guide: the user's guide, [B, H, W, 3] in [-1, 1].
    original: the unedited image (used by `masked`), same shape.
    region: float [B, H, W, 1], 1 where the model may generate, else 0
      (used by `masked`).
    t0_B: int32 [B] start times in [0, T].
    key: one PRNG key, or typed keys [B] (one per example).
    sampler: 'ancestral' or 'ddim'.
    num_steps: DDIM steps (ignored by ancestral).
    repeats: SDEdit's K >= 1.
    masked: re-noise the original outside `region` at every step.
  """
  if sampler not in SAMPLERS:
    raise ValueError(f"Unknown sampler {sampler!r}; choose one of "
                     f"{', '.join(SAMPLERS)}.")
  if repeats < 1 or num_steps < 1:
    raise ValueError("repeats and num_steps must be >= 1.")

  keys_B = example_keys(key, guide.shape[0])

  def keep_outside(x, t_B, k):
    if not masked:
      return x
    out = sched.q_sample(original, t_B, _normal(k, x))
    return region * x + (1.0 - region) * out

  x_g = guide
  for r in range(repeats):
    key_r = _fold(keys_B, r)
    k0, k1, k_loop = _fold(key_r, 0), _fold(key_r, 1), _fold(key_r, 2)
    x = perturb(sched, x_g, t0_B, _normal(k0, x_g))
    if masked:
      out = perturb(sched, original, t0_B, _normal(k1, x_g))
      x = region * x + (1.0 - region) * out
    if sampler == "ancestral":
      def body(i, x, tmax=jnp.max(t0_B), k_loop=k_loop):
        t = tmax - i
        k_t = _fold(k_loop, t)
        ks, kr = _fold(k_t, 0), _fold(k_t, 1)
        t_B = jnp.full_like(t0_B, t)
        new = keep_outside(ancestral_step(sched, eps_fn, x, t_B, ks),
                           t_B - 1, kr)
        return jnp.where(_bcast(t_B <= t0_B), new, x)
      x = jax.lax.fori_loop(0, jnp.max(t0_B), body, x)
    else:
      times = ddim_times(t0_B, num_steps)

      def body(k, x, times=times, k_loop=k_loop):
        t_B, s_B = times[k], times[k + 1]
        new = keep_outside(ddim_step(sched, eps_fn, x, t_B, s_B), s_B,
                           _fold(k_loop, k))
        return jnp.where(_bcast(t_B > s_B), new, x)
      x = jax.lax.fori_loop(0, num_steps, body, x)
    x_g = x
  return x_g
