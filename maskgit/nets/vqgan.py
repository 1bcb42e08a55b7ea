"""VQGAN tokenizer (encoder, nearest-neighbour quantizer, decoder), no attention.

Matches the official MaskGIT tokenizer parameter tree and numerics, including
the residual-block quirk: a block that changes width returns
`x + Conv_2(x)` where x is its own output (the input is not added at all).
Images are NHWC float32 in [0, 1]; the decoder output is not clipped.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from maskgit.nets import config_fields


@dataclasses.dataclass(frozen=True)
class TokenizerConfig:
  """Architecture of the VQGAN tokenizer.

  Attributes:
    filters: base width.
    channel_multipliers: width multiplier per resolution level; there are
      len - 1 downsamplings by 2.
    num_res_blocks: residual blocks per level.
    embedding_dim: code vector width.
    num_codes: codebook size.
    num_groups: GroupNorm groups.
    dtype: compute dtype.
  """
  filters: int = 128
  channel_multipliers: Sequence[int] = (1, 1, 2, 2, 4)
  num_res_blocks: int = 2
  embedding_dim: int = 256
  num_codes: int = 1024
  num_groups: int = 32
  dtype: Any = jnp.float32

  @property
  def downsample_factor(self) -> int:
    return 2 ** (len(self.channel_multipliers) - 1)

  @classmethod
  def from_config(cls, cfg) -> "TokenizerConfig":
    kwargs = config_fields.dataclass_kwargs(cls, cfg, "tokenizer")
    kwargs["channel_multipliers"] = tuple(kwargs.get(
        "channel_multipliers", cls.channel_multipliers))
    return cls(**kwargs)


class ResBlock(nn.Module):
  """GN -> swish -> conv3 -> GN -> swish -> conv3, with the official shortcut."""
  filters: int
  config: TokenizerConfig

  @nn.compact
  def __call__(self, x):
    cfg = self.config
    in_dim = x.shape[-1]
    residual = x
    x = nn.GroupNorm(num_groups=cfg.num_groups, dtype=cfg.dtype)(x)
    x = nn.swish(x)
    x = nn.Conv(self.filters, (3, 3), use_bias=False, dtype=cfg.dtype)(x)
    x = nn.GroupNorm(num_groups=cfg.num_groups, dtype=cfg.dtype)(x)
    x = nn.swish(x)
    x = nn.Conv(self.filters, (3, 3), use_bias=False, dtype=cfg.dtype)(x)
    if in_dim != self.filters:
      # Official quirk: the 1x1 "shortcut" is applied to the block's output.
      return x + nn.Conv(self.filters, (1, 1), use_bias=False,
                         dtype=cfg.dtype)(x)
    return x + residual


def _downsample(x):
  return nn.avg_pool(x, (2, 2), strides=(2, 2), padding="SAME")


def _upsample(x):
  return jnp.repeat(jnp.repeat(x, 2, axis=1), 2, axis=2)


class Encoder(nn.Module):
  config: TokenizerConfig

  @nn.compact
  def __call__(self, x):
    cfg = self.config
    x = nn.Conv(cfg.filters, (3, 3), use_bias=False, dtype=cfg.dtype)(x)
    levels = len(cfg.channel_multipliers)
    for i, mult in enumerate(cfg.channel_multipliers):
      for _ in range(cfg.num_res_blocks):
        x = ResBlock(cfg.filters * mult, cfg)(x)
      if i < levels - 1:
        x = _downsample(x)
    for _ in range(cfg.num_res_blocks):
      x = ResBlock(x.shape[-1], cfg)(x)
    x = nn.GroupNorm(num_groups=cfg.num_groups, dtype=cfg.dtype)(x)
    x = nn.swish(x)
    return nn.Conv(cfg.embedding_dim, (1, 1), dtype=cfg.dtype)(x)


class Decoder(nn.Module):
  config: TokenizerConfig

  @nn.compact
  def __call__(self, z):
    cfg = self.config
    mults = cfg.channel_multipliers
    x = nn.Conv(cfg.filters * mults[-1], (3, 3), dtype=cfg.dtype)(z)
    for _ in range(cfg.num_res_blocks):
      x = ResBlock(x.shape[-1], cfg)(x)
    for i in reversed(range(len(mults))):
      for _ in range(cfg.num_res_blocks):
        x = ResBlock(cfg.filters * mults[i], cfg)(x)
      if i > 0:
        x = _upsample(x)
        x = nn.Conv(x.shape[-1], (3, 3), dtype=cfg.dtype)(x)
    x = nn.GroupNorm(num_groups=cfg.num_groups, dtype=cfg.dtype)(x)
    x = nn.swish(x)
    return nn.Conv(3, (3, 3), dtype=cfg.dtype)(x)


class Quantizer(nn.Module):
  """Nearest-L2 vector quantizer over a learned codebook [num_codes, dim]."""
  config: TokenizerConfig

  def setup(self):
    cfg = self.config
    self.codebook = self.param(
        "codebook",
        nn.initializers.variance_scaling(1.0, "fan_in", "uniform"),
        (cfg.num_codes, cfg.embedding_dim))

  def distances(self, z_BHWD):
    """Squared L2 distance of each vector to each code: [B, H, W, C]."""
    codebook = jnp.asarray(self.codebook, jnp.float32)
    z = z_BHWD.astype(jnp.float32).reshape(-1, z_BHWD.shape[-1])
    d = (jnp.sum(z ** 2, axis=1, keepdims=True)
         - 2 * jnp.matmul(z, codebook.T)
         + jnp.sum(codebook.T ** 2, axis=0, keepdims=True))
    return d.reshape(z_BHWD.shape[:-1] + (codebook.shape[0],))

  def __call__(self, z_BHWD):
    return jnp.argmin(self.distances(z_BHWD), axis=-1).astype(jnp.int32)

  def lookup(self, ids_BHW):
    return jnp.take(jnp.asarray(self.codebook), ids_BHW, axis=0)


class VQGAN(nn.Module):
  """Tokenizer with `encode`, `decode`, `quantize` and `decode_ids` methods.

  `__call__(images)` returns (reconstruction, code ids, pre-quantization
  latents) and is used for initialisation and training.
  """
  config: TokenizerConfig

  def setup(self):
    self.encoder = Encoder(self.config)
    self.decoder = Decoder(self.config)
    self.quantizer = Quantizer(self.config)

  def encode(self, images_BHW3):
    """Images in [0, 1] -> continuous latents [B, H/f, W/f, D]."""
    return self.encoder(images_BHW3.astype(self.config.dtype))

  def encode_ids(self, images_BHW3):
    """Images in [0, 1] -> int32 code ids [B, H/f, W/f]."""
    return self.quantizer(self.encode(images_BHW3))

  def quantize(self, z_BHWD):
    """Latents -> (quantized vectors, ids)."""
    ids = self.quantizer(z_BHWD)
    return self.quantizer.lookup(ids), ids

  def decode(self, z_BHWD):
    """Quantized latents -> float32 images (unclipped)."""
    return self.decoder(z_BHWD.astype(self.config.dtype)).astype(jnp.float32)

  def decode_ids(self, ids_BHW):
    """int32 code ids [B, h, w] -> float32 images [B, h*f, w*f, 3]."""
    return self.decode(self.quantizer.lookup(ids_BHW))

  def get_codebook(self):
    return jnp.asarray(self.quantizer.codebook)

  def __call__(self, images_BHW3):
    z = self.encode(images_BHW3)
    zq, ids = self.quantize(z)
    # Straight-through estimator so the encoder gets reconstruction gradients.
    zq_st = z + jax.lax.stop_gradient(zq.astype(z.dtype) - z)
    return self.decode(zq_st), ids, z


def init_params(config: TokenizerConfig, rng: jax.Array, image_size: int = 0):
  """Random parameters ({'params': ...}); image_size defaults to 2 tokens."""
  size = image_size or 2 * config.downsample_factor
  images = jnp.zeros((1, size, size, 3), jnp.float32)
  return VQGAN(config).init({"params": rng}, images)
