"""Training objectives of stroke-guided editing: `selfcond` and `guidance_kernel`.

Both run through `maskgit.training.loop` and take (image, simulated guidance)
pairs: `StrokeGuides` applies the stroke simulators of `maskgit_edit.strokes`
on the host to every training image (kernel sizes scaled to the resolution,
seed from (config.seed, step, example)), and the frozen tokenizer encodes both
images to token sequences.

selfcond: fine-tunes a transformer that has a hint embedding
  (`num_hint_codes`). Per example, the hints at masked positions are one of
    guide - the guidance image's tokens;
    self  - the model's own low-confidence samples from a first,
            gradient-free round on the same masked input (what decoding
            would re-mask); both rounds run inside one jitted step;
    none  - hint -1 (hint dropout, so the model also works unhinted);
  drawn with probabilities `config.selfcond.p_guide / p_self` (rest: none).
  A self-hinted example keeps its confident round-1 samples as input tokens
  and re-masks the `self_remask` fraction of least confident ones, hinted
  with their round-1 samples; its loss is on those re-masked positions.
  Loss: label-smoothed CE on masked positions. Export: official transformer
  msgpack plus `Embed_0/hint_embeddings` (loadable with num_hint_codes).

guidance_kernel: learns a C x C matrix K of log-affinities with the
  transformer frozen: logits'[b, i, c] = logits[b, i, c] + K[g[b, i], c] at
  masked positions i with guide code g. Loss: CE on masked positions.
  Export: `guidance_kernel.npy`, float32 [C, C], row = guide code, column =
  candidate code.
"""

from __future__ import annotations

import concurrent.futures
import multiprocessing
import os
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from maskgit import checkpoints
from maskgit.training import ConfigError
from maskgit.training import recipe as recipe_lib
from maskgit.training import transformer as tr_recipe
from maskgit_edit import strokes

PyTree = Any
SIMULATORS = ("sdedit", "pilot_inversion", "pilot_counterfactual", "mix")


def _upsample_nearest(x: np.ndarray, height: int, width: int) -> np.ndarray:
  rows = (np.arange(height) * x.shape[0]) // height
  cols = (np.arange(width) * x.shape[1]) // width
  return x[rows][:, cols]


def _downsample_area(image: np.ndarray, side: int) -> np.ndarray:
  from PIL import Image  # pylint: disable=g-import-not-at-top
  u8 = (np.clip(image, 0, 1) * 255 + 0.5).astype(np.uint8)
  small = Image.fromarray(u8).resize((side, side), Image.Resampling.BOX)
  return np.asarray(small).astype(np.float32) / 255.0


