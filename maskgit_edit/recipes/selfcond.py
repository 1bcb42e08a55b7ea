"""Recipe `selfcond`: fine-tune a transformer to read hints of the guide.

Runs through `maskgit.training.loop` on (image, simulated guidance) pairs
(`stroke_guides.StrokeGuides`); the frozen tokenizer encodes both images to
token sequences.

Fine-tunes a transformer with hints (targets: the ORIGINAL image tokens). `selfcond.hint` = 'appearance' (default): per-token guide
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
"""

from __future__ import annotations

import os
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from maskgit import io_utils
from maskgit.nets import transformer as transformer_lib
from maskgit.training import ConfigError
from maskgit.training import recipe as recipe_lib
from maskgit.training import transformer as tr_recipe
from maskgit_edit import hints as hints_lib
from maskgit_edit.recipes import stroke_guides

PyTree = Any
HINTS = ("appearance", "token")
HINT_POSITIONS = ("edit", "masked")


@recipe_lib.register("selfcond")
class SelfCondRecipe(tr_recipe.TransformerRecipe):
  """Self-conditioning on the guide's appearance (see module doc)."""


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
    self.strokes = stroke_guides.StrokeGuides.from_config(s, config.seed)
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
    train split (odd-numbered guides on the mirrored image when
    `data.random_flip`; no other augmentation), tokenized with the frozen
    tokenizer: this skips the host simulation and the tokenizer in every
    step, which dominate a CPU step.
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
      flip = bool(self.config.data.random_flip)
      for r in range(guides):
        for i in range(0, len(images), 64):
          chunk = images[i:i + 64]
          if flip and r % 2:  # Odd guides see the mirrored image.
            chunk = chunk[:, :, ::-1]
          batch = {"image": chunk.astype(np.float32) / 255.0,
                   "label": labels[i:i + 64].astype(np.int32)}
          # Guide r of image i: seeded apart from every training step's.
          batch = self.strokes(batch, -1 - i - r * len(images))
          out = jax.device_get(prep(frozen, batch))
          parts.append({"label": batch["label"], **out})
          logging.info("selfcond pool: %d / %d",
                       r * len(images) + i + len(batch["label"]), total)
      pool = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
      with io_utils.atomic_write(path) as fh:
        np.savez(fh, **pool)
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
