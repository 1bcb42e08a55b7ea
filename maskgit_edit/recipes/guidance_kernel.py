"""Recipe `guidance_kernel`: the learned kernel of method `self_learned`.

Learns a C x C matrix K of log-affinities with the transformer frozen:
logits'[b, i, c] = logits[b, i, c] + K[g[b, i], c] at masked positions i with
guide code g (guides from `stroke_guides.StrokeGuides`). Loss: CE on masked
positions. Export: `guidance_kernel.npy`, float32 [C, C], row = guide code,
column = candidate code (the edit config's `self_learned.kernel`).
"""

from __future__ import annotations

import os
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from maskgit import checkpoints
from maskgit.training import ConfigError
from maskgit.training import recipe as recipe_lib
from maskgit.training import transformer as tr_recipe
from maskgit_edit.recipes import stroke_guides

PyTree = Any


@recipe_lib.register("guidance_kernel")
class GuidanceKernelRecipe(tr_recipe.TransformerRecipe):
  """Learns the C x C guidance kernel with the transformer frozen."""


  def __init__(self, config):
    super().__init__(config)
    g = config.guidance
    self.strokes = stroke_guides.StrokeGuides.from_config(g, config.seed)

  def init_params(self, rng):
    del rng
    c = self.tr_cfg.num_codes
    return {"kernel": jnp.zeros((c, c), jnp.float32)}

  def load_params(self):
    return None  # init_from names the frozen transformer here.

  def frozen(self):
    out = super().frozen()
    if self.config.init_from:
      try:
        out["transformer"] = checkpoints.load_transformer(
            self.config.init_from, self.tr_cfg)
      except checkpoints.CheckpointError as e:
        raise ConfigError(str(e)) from e
    else:
      from absl import logging  # pylint: disable=g-import-not-at-top
      logging.warning("guidance_kernel without init_from: the frozen "
                      "transformer is RANDOM (tests only).")
      out["transformer"] = jax.tree.map(
          np.asarray, super().init_params(jax.random.key(self.config.seed)))
    return out

  def host_transform(self, batch, step):
    return self.strokes(batch, step)

  def loss_fn(self, params, frozen, batch, rng, step, train):
    del step, train
    tokens, guide = batch["tokens"], batch["guide_tokens"]
    inputs, mask = self.masked_inputs(tokens, rng)
    c = self.tr_cfg.num_codes
    base = jax.lax.stop_gradient(self.logits(
        frozen["transformer"], inputs, None, None, False))[:, 1:, :c]
    kernel_rows = jnp.take(params["kernel"], guide[:, 1:], axis=0)
    return tr_recipe.masked_ce(base + kernel_rows, tokens[:, 1:], mask,
                               float(self.config.label_smoothing))

  def samples(self, params, frozen, batch, rng):
    return None

  def export(self, params, frozen, out_dir):
    path = os.path.join(out_dir, "guidance_kernel.npy")
    np.save(path, np.asarray(params["kernel"], np.float32))
    return [path]
