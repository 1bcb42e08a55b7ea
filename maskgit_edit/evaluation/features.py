"""The evaluation's feature network: realism (KID/FID) and perceptual features.

No Inception or LPIPS weights can be downloaded here, so the realism and
perceptual metrics use a network this project trains itself (recipe
`features`, `configs/features.py`, `maskgit_edit/recipes/features.py`):

`FeatureNet`, a small CNN over 64 px images:
  x * 2 - 1 -> patchify stem (stem x stem conv, stride stem) -> GroupNorm ->
  GELU -> one stage per width of [3x3 conv, GroupNorm, GELU] with 2x2
  average pooling between stages (64 px: 16 -> 8 -> 4) -> global average
  pool -> the FEATURES (float32 [B, widths[-1]]) -> two heads: the 9 emoji
  groups, and (realism nets) one "real" logit.

Trained on real emoji (the `fit` split of the evaluation splits, never the
images the evaluation edits or compares against) to classify their group
AND to tell them from degraded copies (`degrade`: blur, noise, whole-image
and local paint, recoloured segments, tokenizer reconstructions), so its
features see exactly the artefacts an edit can introduce. The sanity suite
(`sanity`, tests/test_features.py) checks this before the features are
used: originals score KID ~ 0 against real reference images; pasted
guides, posterised paintings, blur and noise score clearly above 0 and more
with strength.

The per-stage activations (`FeatureExtractor.activations`) feed the
LPIPS-style perceptual distance (`maskgit_edit.evaluation.perceptual`).
"""

from __future__ import annotations

import json
import os
from typing import Any, Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
from scipy import ndimage

from maskgit import checkpoints
from maskgit import compositing
from maskgit_edit.evaluation import metrics
from maskgit_edit.evaluation import strokes

PyTree = Any
DEFAULT_WIDTHS = (48, 96, 192)
DEFAULT_STEM = 4
_REPO = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
# The shipped weights (trained by `configs/features.py:emoji`).
DEFAULT_PATH = os.path.join(_REPO, "weights", "emoji", "features.msgpack")


class FeatureNet(nn.Module):
  """CNN; `__call__` returns (features [B, F], group logits [B, K],
  real logit [B] (zeros without a realism head), per-stage activations)."""
  num_classes: int = 9
  widths: Sequence[int] = DEFAULT_WIDTHS
  stem: int = DEFAULT_STEM
  realism_head: bool = True

  @nn.compact
  def __call__(self, images: jax.Array):
    x = images.astype(jnp.float32) * 2.0 - 1.0
    x = nn.Conv(self.widths[0], (self.stem, self.stem),
                strides=(self.stem, self.stem), padding="VALID")(x)
    x = nn.gelu(nn.GroupNorm(num_groups=min(8, self.widths[0]))(x))
    acts = [x]
    for i, w in enumerate(self.widths):
      if i:
        x = nn.avg_pool(x, (2, 2), strides=(2, 2))
      x = nn.Conv(w, (3, 3))(x)
      x = nn.GroupNorm(num_groups=min(8, w))(x)
      x = nn.gelu(x)
      acts.append(x)
    feats = x.mean(axis=(1, 2))
    logits = nn.Dense(self.num_classes)(feats)
    real = (nn.Dense(1, name="real_head")(feats)[:, 0] if self.realism_head
            else jnp.zeros(feats.shape[:1]))
    return feats, logits, real, acts


def as_float_images(images) -> np.ndarray:
  """float32 [N, H, W, 3] in [0, 1] from uint8 or floating images."""
  return np.clip(metrics.as_float(images), 0.0, 1.0).astype(np.float32)


