"""Recipe `features`: the evaluation's feature network (realism + groups).

Trains `maskgit_edit.evaluation.features.FeatureNet` on real images of the
evaluation's `fit` split (`maskgit_edit.evaluation.splits`; never the images
the evaluation edits or compares against) with two objectives:

* group: label-smoothed cross-entropy over the emoji groups, on real images;
* realism (`features.realism`): every batch of B real images gets B
  degraded copies (`features.degrade`: a strength u ~ U(0, 1) per copy; the
  first round(B / F) copies, F = number of families, are 'tokenize' (the
  frozen tokenizer's reconstruction pasted into a random region, feathered,
  as an edit would: a fixed count so that only those images pay for the
  tokenizer), the others a random other family), and a binary
  cross-entropy teaches the "real" head to tell them apart.

Export: `features.msgpack` (params), `features.json` (architecture, and the
perceptual layer weights calibrated on the `reference` split:
`maskgit_edit.evaluation.perceptual.calibrate`).
"""

from __future__ import annotations

import concurrent.futures
import os

import jax
import jax.numpy as jnp
import numpy as np
import optax

from maskgit import checkpoints
from maskgit import compositing
from maskgit import io_utils
from maskgit.nets import vqgan
from maskgit.training import ConfigError
from maskgit.training import recipe as recipe_lib
from maskgit.training import transformer as tr_recipe
from maskgit_edit.evaluation import features as features_lib
from maskgit_edit.evaluation import perceptual
from maskgit_edit.evaluation import splits as splits_lib

TOKENIZE_FEATHER = 4  # px of feather around a pasted reconstruction.


