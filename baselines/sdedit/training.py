"""Recipe `diffusion`: a DDPM noise predictor trained with the project's loop.

Loss, per batch of images x0 in [0, 1] scaled to [-1, 1]:
  E_{t ~ U{1..T}, eps ~ N(0, I)} |eps - eps_theta(x_t, t, y)|^2
with x_t = sqrt(ab_t) x0 + sqrt(1 - ab_t) eps (`schedule.VPSchedule`) and the
label y replaced by the null class with probability `diffusion.label_dropout`
(0 for an unconditional model). Everything else (mesh sharding, optimiser,
orbax resume, SIGTERM, NaN guard, JSONL logs) is `maskgit.training.loop`.
Sample grids: DDIM from pure noise in `sample_num_iter` steps, the eval
batch's labels. Export: `<workdir>/export/diffusion.msgpack` ({"params": UNet
params}, float32), loaded by `baselines.sdedit.editor`.
"""

from __future__ import annotations

import os

import jax
import jax.numpy as jnp

from baselines.sdedit import sampler as sampler_lib
from baselines.sdedit import unet as unet_lib
from baselines.sdedit.schedule import VPSchedule
from maskgit import checkpoints
from maskgit.training import ConfigError
from maskgit.training import recipe as recipe_lib

EXPORT_NAME = "diffusion.msgpack"


def load_params(path: str, config: unet_lib.UNetConfig) -> dict:
  """UNet params from an exported msgpack (CheckpointError if mismatched)."""
  tree = checkpoints.read_msgpack(path)
  params = tree.get("params", tree)
  expected = jax.eval_shape(lambda: unet_lib.init(config,
                                                  jax.random.key(0)))
  checkpoints.check_tree(params, expected, path)
  return params


@recipe_lib.register("diffusion")
class DiffusionRecipe(recipe_lib.Recipe):
  """eps-prediction MSE on the VP schedule (module docstring)."""

  def __init__(self, config):
    super().__init__(config)
    try:
      self.unet_config = unet_lib.UNetConfig.from_config(
          config.model).validate()
    except ValueError as e:
      raise ConfigError(str(e)) from e
    self.net = unet_lib.UNet(self.unet_config)
    self.sched = VPSchedule.from_config(config.model.schedule)

  def model_info(self):
    return {"image_size": int(self.config.model.image_size),
            "num_classes": int(self.config.model.num_classes)}

  def init_params(self, rng):
    return unet_lib.init(self.unet_config, rng)

  def load_params(self):
    if not self.config.init_from:
      return None
    try:
      return load_params(self.config.init_from, self.unet_config)
    except checkpoints.CheckpointError as e:
      raise ConfigError(str(e)) from e

  def _labels(self, batch, rng, train):
    nc = self.unet_config.num_classes
    if not nc:
      return None
    label = batch["label"].astype(jnp.int32)
    p = float(self.config.diffusion.label_dropout)
    if train and p > 0:
      drop = jax.random.bernoulli(rng, p, label.shape)
      label = jnp.where(drop, nc, label)
    return label

  def loss_fn(self, params, frozen, batch, rng, step, train):
    del frozen, step
    x0 = batch["image"] * 2.0 - 1.0
    b = x0.shape[0]
    k_t, k_eps, k_lab, k_drop = jax.random.split(rng, 4)
    t = jax.random.randint(k_t, (b,), 1, self.sched.num_timesteps + 1)
    eps = jax.random.normal(k_eps, x0.shape, x0.dtype)
    x_t = self.sched.q_sample(x0, t, eps)
    pred = self.net.apply({"params": params}, x_t, t,
                          self._labels(batch, k_lab, train), train=train,
                          rngs={"dropout": k_drop})
    loss = jnp.mean((pred - eps) ** 2)
    # Error on the high-noise half vs the low-noise half (diagnostics).
    per = jnp.mean((pred - eps) ** 2, axis=(1, 2, 3))
    hi = t > self.sched.num_timesteps // 2
    metrics = {
        "mse_t_high": jnp.sum(per * hi) / jnp.maximum(jnp.sum(hi), 1),
        "mse_t_low": jnp.sum(per * ~hi) / jnp.maximum(jnp.sum(~hi), 1)}
    return loss, metrics

  def eps_fn(self, params, labels):
    def f(x, t_B):
      return self.net.apply({"params": params}, x, t_B, labels)
    return f

  def samples(self, params, frozen, batch, rng):
    del frozen
    x = batch["image"] * 2.0 - 1.0
    labels = self._labels(batch, None, False)
    t0 = jnp.full((x.shape[0],), self.sched.num_timesteps, jnp.int32)
    ones = jnp.ones(x.shape[:3] + (1,), x.dtype)
    out = sampler_lib.sdedit(
        self.eps_fn(params, labels), self.sched, x, x, ones, t0, rng,
        sampler="ddim", num_steps=int(self.config.sample_num_iter),
        masked=False)
    return (jnp.clip(out, -1.0, 1.0) + 1.0) / 2.0

  def export(self, params, frozen, out_dir):
    path = os.path.join(out_dir, EXPORT_NAME)
    checkpoints.write_msgpack(path, params)
    return [path]