class FeatureExtractor:
  """Jitted outputs of a trained `FeatureNet` (see module docstring)."""

  def __init__(self, params: PyTree, num_classes: int = 9,
               widths: Sequence[int] = DEFAULT_WIDTHS, stem: int = DEFAULT_STEM,
               realism_head: bool = True, batch_size: int = 256,
               layer_weights: Sequence[float] | None = None):
    self.net = FeatureNet(num_classes=num_classes, widths=tuple(widths),
                          stem=int(stem), realism_head=bool(realism_head))
    self.params = jax.tree.map(jnp.asarray, params)
    self.batch_size = int(batch_size)
    self.layer_weights = (None if layer_weights is None
                          else np.asarray(layer_weights, np.float64))
    self._apply = jax.jit(lambda p, x: self.net.apply({"params": p}, x))

  @classmethod
  def load(cls, path: str = DEFAULT_PATH, **kwargs) -> "FeatureExtractor":
    """From a msgpack written by the `features` recipe's export.

    The architecture (and the perceptual layer weights, once calibrated) is
    read from `<path minus .msgpack>.json` when present, else the defaults.
    """
    if not os.path.isfile(path):
      raise FileNotFoundError(
          f"No feature-network weights at {path}: train them with "
          "`python train.py --config=configs/features.py:emoji` (see "
          "docs/comparisons.md).")
    meta = read_meta(path)
    for key in ("num_classes", "stem"):
      if key in meta:
        kwargs.setdefault(key, int(meta[key]))
    if "widths" in meta:
      kwargs.setdefault("widths", tuple(meta["widths"]))
    kwargs.setdefault("realism_head", bool(meta.get("realism_head", False)))
    if meta.get("layer_weights"):
      kwargs.setdefault("layer_weights", meta["layer_weights"])
    return cls(checkpoints.read_msgpack(path)["params"], **kwargs)

  def _run(self, images, pick) -> list[np.ndarray]:
    """`pick(outputs)` -> list of arrays, batched, for images [N, ...]."""
    images = as_float_images(images)
    out = []
    for i in range(0, len(images), self.batch_size):
      chunk = images[i:i + self.batch_size]
      n = len(chunk)
      if n < self.batch_size:
        # Pad a short chunk: one compiled shape for every call.
        chunk = np.concatenate([chunk, np.zeros(
            (self.batch_size - n,) + chunk.shape[1:], chunk.dtype)])
      got = pick(self._apply(self.params, chunk))
      out.append([np.asarray(g)[:n] for g in got])
    if not out:
      raise ValueError("No images given.")
    return [np.concatenate(parts) for parts in zip(*out)]

  def features(self, images) -> np.ndarray:
    """float64 [N, F] pooled features of images [N, S, S, 3]."""
    return self._run(images, lambda o: [o[0]])[0].astype(np.float64)

  def logits(self, images) -> np.ndarray:
    """float64 [N, K] group logits."""
    return self._run(images, lambda o: [o[1]])[0].astype(np.float64)

  def real_logits(self, images) -> np.ndarray:
    """float64 [N]: the realism head's logit (> 0: looks real)."""
    return self._run(images, lambda o: [o[2]])[0].astype(np.float64)

  def activations(self, images) -> list[np.ndarray]:
    """Per-stage activations, float32 [N, h_l, w_l, C_l], stem first."""
    return self._run(images, lambda o: list(o[3]))


def read_meta(path: str) -> dict:
  """The architecture/calibration JSON next to a weights file ({} if none)."""
  meta_path = os.path.splitext(path)[0] + ".json"
  if not os.path.isfile(meta_path):
    return {}
  with open(meta_path) as f:
    return json.load(f)


def accuracy(extractor: FeatureExtractor, images, labels) -> dict:
  """Top-1 accuracy and class-balanced accuracy on labelled images."""
  pred = extractor.logits(images).argmax(-1)
  labels = np.asarray(labels)
  per_class = [float((pred[labels == k] == k).mean())
               for k in np.unique(labels)]
  return {"accuracy": float((pred == labels).mean()),
          "balanced_accuracy": float(np.mean(per_class)),
          "num_images": int(len(labels))}


# ------------------------------------------------------------ degradations
# Families of degraded copies of a real image, each with a strength u in
# [0, 1] (stronger = further from real). Used to train the realism head and,
# at fixed strengths, by the sanity suite.
FAMILIES = ("blur", "noise", "posterise", "paint_local", "segment",
            "tokenize")


def _rect(side: int, area: float, rng: np.random.Generator) -> np.ndarray:
  h = int(np.clip(round(np.sqrt(area) * side * rng.uniform(0.7, 1.4)), 2,
                  side))
  w = int(np.clip(round(area * side * side / h), 2, side))
  top, left = rng.integers(0, side - h + 1), rng.integers(0, side - w + 1)
  m = np.zeros((side, side), bool)
  m[top:top + h, left:left + w] = True
  return m


def degrade(image: np.ndarray, family: str, u: float,
            rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray | None]:
  """A degraded copy of one float image [S, S, 3] in [0, 1].

  Args:
    image: float32 [S, S, 3].
    family: one of FAMILIES.
    u: strength in [0, 1].
    rng: randomness of the degradation (positions, colours, noise).

  Returns:
    (degraded float32 [S, S, 3], region bool [S, S] or None): for
    'tokenize' the image is returned unchanged with the region whose pixels
    the caller replaces by the tokenizer's reconstruction (feathered).
  """
  side = image.shape[0]
  u = float(np.clip(u, 0.0, 1.0))
  if family == "blur":
    s = 0.3 + 2.7 * u
    return ndimage.gaussian_filter(image, (s, s, 0), mode="nearest"), None
  if family == "noise":
    s = 0.01 + 0.14 * u
    return np.clip(image + s * rng.standard_normal(image.shape), 0, 1
                   ).astype(np.float32), None
  if family == "posterise":
    # SDEdit's 6-colour stroke painting of the whole image, blended over
    # it: a = 0.15 + 0.85 u of the painting. (Fewer colours is NOT
    # monotone for this network: measured, docs/comparisons.md.)
    a = 0.15 + 0.85 * u
    paint = strokes.sdedit_strokes(image, seed=int(rng.integers(2**31)))
    return ((1 - a) * image + a * paint).astype(np.float32), None
  if family == "paint_local":
    paint = strokes.sdedit_strokes(image, seed=int(rng.integers(2**31)))
    m = _rect(side, 0.05 + 0.45 * u, rng)
    return np.where(m[..., None], paint, image), None
  if family == "segment":
    mode = "counterfactual" if rng.random() < 0.5 else "inversion"
    out = image
    for _ in range(1 + int(round(2 * u))):  # 1-3 segments.
      out, _ = strokes.pilot_stroke_edit(out, mode=mode,
                                         seed=int(rng.integers(2**31)))
    return out, None
  if family == "tokenize":
    return image, _rect(side, 0.1 + 0.9 * u, rng)
  raise ValueError(f"Unknown degradation {family!r}; choose one of "
                   f"{', '.join(FAMILIES)}.")


