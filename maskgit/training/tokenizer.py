"""Recipe `tokenizer`: VQGAN training with a discriminator.

Generator (VQGAN) loss, per batch of images x in [0, 1]:
  l1 * |x - x'| + l2 * (x - x')^2                     reconstruction
  + beta * |z - sg(zq)|^2 + |sg(z) - zq|^2            commitment / codebook
  + entropy * (E_x[H(q(.|z))] - H(E_x[q(.|z)]))       sharp, diverse codes
  + adv * [step >= disc_start] * softplus(-D(x'))     non-saturating GAN
with q(c|z) = softmax(-|z - e_c|^2 / entropy_temperature). The discriminator
(a small strided-conv PatchGAN, `Discriminator`) is trained in the same step
with the hinge loss plus an R1 penalty r1_gamma / 2 * |grad_x D(x)|^2 on real
images. There is no perceptual loss: none of its feature networks can be
downloaded here; `perceptual_weight > 0` is rejected with a clear error.
Export: the VQGAN params as an official tokenizer msgpack.

`tokenizer_loss.decoder_only=True` fine-tunes the decoder on FROZEN codes:
the encoder and the codebook get no gradient (ids come from the frozen
encoder, the decoder reads the frozen codebook rows), so every image keeps
its token ids and a transformer trained on those ids keeps its meaning. Only
the reconstruction and adversarial terms apply (commitment, codebook and
entropy terms shape the encoder and codebook, which stay fixed).
"""

from __future__ import annotations

import os

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from maskgit import checkpoints
from maskgit.nets import vqgan
from maskgit.training import ConfigError
from maskgit.training import recipe as recipe_lib
from maskgit.training.recipe import Recipe


class Discriminator(nn.Module):
  """Strided convs -> per-patch real/fake logits [B, h, w]."""
  filters: int = 64
  num_layers: int = 3

  @nn.compact
  def __call__(self, x):
    x = x * 2.0 - 1.0
    for i in range(self.num_layers):
      x = nn.Conv(self.filters * 2 ** i, (4, 4), strides=(2, 2))(x)
      x = nn.leaky_relu(x, 0.2)
    return nn.Conv(1, (3, 3))(x)[..., 0]


