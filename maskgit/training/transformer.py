"""Recipe `transformer`: MaskGIT masked-token training.

Images are tokenized by a frozen VQGAN (`config.tokenizer_path`, an official
msgpack file; random weights when empty, for tests only). Each example masks a
fraction cos(pi/2 * r), r ~ U(0, 1), of its image tokens (at least one); the
class token stays. Loss: label-smoothed cross-entropy over the image codes,
averaged over masked positions. Initialisation from scratch or from an
official transformer msgpack (`config.init_from`). Export: the official
transformer msgpack.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Any

from absl import logging
import jax
import jax.numpy as jnp
import numpy as np
import optax

from maskgit import checkpoints
from maskgit import decode as decode_lib
from maskgit import schedules
from maskgit.nets import transformer as transformer_lib
from maskgit.nets import vqgan
from maskgit.training import ConfigError
from maskgit.training import recipe as recipe_lib
from maskgit.training.recipe import Recipe

PyTree = Any
MASK_ID = -1


def tokenizer_config(config) -> vqgan.TokenizerConfig:
  return vqgan.TokenizerConfig.from_config(config.model.tokenizer)


def transformer_config(config, **overrides
                       ) -> transformer_lib.TransformerConfig:
  cfg = transformer_lib.TransformerConfig.from_config(config.model.transformer)
  return dataclasses.replace(cfg, **overrides) if overrides else cfg


def load_or_random_tokenizer(config) -> PyTree:
  """Official tokenizer weights from config.tokenizer_path, else random."""
  tok_cfg = tokenizer_config(config)
  if config.tokenizer_path:
    try:
      return checkpoints.load_tokenizer(config.tokenizer_path, tok_cfg)
    except checkpoints.CheckpointError as e:
      raise ConfigError(str(e)) from e
  logging.warning("No tokenizer_path: tokenizing with RANDOM VQGAN weights "
                  "(only meaningful for tests and benchmarks).")
  params = vqgan.init_params(tok_cfg, jax.random.key(int(config.seed) + 7),
                             int(config.model.image_size))["params"]
  return jax.tree.map(np.asarray, params)


def tokenize(tok_cfg: vqgan.TokenizerConfig, tok_params: PyTree,
             images_BHW3: jax.Array, labels_B: jax.Array,
             num_codes: int) -> jax.Array:
  """Images + labels -> int32 token sequences [B, 1 + h*w] (class first)."""
  ids = vqgan.VQGAN(tok_cfg).apply({"params": tok_params}, images_BHW3,
                                   method=vqgan.VQGAN.encode_ids)
  ids = ids.reshape(ids.shape[0], -1)
  cls = (labels_B.astype(jnp.int32) + num_codes)[:, None]
  return jnp.concatenate([cls, ids], axis=1)


def random_mask(rng: jax.Array, batch: int, num_tokens: int) -> jax.Array:
  """bool [B, N]: cosine-schedule masks, at least one True per row."""
  k_ratio, k_pos = jax.random.split(rng)
  r = jax.random.uniform(k_ratio, (batch,))
  ratio = schedules.mask_ratio(r, num_tokens, "cosine")
  count = jnp.clip(jnp.floor(ratio * num_tokens), 1, num_tokens)[:, None]
  scores = jax.random.uniform(k_pos, (batch, num_tokens))
  rank = jnp.argsort(jnp.argsort(scores, axis=-1), axis=-1)
  return rank < count


def masked_ce(logits_BNC: jax.Array, targets_BN: jax.Array,
              mask_BN: jax.Array, label_smoothing: float
              ) -> tuple[jax.Array, dict]:
  """Label-smoothed CE averaged over masked positions, and accuracy."""
  num_codes = logits_BNC.shape[-1]
  labels = optax.smooth_labels(jax.nn.one_hot(targets_BN, num_codes),
                               label_smoothing)
  ce = optax.softmax_cross_entropy(logits_BNC.astype(jnp.float32), labels)
  w = mask_BN.astype(jnp.float32)
  denom = jnp.maximum(w.sum(), 1.0)
  acc = (jnp.argmax(logits_BNC, -1) == targets_BN).astype(jnp.float32)
  return (ce * w).sum() / denom, {"accuracy": (acc * w).sum() / denom,
                                  "mask_fraction": w.mean()}


def tile_classes(params: PyTree, cfg: transformer_lib.TransformerConfig,
                 num_classes: int) -> PyTree:
  """Transformer params of `cfg` with `num_classes` class tokens.

  New class c starts as old class c % cfg.num_classes (word embedding and
  output bias rows); image codes and the mask token keep their rows. Used to
  grow a 9-group model into a style x group one (label = style * 9 + group),
  so old labels keep their meaning.
  """
  if num_classes % cfg.num_classes:
    raise ConfigError(f"Cannot tile {cfg.num_classes} classes into "
                      f"{num_classes}: not a multiple.")
  c0 = cfg.num_codes
  rows = np.concatenate([
      np.arange(c0), c0 + np.arange(num_classes) % cfg.num_classes,
      [cfg.vocab_size - 1]])

  def grow(x):
    return np.asarray(x)[rows]

  params = jax.tree.map(np.asarray, params)
  emb = params["Embed_0"]["word_embeddings"]
  emb["embedding"] = grow(emb["embedding"])
  bias = params["MlmLayer_0"]["mlm_bias"]
  bias["bias"] = grow(bias["bias"])
  return params


@recipe_lib.register("transformer")
class TransformerRecipe(Recipe):
  """Masked-token training of the MaskGIT transformer."""

  hinted = False  # Subclasses with hint embeddings set True.

  def __init__(self, config):
    super().__init__(config)
    overrides = {}
    if self.hinted:
      m = config.model.transformer
      overrides["num_hint_codes"] = int(m.num_hint_codes or m.num_codes)
    self.tr_cfg = transformer_config(config, **overrides)
    self.tok_cfg = tokenizer_config(config)
    self.net = transformer_lib.Transformer(self.tr_cfg)
    side = int(config.model.image_size) // self.tok_cfg.downsample_factor
    if side * side + 1 != self.tr_cfg.seq_len:
      raise ConfigError(
          f"model.transformer.seq_len {self.tr_cfg.seq_len} != 1 + "
          f"({config.model.image_size} / {self.tok_cfg.downsample_factor})^2.")

  # -- parameters -----------------------------------------------------------
  def init_params(self, rng):
    return transformer_lib.init_params(self.tr_cfg, rng)["params"]

  def load_params(self):
    if not self.config.init_from:
      return None
    old = int(self.config.get("init_num_classes", 0) or 0)
    cfg = self.tr_cfg
    if old and old != cfg.num_classes:
      cfg = dataclasses.replace(cfg, num_classes=old)
    try:
      params = checkpoints.load_transformer(self.config.init_from, cfg)
    except checkpoints.CheckpointError as e:
      raise ConfigError(str(e)) from e
    if cfg is not self.tr_cfg:
      params = tile_classes(params, cfg, self.tr_cfg.num_classes)
    return params

  def frozen(self):
    return {"tokenizer": load_or_random_tokenizer(self.config)}

  # -- data -----------------------------------------------------------------
  def prepare(self, frozen, batch):
    out = {"tokens": tokenize(self.tok_cfg, frozen["tokenizer"],
                              batch["image"], batch["label"],
                              self.tr_cfg.num_codes)}
    if "guide" in batch:
      out["guide_tokens"] = tokenize(self.tok_cfg, frozen["tokenizer"],
                                     batch["guide"], batch["label"],
                                     self.tr_cfg.num_codes)
    return out

  # -- objective ------------------------------------------------------------
  def logits(self, params, ids_BL, hints_BL, rng, train: bool):
    kwargs = {"rngs": {"dropout": rng}} if train else {}
    return self.net.apply({"params": params}, ids_BL, hints_BL,
                          deterministic=not train, **kwargs)

  def masked_inputs(self, tokens_BL, rng):
    mask_BN = random_mask(rng, tokens_BL.shape[0], tokens_BL.shape[1] - 1)
    mask_BL = jnp.pad(mask_BN, ((0, 0), (1, 0)))  # Never the class token.
    return jnp.where(mask_BL, MASK_ID, tokens_BL), mask_BN

  def loss_fn(self, params, frozen, batch, rng, step, train):
    del frozen, step
    k_mask, k_drop = jax.random.split(rng)
    tokens = batch["tokens"]
    inputs, mask = self.masked_inputs(tokens, k_mask)
    logits = self.logits(params, inputs, None, k_drop, train)
    return masked_ce(logits[:, 1:, :self.tr_cfg.num_codes], tokens[:, 1:],
                     mask, float(self.config.label_smoothing))

  # -- outputs --------------------------------------------------------------
  def samples(self, params, frozen, batch, rng):
    """Class-conditional generations for the labels of the batch."""
    tokens = batch["tokens"]
    inputs = jnp.full_like(tokens, MASK_ID).at[:, 0].set(tokens[:, 0])
    fn = lambda ids, hints: self.logits(params, ids, hints, None, False)
    out = decode_lib.decode(fn, inputs, rng,
                            num_iter=int(self.config.sample_num_iter),
                            num_codes=self.tr_cfg.num_codes)
    side = int(round((out.shape[1] - 1) ** 0.5))
    ids = out[:, 1:].reshape(out.shape[0], side, side)
    return vqgan.VQGAN(self.tok_cfg).apply(
        {"params": frozen["tokenizer"]}, ids, method=vqgan.VQGAN.decode_ids)

  def export(self, params, frozen, out_dir):
    path = os.path.join(out_dir, f"{self.name}.msgpack")
    checkpoints.save_transformer(path, params)
    return [path]
