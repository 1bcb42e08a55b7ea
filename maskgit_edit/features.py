"""The realism feature network: a small CNN classifier over emoji groups.

No Inception weights can be downloaded here, so the realism metrics (KID,
FID in `maskgit_edit.metrics`) use the features of a network this project
trains itself: `FeatureNet`, a 4-stage CNN that classifies 64 px emoji into
their 9 Unicode groups. It is trained with `train.py` (recipe `features`,
`configs/features.py`) on the emoji TRAIN split only; the test split is what
the benchmark edits, so the network never saw it.

Architecture (input float32 [B, S, S, 3] in [0, 1], S divisible by
stem * 4):
  x * 2 - 1 -> patchify stem (stem x stem conv, stride stem, widths[0]
  channels; every pixel seen once) -> GroupNorm(8) -> GELU -> one stage per
  width of [3x3 conv, GroupNorm(8), GELU] (default widths 48, 96, 192), 2x2
  average pooling between stages (64 px: 16 -> 8 -> 4) -> global average
  pool -> the FEATURES (float32 [B, widths[-1]], 192 by default) ->
  Dense(num_classes) logits. About 0.34 M parameters (1.3 MB float32); sized
  so that training on the shared 2-core CPU takes minutes.

The features are the global average of the last stage: the analogue of
Inception's pool3 features in FID/KID.
"""

from __future__ import annotations

import json
import os
from typing import Any, Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax

from maskgit import checkpoints
from maskgit.training import recipe as recipe_lib

PyTree = Any
DEFAULT_WIDTHS = (48, 96, 192)
DEFAULT_STEM = 4
_REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# The shipped weights (trained by `configs/features.py:emoji`).
DEFAULT_PATH = os.path.join(_REPO, "weights", "emoji", "features.msgpack")


class FeatureNet(nn.Module):
  """CNN classifier; `__call__` returns (features [B, F], logits [B, K])."""
  num_classes: int = 9
  widths: Sequence[int] = DEFAULT_WIDTHS
  stem: int = DEFAULT_STEM

  @nn.compact
  def __call__(self, images: jax.Array) -> tuple[jax.Array, jax.Array]:
    x = images.astype(jnp.float32) * 2.0 - 1.0
    x = nn.Conv(self.widths[0], (self.stem, self.stem),
                strides=(self.stem, self.stem), padding="VALID")(x)
    x = nn.gelu(nn.GroupNorm(num_groups=min(8, self.widths[0]))(x))
    for i, w in enumerate(self.widths):
      if i:
        x = nn.avg_pool(x, (2, 2), strides=(2, 2))
      x = nn.Conv(w, (3, 3))(x)
      x = nn.GroupNorm(num_groups=min(8, w))(x)
      x = nn.gelu(x)
    feats = x.mean(axis=(1, 2))
    return feats, nn.Dense(self.num_classes)(feats)


class FeatureExtractor:
  """Jitted features of a trained `FeatureNet` (see module docstring)."""

  def __init__(self, params: PyTree, num_classes: int = 9,
               widths: Sequence[int] = DEFAULT_WIDTHS, stem: int = DEFAULT_STEM,
               batch_size: int = 256):
    self.net = FeatureNet(num_classes=num_classes, widths=tuple(widths),
                          stem=int(stem))
    self.params = jax.tree.map(jnp.asarray, params)
    self.batch_size = int(batch_size)
    self._apply = jax.jit(lambda p, x: self.net.apply({"params": p}, x))

  @classmethod
  def load(cls, path: str = DEFAULT_PATH, **kwargs) -> "FeatureExtractor":
    """From a msgpack written by the `features` recipe's export.

    The architecture is read from `<path minus .msgpack>.json` when present
    (written next to the weights by the export), else the defaults.
    """
    if not os.path.isfile(path):
      raise FileNotFoundError(
          f"No feature-network weights at {path}: train them with "
          "`python train.py --config=configs/features.py:emoji` (see "
          "docs/comparisons.md).")
    meta_path = os.path.splitext(path)[0] + ".json"
    if os.path.isfile(meta_path):
      with open(meta_path) as f:
        meta = json.load(f)
      kwargs.setdefault("num_classes", int(meta["num_classes"]))
      kwargs.setdefault("widths", tuple(meta["widths"]))
      kwargs.setdefault("stem", int(meta["stem"]))
    return cls(checkpoints.read_msgpack(path)["params"], **kwargs)

  def _run(self, images: np.ndarray, which: int) -> np.ndarray:
    images = _as_float_images(images)
    out = []
    for i in range(0, len(images), self.batch_size):
      chunk = images[i:i + self.batch_size]
      n = len(chunk)
      if n < self.batch_size:
        # Pad a short chunk: one compiled shape for every call.
        chunk = np.concatenate([chunk, np.zeros(
            (self.batch_size - n,) + chunk.shape[1:], chunk.dtype)])
      out.append(np.asarray(self._apply(self.params, chunk)[which])[:n])
    if not out:
      return np.zeros((0, self.num_outputs(which)), np.float32)
    return np.concatenate(out).astype(np.float64)

  def num_outputs(self, which: int) -> int:
    return (self.net.widths[-1] if which == 0 else self.net.num_classes)

  def features(self, images) -> np.ndarray:
    """float64 [N, F] features of images [N, S, S, 3] (uint8 or [0, 1])."""
    return self._run(images, 0)

  def logits(self, images) -> np.ndarray:
    """float64 [N, K] class logits of images [N, S, S, 3]."""
    return self._run(images, 1)