@recipe_lib.register("tokenizer")
class TokenizerRecipe(Recipe):
  """VQGAN + discriminator, both players updated in one step."""

  def __init__(self, config):
    super().__init__(config)
    self.tok_cfg = vqgan.TokenizerConfig.from_config(config.model.tokenizer)
    self.net = vqgan.VQGAN(self.tok_cfg)
    t = config.tokenizer_loss
    if t.perceptual_weight:
      raise ConfigError(
          "tokenizer_loss.perceptual_weight > 0 needs perceptual feature "
          "weights, which are not supported here; set it to 0.")
    self.disc = Discriminator(int(t.disc_filters), int(t.disc_layers))
    if t.decoder_only and not config.init_from:
      raise ConfigError(
          "tokenizer_loss.decoder_only fine-tunes a trained tokenizer's "
          "decoder on its frozen codes: set init_from to its msgpack.")

  def init_params(self, rng):
    k1, k2 = jax.random.split(rng)
    size = int(self.config.model.image_size)
    images = jnp.zeros((1, size, size, 3), jnp.float32)
    return {"vqgan": self.net.init({"params": k1}, images)["params"],
            "disc": self.disc.init({"params": k2}, images)["params"]}

  def load_params(self):
    if not self.config.init_from:
      return None
    try:
      tok = checkpoints.load_tokenizer(self.config.init_from, self.tok_cfg)
    except checkpoints.CheckpointError as e:
      raise ConfigError(str(e)) from e
    disc = self.disc.init({"params": jax.random.key(self.config.seed)},
                          jnp.zeros((1, int(self.config.model.image_size),
                                     int(self.config.model.image_size), 3)))["params"]
    return {"vqgan": tok, "disc": jax.tree.map(np.asarray, disc)}

  def _pixel_terms(self, d_params, recon, images, step, train):
    """(reconstruction loss, the weighted adversarial term, its raw value)."""
    t = self.config.tokenizer_loss
    diff = recon - images
    rec = t.l1_weight * jnp.abs(diff).mean() + t.l2_weight * (diff ** 2).mean()
    adv_on = (step >= t.disc_start).astype(jnp.float32) if train else 0.0
    g_adv = jax.nn.softplus(-self.disc.apply({"params": d_params},
                                             recon)).mean()
    return rec, t.adv_weight * adv_on * g_adv, g_adv

  def _decoder_only_loss(self, g_params, d_params, images, step, train):
    """Reconstruction (+ adversarial) loss of the decoder on frozen codes."""
    frozen = jax.lax.stop_gradient(g_params)
    ids = self.net.apply({"params": frozen}, images,
                         method=vqgan.VQGAN.encode_ids)
    zq = jnp.take(frozen["quantizer"]["codebook"], ids, axis=0)
    recon = self.net.apply({"params": g_params}, zq,
                           method=vqgan.VQGAN.decode)
    rec, adv, g_adv = self._pixel_terms(d_params, recon, images, step, train)
    mse = ((recon - images) ** 2).mean(axis=(1, 2, 3))
    psnr = (-10.0 * jnp.log10(jnp.maximum(mse, 1e-10))).mean()
    return rec + adv, ({"recon_loss": rec, "g_adv_loss": g_adv,
                        "psnr": psnr}, recon)

  def _gen_loss(self, g_params, d_params, images, step, train):
    t = self.config.tokenizer_loss
    if t.decoder_only:
      return self._decoder_only_loss(g_params, d_params, images, step, train)
    recon, ids, z = self.net.apply({"params": g_params}, images)
    codebook = g_params["quantizer"]["codebook"]
    zq = jnp.take(codebook, ids, axis=0)
    rec, adv, g_adv = self._pixel_terms(d_params, recon, images, step, train)
    commit = ((z - jax.lax.stop_gradient(zq)) ** 2).mean()
    cb = ((jax.lax.stop_gradient(z) - zq) ** 2).mean()
    dist = self.net.apply({"params": g_params}, z,
                          method=lambda m, z: m.quantizer.distances(z))
    probs = jax.nn.softmax(-dist.reshape(-1, dist.shape[-1])
                           / t.entropy_temperature, axis=-1)
    logp = jnp.log(probs + 1e-9)
    per_sample = -(probs * logp).sum(-1).mean()
    avg = probs.mean(0)
    batch_ent = -(avg * jnp.log(avg + 1e-9)).sum()
    entropy = per_sample - batch_ent
    loss = (rec + t.beta * commit + t.codebook_weight * cb
            + t.entropy_weight * entropy + adv)
    metrics = {"recon_loss": rec, "commit_loss": commit,
               "codebook_loss": cb, "entropy_loss": entropy,
               "g_adv_loss": g_adv,
               "codebook_usage": jnp.mean(jnp.zeros(codebook.shape[0]).at[
                   ids.reshape(-1)].set(1.0))}
    return loss, (metrics, recon)

  def _disc_loss(self, d_params, real, fake):
    t = self.config.tokenizer_loss
    d = lambda x: self.disc.apply({"params": d_params}, x)
    hinge = (jax.nn.relu(1.0 - d(real)).mean()
             + jax.nn.relu(1.0 + d(fake)).mean())
    grad_real = jax.grad(lambda x: d(x).sum())(real)
    r1 = (grad_real ** 2).sum(axis=(1, 2, 3)).mean()
    return hinge + 0.5 * t.r1_gamma * r1, {"d_loss": hinge, "r1": r1}

  def grad_fn(self, params, batch, rng, frozen, step):
    del rng, frozen
    images = batch["image"]
    (g_loss, (gm, recon)), g_grads = jax.value_and_grad(
        self._gen_loss, has_aux=True)(params["vqgan"], params["disc"], images,
                                      step, True)
    (_, dm), d_grads = jax.value_and_grad(self._disc_loss, has_aux=True)(
        params["disc"], images, jax.lax.stop_gradient(recon))
    on = (step >= self.config.tokenizer_loss.disc_start).astype(jnp.float32)
    d_grads = jax.tree.map(lambda g: g * on, d_grads)
    return {"vqgan": g_grads, "disc": d_grads}, {**gm, **dm, "loss": g_loss}

  def loss_fn(self, params, frozen, batch, rng, step, train):
    loss, (metrics, _) = self._gen_loss(params["vqgan"], params["disc"],
                                        batch["image"], jnp.asarray(step),
                                        train)
    return loss, metrics

  def samples(self, params, frozen, batch, rng):
    images = batch["image"]
    recon, _, _ = self.net.apply({"params": params["vqgan"]}, images)
    n = images.shape[0]
    # Rows of (original, reconstruction) pairs.
    return jnp.stack([images, jnp.clip(recon, 0, 1)], 1).reshape(
        (2 * n,) + images.shape[1:])

  def export(self, params, frozen, out_dir):
    path = os.path.join(out_dir, "tokenizer.msgpack")
    checkpoints.write_msgpack(path, params["vqgan"])
    return [path]