def paste_reconstruction(image: np.ndarray, recon: np.ndarray,
                         region: np.ndarray, feather: int = 4) -> np.ndarray:
  """The tokenizer's reconstruction in `region` (feathered), as an edit."""
  w = compositing.feather_mask(region, feather)
  return compositing.composite(image, recon, w)


# ---------------------------------------------------------- sanity suite
# (family, strengths) checked by `sanity`: each must score KID clearly above
# the originals and increase with strength.
SANITY = (("blur", (0.1, 0.4, 1.0)), ("noise", (0.2, 0.5, 1.0)),
          ("posterise", (0.15, 0.5, 1.0)), ("paint_local", (0.25, 0.6, 1.0)))


def sanity(extractor: FeatureExtractor, images: np.ndarray,
           reference_features: np.ndarray, seed: int = 0,
           num_bootstrap: int = 200) -> dict:
  """KID of originals and of degraded copies at rising strengths.

  Args:
    extractor: the feature network.
    images: uint8/float [N, S, S, 3] real images it never saw in training.
    reference_features: float [M, F] of other real images.
    seed: degradation and bootstrap seed.
    num_bootstrap: image resamples for the originals' interval.

  Returns:
    {"originals": {"kid", "ci"}, family: {"kid": [per strength],
     "strengths": [...]}} (KID x1e3), and "passed"/"failures".
  """
  from maskgit_edit.evaluation import stats  # pylint: disable=g-import-not-at-top
  x = as_float_images(images)
  ref = np.asarray(reference_features, np.float64)
  feats = extractor.features(x)
  kid0 = stats.KidBootstrap(feats, ref)
  orig = kid0.value() * 1e3
  lo, hi = (np.percentile(kid0.replicates(
      stats.bootstrap_indices(len(x), num_bootstrap, seed)), (2.5, 97.5))
            * 1e3)
  out = {"originals": {"kid": orig, "ci": [float(lo), float(hi)]},
         "num_images": int(len(x)), "num_reference": int(len(ref))}
  failures = []
  if not lo <= 0 <= hi:
    failures.append(f"originals KID interval [{lo:.2f}, {hi:.2f}] excludes 0")
  for family, levels in SANITY:
    kids = []
    for u in levels:
      rng = np.random.default_rng([seed, FAMILIES.index(family),
                                   int(u * 1000)])
      deg = np.stack([degrade(im, family, u, rng)[0] for im in x])
      kids.append(stats.KidBootstrap(extractor.features(deg), ref).value()
                  * 1e3)
    out[family] = {"strengths": list(levels), "kid": kids}
    if kids[0] <= hi:
      failures.append(f"{family} at {levels[0]}: KID {kids[0]:.2f} within "
                      f"the originals' interval (<= {hi:.2f})")
    if not all(b > a for a, b in zip(kids, kids[1:])):
      failures.append(f"{family}: KID not increasing with strength "
                      f"{[round(k, 2) for k in kids]}")
  out["failures"] = failures
  out["passed"] = not failures
  return out


def main(argv):
  """Accuracy, realism and the sanity suite of a feature network."""
  del argv
  from absl import flags  # pylint: disable=g-import-not-at-top
  from maskgit_edit.evaluation import splits  # pylint: disable=g-import-not-at-top
  f = flags.FLAGS
  ext = FeatureExtractor.load(f.weights)
  data = splits.load(splits.ensure(f.data))
  test, ref = data["test"], data["reference"]
  result = {"weights": os.path.basename(f.weights),
            **accuracy(ext, test.images, test.labels),
            "parameters": int(sum(np.size(x) for x in jax.tree.leaves(
                ext.params))),
            "sanity": sanity(ext, test.images, ext.features(ref.images))}
  print(json.dumps(result, indent=1))
  if f.out:
    from maskgit import io_utils  # pylint: disable=g-import-not-at-top
    io_utils.write_json(f.out, result)


if __name__ == "__main__":
  from absl import app  # pylint: disable=g-import-not-at-top
  from absl import flags  # pylint: disable=g-import-not-at-top
  flags.DEFINE_string("weights", DEFAULT_PATH, "features.msgpack.")
  flags.DEFINE_string("data", os.path.join(_REPO, "data", "emoji64.npz"),
                      "Dataset .npz (maskgit.data.arrays).")
  flags.DEFINE_string("out", "", "Also write the JSON here.")
  app.run(main)
