"""Continuous self-conditioning hints: the guide's appearance per token.

A hint tells the hinted transformer (`TransformerConfig.hint_features`) what
the user painted over each token: the guide's pixels in the token's f x f
patch average-pooled to r x r x 3 (scaled to [-1, 1]), the fraction of the
patch's pixels that were painted, and a "hinted" flag. The transformer adds
flag * Dense(features) (zero-initialised) to the token embedding, so a token
with flag 0 (or no hint array at all) gets exactly the base embedding.

Layout of the last axis (F = r*r*3 + 2):
  [0, r*r*3)  pooled guide RGB, 2 * value - 1, row-major r x r then RGB;
  r*r*3       painted fraction in [0, 1];
  r*r*3 + 1   hinted flag (1 = hint present, 0 = no hint: all features 0).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from maskgit_edit import guidance

NUM_EXTRA = 2  # Painted fraction + hinted flag.
# A pixel is painted when some channel differs by more than half an 8-bit step.
PAINT_THRESHOLD = 0.5 / 255.0


def num_features(res: int) -> int:
  """F for pooling side `res`."""
  if res < 1:
    raise ValueError(f"Hint pooling side must be >= 1, got {res}.")
  return res * res * 3 + NUM_EXTRA


def res_for(num_feats: int) -> int:
  """Pooling side r of a model with `num_feats` hint features."""
  r = int(round(((num_feats - NUM_EXTRA) / 3) ** 0.5))
  if r < 1 or num_features(r) != num_feats:
    raise ValueError(f"hint_features {num_feats} is not r*r*3 + "
                     f"{NUM_EXTRA} for an integer r >= 1.")
  return r


def painted_pixels(images_BHW3: jax.Array,
                   guides_BHW3: jax.Array) -> jax.Array:
  """bool [B, H, W]: pixels where the guide differs from the image."""
  diff = jnp.abs(guides_BHW3.astype(jnp.float32)
                 - images_BHW3.astype(jnp.float32))
  return jnp.max(diff, axis=-1) > PAINT_THRESHOLD


def token_appearance(guides_BHW3: jax.Array, painted_BHW: jax.Array,
                     factor: int, res: int) -> jax.Array:
  """Hint features of every token, float32 [B, (H/f)*(W/f), r*r*3 + 2].

  Args:
    guides_BHW3: float guides in [0, 1], H and W multiples of `factor`.
    painted_BHW: bool/float painted (edited) pixels.
    factor: token patch side f.
    res: pooling side r (must divide f).

  Returns:
    Features with the flag set (1) at every token; select positions with
    `select`.
  """
  if factor % res:
    raise ValueError(f"Hint pooling side {res} must divide the patch size "
                     f"{factor}.")
  b, h, w, _ = guides_BHW3.shape
  if h % factor or w % factor:
    raise ValueError(f"Guide side {h}x{w} is not a multiple of {factor}.")
  rgb = guidance.pool_patches(guides_BHW3.astype(jnp.float32), factor, res)
  frac = guidance.pool_patches(
      jnp.repeat(painted_BHW.astype(jnp.float32)[..., None], 3, -1),
      factor, 1)[..., :1]
  feats = jnp.concatenate([2.0 * rgb - 1.0, frac, jnp.ones_like(frac)], -1)
  return feats.reshape(b, (h // factor) * (w // factor), -1)


def select(features_BNF: jax.Array, where_BN: jax.Array) -> jax.Array:
  """Keeps the hints at `where_BN` (bool [B, N]); zeros elsewhere (no hint)."""
  return jnp.where(where_BN[..., None], features_BNF, 0.0)


def with_class_token(features_BNF: jax.Array) -> jax.Array:
  """[B, N, F] -> [B, 1 + N, F]: no hint at the class token."""
  return jnp.pad(features_BNF, ((0, 0), (1, 0), (0, 0)))


def none_like(ids_BL: jax.Array, num_feats: int) -> jax.Array:
  """No hint anywhere, float32 [B, L, F]."""
  return jnp.zeros(ids_BL.shape + (num_feats,), jnp.float32)


def with_hint_projection(model, res: int = 2, seed: int | None = None):
  """`model`'s weights in an appearance-hinted transformer.

  Args:
    model: a `maskgit.model.MaskGIT` (plain transformer).
    res: hint pooling side r (F = r*r*3 + 2).
    seed: None for the zero projection (computes exactly what `model`
      computes, hinted or not); an int for a random one (tests).

  Returns:
    A MaskGIT whose config has `transformer.hint_features = F`.
  """
  from maskgit import model as model_lib  # pylint: disable=g-import-not-at-top
  config = model.config.copy_and_resolve_references()
  config.transformer.num_hint_codes = 0
  config.transformer.hint_features = num_features(res)
  d = model.transformer_config.hidden_size
  shape = (config.transformer.hint_features, d)
  if seed is None:
    kernel, bias = jnp.zeros(shape), jnp.zeros((d,))
  else:
    k1, k2 = jax.random.split(jax.random.key(seed))
    kernel = jax.random.normal(k1, shape)
    bias = jax.random.normal(k2, (d,))
  params = dict(model.transformer_params)
  embed = {k: v for k, v in params["Embed_0"].items()
           if k != "hint_embeddings"}
  embed["hint_projection"] = {"kernel": kernel, "bias": bias}
  params["Embed_0"] = embed
  return model_lib.MaskGIT(config, model.tokenizer_params, params)