class StrokeGuides:
  """Host-side data transform: batch['guide'] = simulated strokes of images.

  `resolution` > 0 simulates at that side (kernels scale with it) and brings
  the result back to the image size: SDEdit's guide is upsampled (nearest);
  the pilot's segment mask is upsampled and its flat colour pasted on the
  full-resolution original. The simulators cost ~0.1-2 s per 256 px image
  (the median filter dominates), so full resolution is a host bottleneck at
  large batches; `num_threads` spreads a batch over threads. Outputs depend
  only on (seed, step, example index), never on the thread count.
  """

  def __init__(self, simulator: str, seed: int, num_colors: int = 6,
               num_segments: int = 12, resolution: int = 0,
               num_threads: int = 0, num_processes: int = 0):
    if simulator not in SIMULATORS:
      raise ConfigError(f"Unknown stroke simulator {simulator!r}; choose one "
                        f"of {', '.join(SIMULATORS)}.")
    self.simulator, self.seed = simulator, int(seed)
    self.num_colors, self.num_segments = int(num_colors), int(num_segments)
    self.resolution = int(resolution)
    self.num_threads = int(num_threads) or (os.cpu_count() or 1)
    # > 0: simulate in this many worker processes instead (the simulators
    # hold the GIL much of the time; threads give ~1.4x on 2 cores).
    self.num_processes = int(num_processes)
    self._pool = None

  def __getstate__(self):
    return {**self.__dict__, "_pool": None}

  def _process_pool(self) -> concurrent.futures.ProcessPoolExecutor:
    if self._pool is None:
      # 'spawn': the parent holds JAX's threads, which fork would copy.
      self._pool = concurrent.futures.ProcessPoolExecutor(
          self.num_processes, mp_context=multiprocessing.get_context("spawn"))
    return self._pool

  def close(self) -> None:
    if self._pool is not None:
      self._pool.shutdown(cancel_futures=True)
      self._pool = None

  def example_seed(self, step: int, index: int) -> int:
    """Seed of example `index` of step `step` (negative steps: eval)."""
    ss = np.random.SeedSequence([self.seed, step + (1 << 20), index])
    return int(ss.generate_state(1)[0])

  def one(self, image: np.ndarray, seed: int) -> np.ndarray:
    """Guide for one float image [H, W, 3] in [0, 1]."""
    kind = self.simulator
    if kind == "mix":
      kind = SIMULATORS[seed % 3]
    h, w = image.shape[:2]
    small = image
    if self.resolution and self.resolution < min(h, w):
      small = _downsample_area(image, self.resolution)
    kernel = strokes.median_kernel_for(min(small.shape[:2]))
    if kind == "sdedit":
      guide = strokes.sdedit_strokes(small, num_colors=self.num_colors,
                                     kernel_size=kernel, seed=seed)
      return guide if small is image else _upsample_nearest(guide, h, w)
    mode = "inversion" if kind == "pilot_inversion" else "counterfactual"
    guide, mask = strokes.pilot_stroke_edit(
        small, num_segments=self.num_segments, kernel_size=kernel, mode=mode,
        seed=seed)
    if small is image:
      return guide
    color = guide[mask][0]
    out = image.copy()
    out[_upsample_nearest(mask, h, w)] = color
    return out

  def __call__(self, batch: dict[str, np.ndarray], step: int
               ) -> dict[str, np.ndarray]:
    images = np.clip(np.asarray(batch["image"], np.float32), 0.0, 1.0)
    offset = jax.process_index() * images.shape[0]
    seeds = [self.example_seed(step, offset + i) for i in range(len(images))]
    if self.num_processes > 0 and len(images) > 1:
      chunk = max(1, len(images) // (4 * self.num_processes))
      guides = list(self._process_pool().map(self.one, images, seeds,
                                             chunksize=chunk))
    elif self.num_threads > 1 and len(images) > 1:
      with concurrent.futures.ThreadPoolExecutor(self.num_threads) as pool:
        guides = list(pool.map(self.one, images, seeds))
    else:
      guides = [self.one(im, sd) for im, sd in zip(images, seeds)]
    return {**batch, "guide": np.stack(guides).astype(np.float32)}


@recipe_lib.register("selfcond")
class SelfCondRecipe(tr_recipe.TransformerRecipe):
  """Hint-token fine-tuning (see module doc)."""

  name = "selfcond"
  hinted = True

  def __init__(self, config):
    super().__init__(config)
    s = config.selfcond
    if not 0 <= s.p_guide + s.p_self <= 1 or min(s.p_guide, s.p_self) < 0:
      raise ConfigError("selfcond.p_guide and p_self must be >= 0 and sum to "
                        f"<= 1, got {s.p_guide}, {s.p_self}.")
    self.strokes = StrokeGuides(s.simulator, config.seed, s.num_colors,
                                resolution=s.stroke_resolution,
                                num_threads=s.stroke_threads,
                                num_processes=s.get("stroke_processes", 0))

  def host_transform(self, batch, step):
    return self.strokes(batch, step)

  def loss_fn(self, params, frozen, batch, rng, step, train):
    del frozen, step
    s = self.config.selfcond
    k_mask, k_src, k_round1, k_sample, k_drop = jax.random.split(rng, 5)
    tokens, guide = batch["tokens"], batch["guide_tokens"]
    inputs, mask = self.masked_inputs(tokens, k_mask)
    mask_BL = jnp.pad(mask, ((0, 0), (1, 0)))
    b = tokens.shape[0]
    u = jax.random.uniform(k_src, (b, 1))
    use_guide = u < s.p_guide
    use_self = (u >= s.p_guide) & (u < s.p_guide + s.p_self)
    hints = jnp.where(use_guide & mask_BL, guide, -1)
    if s.p_self > 0:
      # Round 1 (no gradient): sample every masked position, as a decoding
      # step would. Self-hinted examples then keep their most confident
      # samples as tokens and re-mask the `self_remask` fraction of lowest
      # confidence, which get their own samples as hints (decoding's next
      # step); the loss is on the re-masked positions.
      logits1 = jax.lax.stop_gradient(
          self.logits(params, inputs, jnp.full_like(inputs, -1), k_round1,
                      False))[:, 1:, :self.tr_cfg.num_codes]
      own = jax.random.categorical(k_sample, logits1)
      logp = jnp.take_along_axis(jax.nn.log_softmax(logits1), own[..., None],
                                 -1)[..., 0]
      conf = jnp.where(mask, logp, jnp.inf)
      n1 = mask.sum(-1, keepdims=True)
      n2 = jnp.maximum(1, jnp.floor(n1 * s.self_remask)).astype(jnp.int32)
      rank = jnp.argsort(jnp.argsort(conf, axis=-1), axis=-1)
      remask = (rank < n2) & mask
      self_ex = use_self  # [B, 1]
      new_mask = jnp.where(self_ex, remask, mask)
      filled = jnp.where(self_ex & mask & ~remask, own, inputs[:, 1:])
      inputs = inputs.at[:, 1:].set(filled)
      own_hints = jnp.where(remask, own, -1)
      hints = hints.at[:, 1:].set(jnp.where(self_ex, own_hints, hints[:, 1:]))
      mask = new_mask
    hints = hints.at[:, 0].set(-1)
    logits = self.logits(params, inputs, hints, k_drop, train)
    loss, metrics = tr_recipe.masked_ce(
        logits[:, 1:, :self.tr_cfg.num_codes], tokens[:, 1:], mask,
        float(self.config.label_smoothing))
    metrics["frac_guide_hints"] = use_guide.mean()
    metrics["frac_self_hints"] = use_self.mean()
    return loss, metrics


@recipe_lib.register("guidance_kernel")
class GuidanceKernelRecipe(tr_recipe.TransformerRecipe):
  """Learns the C x C guidance kernel with the transformer frozen."""

  name = "guidance_kernel"

  def __init__(self, config):
    super().__init__(config)
    g = config.guidance
    self.strokes = StrokeGuides(g.simulator, config.seed, g.num_colors,
                                resolution=g.stroke_resolution,
                                num_threads=g.stroke_threads,
                                num_processes=g.get("stroke_processes", 0))

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