@recipe_lib.register("features")
class FeaturesRecipe(recipe_lib.Recipe):
  """`train.py` recipe `features` (see module docstring)."""


  def __init__(self, config):
    super().__init__(config)
    f = config.features
    src = f.get("source_data", "")
    if src and config.data.source == "npz" and (
        config.data.dataset == splits_lib.path_for(src)):
      splits_lib.ensure(src)  # The evaluation splits, made once.
    self.realism = bool(f.get("realism", False))
    self._threads = None

  def _net(self) -> features_lib.FeatureNet:
    f = self.config.features
    return features_lib.FeatureNet(num_classes=int(f.num_classes),
                                   widths=tuple(int(w) for w in f.widths),
                                   stem=int(f.stem),
                                   realism_head=self.realism)

  def model_info(self) -> dict[str, int]:
    f = self.config.features
    return {"image_size": int(f.image_size),
            "num_classes": int(f.num_classes)}

  def init_params(self, rng):
    s = int(self.config.features.image_size)
    return self._net().init(rng, jnp.zeros((1, s, s, 3)))["params"]

  def load_params(self):
    if not self.config.init_from:
      return None
    return checkpoints.read_msgpack(self.config.init_from)["params"]

  # ------------------------------------------------------------- data
  def frozen(self):
    if not (self.realism and "tokenize" in self._families()):
      return {}
    c = self.config
    try:
      params = checkpoints.load_tokenizer(
          c.tokenizer_path, tr_recipe.tokenizer_config(c)) if (
              c.tokenizer_path) else tr_recipe.load_or_random_tokenizer(c)
    except checkpoints.CheckpointError as e:
      raise ConfigError(str(e)) from e
    return {"tokenizer": params}

  def _families(self) -> tuple[str, ...]:
    fam = self.config.features.get("families", features_lib.FAMILIES)
    fam = tuple(fam.split(",") if isinstance(fam, str) else fam)
    bad = [x for x in fam if x not in features_lib.FAMILIES]
    if bad:
      raise ConfigError(f"Unknown features.families {bad}; choose from "
                        f"{', '.join(features_lib.FAMILIES)}.")
    return fam

  def _num_tokenized(self, n: int) -> int:
    fam = self._families()
    return int(round(n / len(fam))) if "tokenize" in fam else 0

  def _one_fake(self, image, seed, tokenize):
    rng = np.random.default_rng(seed)
    fam = [f for f in self._families() if f != "tokenize"]
    family = "tokenize" if tokenize else fam[int(rng.integers(len(fam)))]
    out, region = features_lib.degrade(image, family, rng.uniform(), rng)
    weight = (compositing.feather_mask(region, TOKENIZE_FEATHER)
              if region is not None else np.zeros(image.shape[:2],
                                                  np.float32))
    return out.astype(np.float32), weight

  def host_transform(self, batch, step):
    if not self.realism:
      return batch
    images = np.clip(np.asarray(batch["image"], np.float32), 0, 1)
    n = len(images)
    offset = jax.process_index() * n
    seeds = [[int(self.config.seed), int(step) + (1 << 20), offset + i]
             for i in range(n)]
    if self._threads is None:
      self._threads = concurrent.futures.ThreadPoolExecutor(
          os.cpu_count() or 1)
    tok = [i < self._num_tokenized(n) for i in range(n)]
    fakes = list(self._threads.map(self._one_fake, images, seeds, tok))
    s = images.shape[1]
    return {
        "image": np.concatenate([images, np.stack([f[0] for f in fakes])]),
        "label": np.concatenate([batch["label"], batch["label"]]),
        "real": np.concatenate([np.ones(n), np.zeros(n)]).astype(np.float32),
        "tok_weight": np.concatenate([np.zeros((n, s, s), np.float32),
                                      np.stack([f[1] for f in fakes])]),
    }

  def prepare(self, frozen, batch):
    if "tokenizer" not in frozen or "tok_weight" not in batch:
      return batch
    model = vqgan.VQGAN(tr_recipe.tokenizer_config(self.config))
    p = {"params": frozen["tokenizer"]}
    x = batch["image"]
    n = x.shape[0] // 2  # Reals, then fakes; the first t fakes tokenized.
    t = self._num_tokenized(n)
    if not t:
      return batch
    part = x[n:n + t]
    recon = jnp.clip(model.apply(p, model.apply(
        p, part, method=vqgan.VQGAN.encode_ids),
                                 method=vqgan.VQGAN.decode_ids), 0.0, 1.0)
    w = batch["tok_weight"][n:n + t, ..., None]
    part = jnp.where(w > 0, w * recon + (1 - w) * part, part)
    return {**batch, "image": x.at[n:n + t].set(part)}

  # -------------------------------------------------------- objective
  def loss_fn(self, params, frozen, batch, rng, step, train):
    del frozen, rng, step, train
    _, logits, real_logit, _ = self._net().apply({"params": params},
                                                 batch["image"])
    k = int(self.config.features.num_classes)
    is_real = batch.get("real", jnp.ones(logits.shape[:1]))
    onehot = jax.nn.one_hot(batch["label"], k)
    smooth = float(self.config.label_smoothing)
    target = onehot * (1 - smooth) + smooth / k
    ce = optax.softmax_cross_entropy(logits, target)
    group = (ce * is_real).sum() / jnp.maximum(is_real.sum(), 1)
    acc = ((logits.argmax(-1) == batch["label"]) * is_real).sum() / (
        jnp.maximum(is_real.sum(), 1))
    metrics = {"accuracy": acc, "group_loss": group}
    loss = group
    if self.realism:
      bce = optax.sigmoid_binary_cross_entropy(real_logit, is_real).mean()
      loss = loss + float(self.config.features.realism_weight) * bce
      metrics["realism_loss"] = bce
      metrics["realism_accuracy"] = ((real_logit > 0) == (is_real > 0.5)
                                     ).mean()
    return loss, metrics

  def export(self, params, frozen, out_dir):
    del frozen
    f = self.config.features
    path = os.path.join(out_dir, "features.msgpack")
    checkpoints.write_msgpack(path, params)
    meta = {"num_classes": int(f.num_classes),
            "widths": [int(w) for w in f.widths], "stem": int(f.stem),
            "image_size": int(f.image_size), "realism_head": self.realism}
    ref = self._calibration_images()
    if ref is not None:
      ext = features_lib.FeatureExtractor(
          jax.tree.map(np.asarray, params), num_classes=meta["num_classes"],
          widths=meta["widths"], stem=meta["stem"],
          realism_head=self.realism, batch_size=64)
      meta["layer_weights"] = perceptual.calibrate(ext, ref)
      meta["layer_weights_calibrated_on"] = (
          f"{len(ref)} images of split {self.config.data.eval_split}")
    meta_path = os.path.join(out_dir, "features.json")
    io_utils.write_json(meta_path, meta)
    return [path, meta_path]

  def _calibration_images(self):
    c = self.config
    if c.data.source != "npz":
      return None
    with np.load(c.data.dataset) as d:
      key = f"{c.data.eval_split}_image"
      return d[key][:int(c.features.calibration_images)] if (
          key in d.files) else None
