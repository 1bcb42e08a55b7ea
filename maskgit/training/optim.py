"""Optimiser: AdamW with warmup + cosine/linear decay and gradient clipping.

Gradient accumulation is done inside the jitted step (`accumulate`), so one
optimiser step always consumes one global batch and the schedule counts
optimiser steps. bf16 compute keeps float32 master weights: the nets cast
activations to `dtype` while their parameters stay float32.
"""

from __future__ import annotations

from typing import Any, Callable

import jax
import jax.numpy as jnp
import optax

from maskgit.training import ConfigError

PyTree = Any


def make_schedule(cfg, num_steps: int) -> optax.Schedule:
  """Linear warmup 0 -> lr over warmup_steps, then `decay` to lr * end_factor."""
  lr, warm = float(cfg.learning_rate), int(cfg.warmup_steps)
  end = lr * float(cfg.end_lr_factor)
  decay_steps = max(1, int(num_steps) - warm)
  if cfg.decay == "cosine":
    after = optax.cosine_decay_schedule(lr, decay_steps,
                                        alpha=float(cfg.end_lr_factor))
  elif cfg.decay == "linear":
    after = optax.linear_schedule(lr, end, decay_steps)
  elif cfg.decay == "constant":
    after = optax.constant_schedule(lr)
  else:
    raise ConfigError(f"Unknown optim.decay {cfg.decay!r}; choose cosine, "
                      "linear or constant.")
  if warm <= 0:
    return after
  return optax.join_schedules(
      [optax.linear_schedule(0.0, lr, warm), after], [warm])


def _decay_mask(params: PyTree) -> PyTree:
  # Weight decay on matrices/kernels only, not on biases, norms' scales.
  return jax.tree.map(lambda x: jnp.ndim(x) >= 2, params)


def make_optimizer(cfg, num_steps: int) -> optax.GradientTransformation:
  """Clip by global norm -> AdamW(schedule), weight decay on >=2-D leaves."""
  tx = optax.adamw(make_schedule(cfg, num_steps), b1=float(cfg.b1),
                   b2=float(cfg.b2), eps=float(cfg.eps),
                   weight_decay=float(cfg.weight_decay), mask=_decay_mask)
  if cfg.grad_clip and float(cfg.grad_clip) > 0:
    tx = optax.chain(optax.clip_by_global_norm(float(cfg.grad_clip)), tx)
  return tx


def accumulate(grad_fn: Callable[..., tuple[PyTree, dict]], params: PyTree,
               batch: dict[str, jax.Array], rng: jax.Array, steps: int,
               *args) -> tuple[PyTree, dict]:
  """Mean gradients and metrics of `grad_fn` over `steps` micro-batches.

  grad_fn(params, batch, rng, *args) -> (grads, metrics). The batch [B, ...]
  is split into micro-batches of B / steps examples (example i goes to
  micro-batch i % steps, which keeps each device's examples local).
  """
  if steps <= 1:
    return grad_fn(params, batch, rng, *args)

  def split(x):
    b = x.shape[0]
    return jnp.swapaxes(x.reshape((b // steps, steps) + x.shape[1:]), 0, 1)

  micro = jax.tree.map(split, batch)
  rngs = jax.random.split(rng, steps)

  def body(carry, xs):
    mb, r = xs
    g, m = grad_fn(params, mb, r, *args)
    return jax.tree.map(jnp.add, carry, (g, m)), None

  zeros = jax.eval_shape(grad_fn, params, jax.tree.map(lambda x: x[0], micro),
                         rngs[0], *args)
  zeros = jax.tree.map(lambda s: jnp.zeros(s.shape, s.dtype), zeros)
  total, _ = jax.lax.scan(body, zeros, (micro, rngs))
  return jax.tree.map(lambda x: x / steps, total)
