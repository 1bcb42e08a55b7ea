"""A DDPM-style UNet (Ho et al. 2020, as used by SDEdit), sized by config.

eps_theta(x_t, t, label): x_t float [B, S, S, 3] (images scaled to [-1, 1]
plus noise), t int/float [B] in [0, T], label int [B] (num_classes = none:
the null class, used when the model is unconditional) -> float [B, S, S, 3].

Levels: `channel_mults[i] * base_channels` channels at side S / 2^i, with
`num_res_blocks` residual blocks on the way down and one more on the way up
(skip connections concatenated), self-attention at the sides listed in
`attn_resolutions`, a middle of res-attn-res at the lowest side. Residual
blocks: GroupNorm -> swish -> conv, plus a projection of the time (+ class)
embedding, GroupNorm -> swish -> dropout -> zero-initialised conv. The output
conv is zero-initialised, so a fresh model predicts eps = 0.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp


@dataclasses.dataclass(frozen=True)
class UNetConfig:
  """Architecture hyper-parameters (configs/diffusion.py, `model.unet`)."""
  image_size: int = 64
  base_channels: int = 32
  channel_mults: tuple[int, ...] = (1, 2, 2, 2)
  num_res_blocks: int = 1
  attn_resolutions: tuple[int, ...] = (8,)
  dropout: float = 0.0
  num_classes: int = 0  # 0 = unconditional.
  num_groups: int = 8  # GroupNorm groups (must divide every width).

  @classmethod
  def from_config(cls, model_config) -> "UNetConfig":
    """From a `model` ConfigDict with `image_size`, `num_classes`, `unet`."""
    u = dict(model_config.unet)
    known = {f.name for f in dataclasses.fields(cls)}
    bad = sorted(set(u) - known)
    if bad:
      raise ValueError(f"Unknown model.unet fields {bad}; known: "
                       f"{sorted(known - {'image_size', 'num_classes'})}.")
    u["channel_mults"] = tuple(int(m) for m in u.get("channel_mults", (1,)))
    u["attn_resolutions"] = tuple(int(r) for r in
                                  u.get("attn_resolutions", ()))
    return cls(image_size=int(model_config.image_size),
               num_classes=int(model_config.num_classes), **u)

  def validate(self) -> "UNetConfig":
    levels = len(self.channel_mults)
    if self.image_size % 2 ** (levels - 1):
      raise ValueError(f"image_size {self.image_size} is not divisible by "
                       f"2^{levels - 1} ({levels} levels).")
    for m in self.channel_mults:
      if (m * self.base_channels) % self.num_groups:
        raise ValueError(f"num_groups {self.num_groups} does not divide "
                         f"width {m * self.base_channels}.")
    return self


def timestep_embedding(t: jax.Array, dim: int) -> jax.Array:
  """Sinusoidal embedding of float t [B] -> [B, dim] (as in DDPM)."""
  half = dim // 2
  freqs = jnp.exp(-math.log(10_000.0) * jnp.arange(half, dtype=jnp.float32)
                  / max(half - 1, 1))
  args = t.astype(jnp.float32)[:, None] * freqs[None]
  return jnp.concatenate([jnp.sin(args), jnp.cos(args)], axis=-1)


class ResBlock(nn.Module):
  out_channels: int
  num_groups: int
  dropout: float

  @nn.compact
  def __call__(self, x, emb, train: bool):
    h = nn.swish(nn.GroupNorm(self.num_groups)(x))
    h = nn.Conv(self.out_channels, (3, 3))(h)
    h = h + nn.Dense(self.out_channels)(nn.swish(emb))[:, None, None]
    h = nn.swish(nn.GroupNorm(self.num_groups)(h))
    h = nn.Dropout(self.dropout, deterministic=not train)(h)
    h = nn.Conv(self.out_channels, (3, 3),
                kernel_init=nn.initializers.zeros)(h)
    if x.shape[-1] != self.out_channels:
      x = nn.Conv(self.out_channels, (1, 1))(x)
    return x + h


class AttnBlock(nn.Module):
  num_groups: int

  @nn.compact
  def __call__(self, x):
    b, h, w, c = x.shape
    y = nn.GroupNorm(self.num_groups)(x).reshape(b, h * w, c)
    q, k, v = jnp.split(nn.Dense(3 * c)(y), 3, axis=-1)
    att = jax.nn.softmax(jnp.einsum("bqc,bkc->bqk", q, k) / math.sqrt(c), -1)
    y = jnp.einsum("bqk,bkc->bqc", att, v)
    y = nn.Dense(c, kernel_init=nn.initializers.zeros)(y)
    return x + y.reshape(b, h, w, c)


class UNet(nn.Module):
  """eps_theta (see module docstring)."""
  config: UNetConfig

  @nn.compact
  def __call__(self, x, t, label=None, train: bool = False):
    cfg = self.config
    ch = cfg.base_channels
    g = cfg.num_groups
    emb = timestep_embedding(t, ch)
    emb = nn.Dense(4 * ch)(emb)
    emb = nn.Dense(4 * ch)(nn.swish(emb))
    if cfg.num_classes:
      if label is None:
        label = jnp.full((x.shape[0],), cfg.num_classes, jnp.int32)
      # num_classes + 1 rows: the last is the null class.
      emb = emb + nn.Embed(cfg.num_classes + 1, 4 * ch)(label)
    h = nn.Conv(ch, (3, 3))(x)
    skips = [h]
    side = cfg.image_size
    levels = len(cfg.channel_mults)
    for i, mult in enumerate(cfg.channel_mults):
      for _ in range(cfg.num_res_blocks):
        h = ResBlock(mult * ch, g, cfg.dropout)(h, emb, train)
        if side in cfg.attn_resolutions:
          h = AttnBlock(g)(h)
        skips.append(h)
      if i < levels - 1:
        h = nn.Conv(h.shape[-1], (3, 3), strides=(2, 2))(h)
        side //= 2
        skips.append(h)
    h = ResBlock(h.shape[-1], g, cfg.dropout)(h, emb, train)
    h = AttnBlock(g)(h)
    h = ResBlock(h.shape[-1], g, cfg.dropout)(h, emb, train)
    for i, mult in reversed(list(enumerate(cfg.channel_mults))):
      for _ in range(cfg.num_res_blocks + 1):
        h = jnp.concatenate([h, skips.pop()], axis=-1)
        h = ResBlock(mult * ch, g, cfg.dropout)(h, emb, train)
        if side in cfg.attn_resolutions:
          h = AttnBlock(g)(h)
      if i > 0:
        b, hh, ww, c = h.shape
        h = jax.image.resize(h, (b, 2 * hh, 2 * ww, c), "nearest")
        h = nn.Conv(c, (3, 3))(h)
        side *= 2
    assert not skips
    h = nn.swish(nn.GroupNorm(g)(h))
    return nn.Conv(x.shape[-1], (3, 3), kernel_init=nn.initializers.zeros)(h)


def num_params(params) -> int:
  return sum(int(x.size) for x in jax.tree.leaves(params))


def init(config: UNetConfig, rng: jax.Array) -> dict:
  """Fresh parameters for `config` (pure; works under eval_shape/jit)."""
  s = config.image_size
  return UNet(config).init(
      {"params": rng}, jnp.zeros((1, s, s, 3), jnp.float32),
      jnp.zeros((1,), jnp.float32), jnp.zeros((1,), jnp.int32))["params"]


def channel_widths(config: UNetConfig) -> Sequence[int]:
  return [m * config.base_channels for m in config.channel_mults]
