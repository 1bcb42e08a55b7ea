"""The VP (DDPM) noise schedule SDEdit uses, in discrete time t = 0..T.

beta_t linear from `beta_start` to `beta_end` for t = 1..T (T = 1000, 1e-4 to
0.02 by default); alpha_bar_t = prod_{s<=t} (1 - beta_s), alpha_bar_0 = 1.
    q(x_t | x_0) = N(sqrt(alpha_bar_t) x_0, (1 - alpha_bar_t) I).
Arrays are float32 of length T + 1 indexed by t (index 0 is t = 0: no noise).
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np


@dataclasses.dataclass(frozen=True)
class VPSchedule:
  num_timesteps: int = 1000
  beta_start: float = 1e-4
  beta_end: float = 0.02

  @classmethod
  def from_config(cls, c) -> "VPSchedule":
    return cls(int(c.num_timesteps), float(c.beta_start), float(c.beta_end))

  @property
  def betas(self) -> np.ndarray:
    """float32 [T + 1]; betas[0] = 0."""
    b = np.linspace(self.beta_start, self.beta_end, self.num_timesteps,
                    dtype=np.float64)
    return np.concatenate([[0.0], b]).astype(np.float32)

  @property
  def alpha_bars(self) -> np.ndarray:
    """float32 [T + 1]; alpha_bars[0] = 1 exactly."""
    b = np.linspace(self.beta_start, self.beta_end, self.num_timesteps,
                    dtype=np.float64)
    return np.concatenate([[1.0], np.cumprod(1.0 - b)]).astype(np.float32)

  def q_sample(self, x0: jax.Array, t: jax.Array, noise: jax.Array
               ) -> jax.Array:
    """x_t = sqrt(ab_t) x0 + sqrt(1 - ab_t) noise; t int [B]."""
    ab = jnp.asarray(self.alpha_bars)[t][:, None, None, None]
    return jnp.sqrt(ab) * x0 + jnp.sqrt(1.0 - ab) * noise

  def t_from_strength(self, strength: jax.Array) -> jax.Array:
    """SDEdit's t0 = strength * T, rounded, int32 in [0, T]."""
    return jnp.clip(jnp.round(jnp.asarray(strength, jnp.float32)
                              * self.num_timesteps), 0,
                    self.num_timesteps).astype(jnp.int32)
