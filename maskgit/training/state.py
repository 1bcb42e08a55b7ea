"""Train state: step, parameters, optimizer state and the rng key data."""

from __future__ import annotations

from typing import Any

from flax import struct
import jax
import jax.numpy as jnp
import optax

PyTree = Any


class TrainState(struct.PyTreeNode):
  """Everything a training step changes (and a checkpoint holds).

  Attributes:
    step: int32 scalar, optimiser steps completed.
    params: trainable parameters (float32 master weights).
    opt_state: optax state of `tx`.
    rng: uint32 key data of the run's base key; the key of step s is
      `fold_in(base, s)`, so resuming at s reproduces every later key.
    tx: the optimiser (static).
  """
  step: jax.Array
  params: PyTree
  opt_state: PyTree
  rng: jax.Array
  tx: optax.GradientTransformation = struct.field(pytree_node=False)

  @classmethod
  def create(cls, params: PyTree, tx: optax.GradientTransformation,
             rng: jax.Array) -> "TrainState":
    return cls(step=jnp.zeros((), jnp.int32), params=params,
               opt_state=tx.init(params), rng=jax.random.key_data(rng), tx=tx)

  def step_key(self) -> jax.Array:
    """Typed key of the current step."""
    return jax.random.fold_in(jax.random.wrap_key_data(self.rng), self.step)

  def apply_gradients(self, grads: PyTree) -> "TrainState":
    updates, opt_state = self.tx.update(grads, self.opt_state, self.params)
    return self.replace(step=self.step + 1,
                        params=optax.apply_updates(self.params, updates),
                        opt_state=opt_state)
