"""Bidirectional (BERT-style) transformer over VQ tokens, as in MaskGIT.

Parameter names follow the official release so that its msgpack files load
unchanged (see `maskgit.checkpoints`). The layers can run unrolled (official
layout: `TransformerLayer_0 ... TransformerLayer_{N-1}`) or under `nn.scan`
with optional rematerialisation (scan layout: one `TransformerLayers` subtree
whose leaves carry a leading layer axis). `maskgit.checkpoints` converts
between the two layouts losslessly.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp

from maskgit.nets import config_fields

LAYERNORM_EPSILON = 1e-12
SCAN_NAME = "TransformerLayers"
ATTENTION_IMPLS = ("reference", "auto", "xla", "cudnn")


@dataclasses.dataclass(frozen=True)
class TransformerConfig:
  """Architecture of the MaskGIT transformer (all fields are hyper-parameters).

  Attributes:
    num_codes: image codebook size C (image token ids are 0..C-1).
    num_classes: class tokens (ids C..C+num_classes-1).
    seq_len: 1 class token + (image_size / 16)^2 image tokens.
    hidden_size: model width.
    num_layers: transformer layers.
    num_heads: attention heads (head dim = hidden_size // num_heads).
    mlp_dim: MLP hidden width.
    dropout_rate: hidden dropout (train only).
    attention_dropout_rate: attention-probability dropout (train only).
    scan_layers: run the layers under `nn.scan` (scan parameter layout).
    remat: rematerialise each layer in the backward pass (memory for compute).
    dtype: compute dtype (parameters stay float32).
    num_hint_codes: 0 for the plain MaskGIT; > 0 adds a hint embedding table
      (self-conditioning) with this many rows. Hint id -1 means "no hint".
    attention_impl: "reference" (flax's einsum attention, the release's
      numerics; default), or `jax.nn.dot_product_attention` with
      implementation "auto" (JAX picks; cuDNN where it applies), "xla" or
      "cudnn" (fused flash attention on NVIDIA GPUs; needs bf16/fp16 compute).
      The fused paths have no attention dropout: while attention dropout is
      active (training with attention_dropout_rate > 0) they run the
      reference attention.
    hint_features: 0 for the plain MaskGIT; > 0 adds continuous per-token
      hints float [B, L, hint_features] (`maskgit_edit.hints`: the guide's
      appearance), projected by a zero-initialised Dense and added to the
      token embedding, gated by the last feature (1 = hinted, 0 = no hint).
      Exclusive with num_hint_codes.
  """
  num_codes: int = 1024
  num_classes: int = 1000
  seq_len: int = 257
  hidden_size: int = 768
  num_layers: int = 24
  num_heads: int = 16
  mlp_dim: int = 3072
  dropout_rate: float = 0.1
  attention_dropout_rate: float = 0.1
  scan_layers: bool = False
  remat: bool = False
  dtype: Any = jnp.float32
  num_hint_codes: int = 0
  hint_features: int = 0
  attention_impl: str = "reference"

  def __post_init__(self):
    if self.attention_impl not in ATTENTION_IMPLS:
      raise ValueError(f"attention_impl must be one of {ATTENTION_IMPLS}, "
                       f"got {self.attention_impl!r}.")
    if self.num_hint_codes and self.hint_features:
      raise ValueError("num_hint_codes and hint_features are exclusive, got "
                       f"{self.num_hint_codes} and {self.hint_features}.")

  @property
  def vocab_size(self) -> int:
    """Image codes + class tokens + one [MASK] row."""
    return self.num_codes + self.num_classes + 1

  @property
  def mask_token_id(self) -> int:
    """Row of the embedding used for the -1 mask token."""
    return self.vocab_size - 1

  @property
  def num_image_tokens(self) -> int:
    return self.seq_len - 1

  @classmethod
  def from_config(cls, cfg) -> "TransformerConfig":
    """Builds from an ml_collections ConfigDict (unknown fields are an error)."""
    return cls(**config_fields.dataclass_kwargs(cls, cfg, "transformer"))


_init = nn.initializers.truncated_normal(stddev=0.02)


class Bias(nn.Module):
  """A lone learned bias (the output head's `mlm_bias`)."""
  size: int

  @nn.compact
  def __call__(self, x):
    bias = self.param("bias", nn.initializers.zeros, (self.size,))
    return x + jnp.asarray(bias, x.dtype).reshape((1,) * (x.ndim - 1) + (-1,))


class Embed(nn.Module):
  """Word + position embeddings -> LayerNorm -> dropout."""
  config: TransformerConfig

  @nn.compact
  def __call__(self, ids_BL, hint_BL, deterministic: bool,
               position_ids_BL=None):
    cfg = self.config
    # The official mask token id is -1; it addresses the last row.
    ids_BL = jnp.where(ids_BL < 0, cfg.vocab_size + ids_BL, ids_BL)
    word = nn.Embed(cfg.vocab_size, cfg.hidden_size, embedding_init=_init,
                    name="word_embeddings")
    pos = nn.Embed(cfg.seq_len, cfg.hidden_size, embedding_init=_init,
                   name="position_embeddings")
    length = ids_BL.shape[-1]
    if length > cfg.seq_len:
      raise ValueError(f"Sequence of {length} tokens exceeds seq_len "
                       f"{cfg.seq_len}.")
    if position_ids_BL is None:
      position_ids_BL = jnp.arange(length)[None]
    # Explicit ids: a window of the image keeps its absolute positions.
    x = word(ids_BL) + pos(position_ids_BL)
    if cfg.num_hint_codes:
      # Hint row 0 is "no hint" and is zero-initialised, so a fresh hint table
      # leaves the base model's outputs unchanged.
      hint = nn.Embed(cfg.num_hint_codes + 1, cfg.hidden_size,
                      embedding_init=nn.initializers.zeros,
                      name="hint_embeddings")
      if hint_BL is None:
        hint_BL = jnp.full(ids_BL.shape, -1, jnp.int32)
      x = x + hint(jnp.maximum(hint_BL, -1) + 1)
    elif cfg.hint_features:
      # Zero-initialised projection, gated by the "hinted" flag (last
      # feature): unhinted tokens get exactly the base embedding.
      proj = nn.Dense(cfg.hidden_size, kernel_init=nn.initializers.zeros,
                      name="hint_projection")
      if hint_BL is not None:
        if hint_BL.shape != ids_BL.shape + (cfg.hint_features,):
          raise ValueError(f"Hint features {hint_BL.shape}, expected "
                           f"{ids_BL.shape + (cfg.hint_features,)}.")
        hint_BL = hint_BL.astype(jnp.float32)
        x = x + hint_BL[..., -1:] * proj(hint_BL)
    elif hint_BL is not None:
      raise ValueError("Hints given to a transformer without num_hint_codes "
                       "or hint_features.")
    x = nn.LayerNorm(epsilon=LAYERNORM_EPSILON, name="embeddings_ln")(x)
    x = nn.Dropout(rate=cfg.dropout_rate)(x, deterministic=deterministic)
    return x.astype(cfg.dtype)


def fused_attention(query, key, value, mask=None, dropout_rng=None,
                    dropout_rate=0.0, broadcast_dropout=True,
                    deterministic=False, dtype=None, precision=None, *,
                    implementation=None):
  """`attention_fn` for flax attention backed by jax.nn.dot_product_attention.

  Args:
    query, key, value: [B, L, H, D] (flax's layout, also JAX's).
    mask, dropout_rng, dropout_rate, broadcast_dropout, deterministic, dtype,
      precision: as `flax.linen.dot_product_attention`.
    implementation: None (JAX chooses), "xla" or "cudnn".

  Returns:
    [B, L, H, D] attention outputs.
  """
  if not deterministic and dropout_rate > 0.0:
    # The fused kernels have no attention dropout: train with the reference.
    return nn.dot_product_attention(
        query, key, value, mask=mask, dropout_rng=dropout_rng,
        dropout_rate=dropout_rate, broadcast_dropout=broadcast_dropout,
        deterministic=deterministic, dtype=dtype, precision=precision)
  if dtype is not None:
    query, key, value = (jnp.asarray(t, dtype) for t in (query, key, value))
  return jax.nn.dot_product_attention(query, key, value, mask=mask,
                                      implementation=implementation)


class Attention(nn.Module):
  """Post-LN self-attention block."""
  config: TransformerConfig

  @nn.compact
  def __call__(self, x, deterministic: bool):
    cfg = self.config
    extra = {}
    if cfg.attention_impl != "reference":
      impl = None if cfg.attention_impl == "auto" else cfg.attention_impl
      extra["attention_fn"] = functools.partial(fused_attention,
                                                implementation=impl)
    y = nn.MultiHeadDotProductAttention(
        num_heads=cfg.num_heads, qkv_features=cfg.hidden_size,
        dropout_rate=cfg.attention_dropout_rate, deterministic=deterministic,
        kernel_init=_init, bias_init=nn.initializers.zeros, dtype=cfg.dtype,
        name="self_attention", **extra)(x, x)
    y = nn.Dropout(rate=cfg.dropout_rate)(y, deterministic=deterministic)
    return nn.LayerNorm(epsilon=LAYERNORM_EPSILON, dtype=cfg.dtype,
                        name="attention_output_ln")(y + x)


class Mlp(nn.Module):
  """Post-LN MLP block."""
  config: TransformerConfig

  @nn.compact
  def __call__(self, x, deterministic: bool):
    cfg = self.config
    y = nn.Dense(cfg.mlp_dim, kernel_init=_init, dtype=cfg.dtype,
                 name="intermediate_output")(x)
    y = nn.gelu(y)
    y = nn.Dense(cfg.hidden_size, kernel_init=_init, dtype=cfg.dtype,
                 name="layer_output")(y)
    y = nn.Dropout(rate=cfg.dropout_rate)(y, deterministic=deterministic)
    return nn.LayerNorm(epsilon=LAYERNORM_EPSILON, dtype=cfg.dtype,
                        name="layer_output_ln")(y + x)


class TransformerLayer(nn.Module):
  """One BERT layer. Returns (x, None) so it can be the body of `nn.scan`."""
  config: TransformerConfig
  deterministic: bool = True

  @nn.compact
  def __call__(self, x, _=None):
    x = Attention(self.config)(x, self.deterministic)
    x = Mlp(self.config)(x, self.deterministic)
    return x, None


class MlmLayer(nn.Module):
  """Output head: Dense -> gelu -> LN -> tied embedding matmul + bias."""
  config: TransformerConfig

  @nn.compact
  def __call__(self, x, embedding_VD):
    cfg = self.config
    x = nn.Dense(cfg.hidden_size, kernel_init=_init, dtype=cfg.dtype,
                 name="mlm_dense")(x)
    x = nn.gelu(x)
    x = nn.LayerNorm(epsilon=LAYERNORM_EPSILON, dtype=cfg.dtype,
                     name="mlm_ln")(x)
    logits = jnp.einsum("bld,vd->blv", x, embedding_VD.astype(x.dtype))
    return Bias(cfg.vocab_size, name="mlm_bias")(logits)


class Transformer(nn.Module):
  """MaskGIT's bidirectional transformer.

  Call with int32 token ids [B, L] (class token at position 0, -1 for [MASK])
  and optionally hints: ids int32 [B, L] (-1 = no hint; `num_hint_codes`)
  or features float32 [B, L, F] (last feature 0 = no hint; `hint_features`);
  absolute position ids [B, L] (default 0..L-1; used to run on a window).
  Returns float32 logits [B, L, vocab_size] over the full vocabulary.
  """
  config: TransformerConfig

  @nn.compact
  def __call__(self, ids_BL, hint_BL=None, *, deterministic: bool = True,
               position_ids=None):
    cfg = self.config
    embed = Embed(cfg, name="Embed_0")
    x = embed(ids_BL, hint_BL, deterministic, position_ids)
    layer_cls = TransformerLayer
    if cfg.remat:
      layer_cls = nn.remat(layer_cls, prevent_cse=not cfg.scan_layers)
    if cfg.scan_layers:
      stack = nn.scan(layer_cls, variable_axes={"params": 0},
                      split_rngs={"params": True, "dropout": True},
                      length=cfg.num_layers)
      x, _ = stack(cfg, deterministic, name=SCAN_NAME)(x, None)
    else:
      for i in range(cfg.num_layers):
        x, _ = layer_cls(cfg, deterministic, name=f"TransformerLayer_{i}")(x)
    embedding = embed.variables["params"]["word_embeddings"]["embedding"]
    logits = MlmLayer(cfg, name="MlmLayer_0")(x, embedding)
    return logits.astype(jnp.float32)


def init_params(config: TransformerConfig, rng: jax.Array, batch: int = 1):
  """Random parameters ({'params': ...}) for `config`."""
  ids = jnp.zeros((batch, config.seq_len), jnp.int32)
  hints = ids if config.num_hint_codes else None
  if config.hint_features:
    hints = jnp.zeros((batch, config.seq_len, config.hint_features))
  return Transformer(config).init({"params": rng}, ids, hints)