def _as_float_images(images) -> np.ndarray:
  images = np.asarray(images)
  if images.ndim != 4 or images.shape[-1] != 3:
    raise ValueError(f"images must be [N, H, W, 3], got {images.shape}.")
  if images.dtype == np.uint8:
    return images.astype(np.float32) / 255.0
  return np.clip(images.astype(np.float32), 0.0, 1.0)


def accuracy(extractor: FeatureExtractor, images, labels) -> dict:
  """Top-1 accuracy and class-balanced accuracy on labelled images."""
  pred = extractor.logits(images).argmax(-1)
  labels = np.asarray(labels)
  per_class = [float((pred[labels == k] == k).mean())
               for k in np.unique(labels)]
  return {"accuracy": float((pred == labels).mean()),
          "balanced_accuracy": float(np.mean(per_class)),
          "num_images": int(len(labels))}


@recipe_lib.register("features")
class FeaturesRecipe(recipe_lib.Recipe):
  """`train.py` recipe `features`: cross-entropy over the Unicode groups.

  Config (`configs/features.py`): `features.num_classes`, `features.widths`,
  `features.stem`, `features.image_size`; data as every recipe (`data.source=npz` on the
  emoji arrays). Export: `<workdir>/export/features.msgpack` (params) and
  `features.json` (architecture).
  """

  name = "features"

  def _net(self) -> FeatureNet:
    f = self.config.features
    return FeatureNet(num_classes=int(f.num_classes),
                      widths=tuple(int(w) for w in f.widths),
                      stem=int(f.stem))

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

  def loss_fn(self, params, frozen, batch, rng, step, train):
    del frozen, rng, step, train
    _, logits = self._net().apply({"params": params}, batch["image"])
    k = int(self.config.features.num_classes)
    onehot = jax.nn.one_hot(batch["label"], k)
    smooth = float(self.config.label_smoothing)
    target = onehot * (1 - smooth) + smooth / k
    loss = optax.softmax_cross_entropy(logits, target).mean()
    acc = (logits.argmax(-1) == batch["label"]).mean()
    return loss, {"accuracy": acc}

  def export(self, params, frozen, out_dir):
    del frozen
    f = self.config.features
    path = os.path.join(out_dir, "features.msgpack")
    checkpoints.write_msgpack(path, params)
    meta = os.path.join(out_dir, "features.json")
    with open(meta, "w") as fh:
      json.dump({"num_classes": int(f.num_classes),
                 "widths": [int(w) for w in f.widths],
                 "stem": int(f.stem),
                 "image_size": int(f.image_size)}, fh)
    return [path, meta]




def main(argv):
  """Prints (and writes) the feature network's accuracy on a split."""
  del argv
  from absl import flags  # pylint: disable=g-import-not-at-top
  f = flags.FLAGS
  ext = FeatureExtractor.load(f.weights)
  with np.load(f.data) as d:
    images, labels = d[f"{f.split}_image"], d[f"{f.split}_label"]
  result = {"weights": os.path.basename(f.weights), "split": f.split,
            **accuracy(ext, images, labels),
            "parameters": int(sum(np.size(x) for x in jax.tree.leaves(
                ext.params)))}
  print(json.dumps(result, indent=1))
  if f.out:
    with open(f.out, "w") as fh:
      json.dump(result, fh, indent=1)


if __name__ == "__main__":
  from absl import app  # pylint: disable=g-import-not-at-top
  from absl import flags  # pylint: disable=g-import-not-at-top
  flags.DEFINE_string("weights", DEFAULT_PATH, "features.msgpack.")
  flags.DEFINE_string("data", "data/emoji64.npz", "Dataset .npz.")
  flags.DEFINE_string("split", "test", "Split to score.")
  flags.DEFINE_string("out", "", "Also write the JSON here.")
  app.run(main)
