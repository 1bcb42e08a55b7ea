"""Training objectives of stroke-guided editing: `selfcond` and `guidance_kernel`.

Both run through `maskgit.training.loop` and take (image, simulated guidance)
pairs: `StrokeGuides` applies the stroke simulators of `maskgit_edit.strokes`
on the host to every training image (kernel sizes scaled to the resolution,
seed from (config.seed, step, example)), and the frozen tokenizer encodes both
images to token sequences.

selfcond: fine-tunes a transformer with hints (targets: the ORIGINAL image
  tokens). `selfcond.hint` = 'appearance' (default): per-token guide
  appearance (`maskgit_edit.hints`, `hint_features`); 'token': the guide's
  token ids (`num_hint_codes`; the earlier design, kept for ablations).
  E = tokens with a painted pixel (guide != image). A fraction `p_hint` of
  examples (that have an E) is hinted at E (or only at its masked positions,
  `hint_positions='masked'`) with masks biased high inside E
  (`edit_mask_min`) and sparse outside (`outside_mask`), as in editing; the
  rest are trained unhinted with the base objective (hint dropout, so the
  same network serves generation, inpainting and classifier-free guidance).
  Guides: `simulator='sdedit_inversion'` (default) draws SDEdit-style
  whole-image strokes or one superpixel pasted in its own mean colour. The
  'counterfactual' recolours are not used: their target (the original) does
  not show the new colour, so they teach the model to ignore hints that
  disagree with the context, which is exactly what a user's recolour asks
  for. Loss: label-smoothed CE on masked positions. Export: official
  transformer msgpack plus `Embed_0/hint_projection` (or `hint_embeddings`).

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
from maskgit.nets import transformer as transformer_lib
from maskgit.training import ConfigError
from maskgit.training import recipe as recipe_lib
from maskgit.training import transformer as tr_recipe
from maskgit_edit import hints as hints_lib
from maskgit_edit import strokes

PyTree = Any
SIMULATORS = ("sdedit", "pilot_inversion", "pilot_counterfactual", "mix",
              "sdedit_inversion")
HINTS = ("appearance", "token")
HINT_POSITIONS = ("edit", "masked")


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
    elif kind == "sdedit_inversion":
      kind = SIMULATORS[seed % 2]
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
  """Self-conditioning on the guide's appearance (see module doc)."""

  name = "selfcond"

  def __init__(self, config):
    super().__init__(config)
    s = config.selfcond
    if not 0 <= s.p_hint <= 1:
      raise ConfigError(f"selfcond.p_hint must be in [0, 1], got {s.p_hint}.")
    if not 0 <= s.edit_mask_min <= 1 or not 0 <= s.outside_mask <= 1:
      raise ConfigError("selfcond.edit_mask_min and outside_mask must be in "
                        f"[0, 1], got {s.edit_mask_min}, {s.outside_mask}.")
    if s.hint not in HINTS:
      raise ConfigError(f"Unknown selfcond.hint {s.hint!r}; choose one of "
                        f"{', '.join(HINTS)}.")
    if s.hint_positions not in HINT_POSITIONS:
      raise ConfigError(f"Unknown selfcond.hint_positions "
                        f"{s.hint_positions!r}; choose one of "
                        f"{', '.join(HINT_POSITIONS)}.")
    m = config.model.transformer
    if s.hint == "appearance":
      feats = hints_lib.num_features(int(s.hint_res))
      over = dict(num_hint_codes=0, hint_features=feats)
    else:
      over = dict(num_hint_codes=int(m.num_hint_codes or m.num_codes),
                  hint_features=0)
    self.tr_cfg = tr_recipe.transformer_config(config, **over)
    self.net = transformer_lib.Transformer(self.tr_cfg)
    self.strokes = StrokeGuides(s.simulator, config.seed, s.num_colors,
                                resolution=s.stroke_resolution,
                                num_threads=s.stroke_threads,
                                num_processes=s.get("stroke_processes", 0))
    self._pool = None

  def host_transform(self, batch, step):
    if not self.config.selfcond.get("pool", ""):
      return self.strokes(batch, step)
    # Precomputed pool: draw the batch from it (seeded by step).
    pool = self.pool()
    n = len(pool["label"])
    rng = np.random.default_rng([int(self.config.seed), int(step),
                                 jax.process_index()])
    idx = rng.integers(0, n, len(batch["label"]))
    return {k: v[idx] for k, v in pool.items()}

  def pool(self) -> dict[str, np.ndarray]:
    """The precomputed (tokens, hints) pool of `selfcond.pool` (built once).

    `selfcond.pool_guides` simulated guides per training image of the npz
    train split (no augmentation), tokenized with the frozen tokenizer: this
    skips the host simulation and the tokenizer in every step, which dominate
    a CPU step.
    """
    if self._pool is not None:
      return self._pool
    path = self.config.selfcond.pool
    if not os.path.isfile(path):
      from absl import logging  # pylint: disable=g-import-not-at-top
      from maskgit.data import arrays  # pylint: disable=g-import-not-at-top
      if self.config.data.source != "npz":
        raise ConfigError("selfcond.pool is built from data.source='npz'.")
      images, labels = arrays.load_split(self.config.data.dataset,
                                         self.config.data.train_split)
      frozen = self.frozen()
      prep = jax.jit(self.prepare)
      parts = []
      guides = int(self.config.selfcond.get("pool_guides", 1))
      if guides < 1:
        raise ConfigError(f"selfcond.pool_guides must be >= 1, got {guides}.")
      total = guides * len(images)
      for r in range(guides):
        for i in range(0, len(images), 64):
          batch = {"image": images[i:i + 64].astype(np.float32) / 255.0,
                   "label": labels[i:i + 64].astype(np.int32)}
          # Guide r of image i: seeded apart from every training step's.
          batch = self.strokes(batch, -1 - i - r * len(images))
          out = jax.device_get(prep(frozen, batch))
          parts.append({"label": batch["label"], **out})
          logging.info("selfcond pool: %d / %d",
                       r * len(images) + i + len(batch["label"]), total)
      pool = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
      tmp = path + ".tmp.npz"
      np.savez(tmp, **pool)
      os.replace(tmp, path)
    with np.load(path) as f:
      self._pool = {k: np.asarray(f[k]) for k in f.files}
    return self._pool

  def prepare(self, frozen, batch):
    s = self.config.selfcond
    if "tokens" in batch:  # From the precomputed pool.
      return {k: v for k, v in batch.items() if k != "label"}
    out = {"tokens": tr_recipe.tokenize(
        self.tok_cfg, frozen["tokenizer"], batch["image"], batch["label"],
        self.tr_cfg.num_codes)}
    factor = self.tok_cfg.downsample_factor
    painted = hints_lib.painted_pixels(batch["image"], batch["guide"])
    feats = hints_lib.token_appearance(batch["guide"], painted, factor,
                                       int(s.hint_res))
    out["edit"] = feats[..., -2] > 0  # E: tokens with a painted pixel.
    if s.hint == "appearance":
      out["hint_features"] = feats
    else:
      out["guide_tokens"] = tr_recipe.tokenize(
          self.tok_cfg, frozen["tokenizer"], batch["guide"], batch["label"],
          self.tr_cfg.num_codes)
    return out

  def edit_masks(self, edit_BN, rng):
    """Masks of hinted examples: high ratios inside E, few outside.

    Inside E a fraction edit_mask_min + (1 - edit_mask_min) * cos(pi/2 u) is
    masked (at least one token); outside E a fraction outside_mask *
    cos(pi/2 u) (editing never masks outside E).
    """
    s = self.config.selfcond
    k_ratio, k_pos = jax.random.split(rng)
    b, n = edit_BN.shape
    cos = jnp.cos(jnp.pi / 2 * jax.random.uniform(k_ratio, (b, 1)))
    n_in = edit_BN.sum(-1, keepdims=True)
    ratio_in = s.edit_mask_min + (1.0 - s.edit_mask_min) * cos
    cnt_in = jnp.clip(jnp.ceil(ratio_in * n_in), 1, n_in)
    cnt_out = jnp.floor(s.outside_mask * cos * (n - n_in))
    scores = jax.random.uniform(k_pos, (b, n))
    rank = lambda x: jnp.argsort(jnp.argsort(x, axis=-1), axis=-1)
    inside = edit_BN & (rank(jnp.where(edit_BN, scores, 2.0)) < cnt_in)
    outside = ~edit_BN & (rank(jnp.where(edit_BN, 2.0, scores)) < cnt_out)
    return inside | outside

  def loss_fn(self, params, frozen, batch, rng, step, train):
    del frozen, step
    s = self.config.selfcond
    k_mask, k_edit, k_hint, k_drop = jax.random.split(rng, 4)
    tokens, edit = batch["tokens"], batch["edit"]
    b, n = edit.shape
    # Hint dropout: a fraction 1 - p_hint of examples is trained unhinted with
    # the base objective, so one network serves hinted and unhinted use.
    hinted = ((jax.random.uniform(k_hint, (b, 1)) < s.p_hint)
              & edit.any(-1, keepdims=True))
    mask = jnp.where(hinted, self.edit_masks(edit, k_edit),
                     tr_recipe.random_mask(k_mask, b, n))
    where = hinted & edit
    if s.hint_positions == "masked":
      where = where & mask
    if s.hint == "appearance":
      hints = hints_lib.with_class_token(
          hints_lib.select(batch["hint_features"], where))
    else:
      hints = jnp.pad(jnp.where(where, batch["guide_tokens"][:, 1:], -1),
                      ((0, 0), (1, 0)), constant_values=-1)
    mask_BL = jnp.pad(mask, ((0, 0), (1, 0)))
    inputs = jnp.where(mask_BL, tr_recipe.MASK_ID, tokens)
    logits = self.logits(params, inputs, hints, k_drop, train)
    logits = logits[:, 1:, :self.tr_cfg.num_codes]
    loss, metrics = tr_recipe.masked_ce(
        logits, tokens[:, 1:], mask, float(self.config.label_smoothing))
    hit = (jnp.argmax(logits, -1) == tokens[:, 1:]) & mask
    for name, sel in (("hinted", hinted), ("unhinted", ~hinted)):
      w = (mask & sel).sum()
      metrics[f"{name}_accuracy"] = (hit & sel).sum() / jnp.maximum(w, 1)
    metrics["frac_hinted"] = hinted.mean()
    metrics["edit_fraction"] = edit.mean()
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
