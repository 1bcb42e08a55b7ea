"""The editor protocol: what every editing backend takes and gives back.

    res = editor.edit(images, guides, masks=None, labels=0, strength=0.5,
                      seed=0, num_samples=1, options=None)
    res.images            # float32 [N, S, H, W, 3] composited samples
    res.pixel_masks       # bool [N, H, W] the edited pixels
    res.feather_weights   # float32 [N, H, W] composite weights (0 = input)
    res.regions           # bool [N, H, W] the pixels the method regenerated
    res.tokens            # TokenInfo (token methods) or None

Every editor (the MaskGIT `maskgit_edit.editor.Editor`, the diffusion
baseline's `baselines.sdedit.editor.DiffusionEditor`, a plug-in of yours)
subclasses `BaseEditor`: its `edit` checks the inputs in ONE place
(`check_inputs`: shapes, dtypes, labels, strength, seeds, the edited pixels)
and hands an `EditInputs` to the subclass's `_edit`. The options are the
method's own (`maskgit_edit.methods`: each method builds its options and its
editor from an edit config).

Shared promises, kept by every editor and tested for every registered method
(tests/test_methods.py): pixels farther than the feather radius from an
edited pixel are bit-identical to the input; strength 0 returns the guide as
faithfully as the model allows; an edit's samples depend only on its own
inputs and seed, not on the other edits of the batch.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any, Sequence

import numpy as np

from maskgit import compositing
from maskgit import model as model_lib
from maskgit_edit import guidance


@dataclasses.dataclass(frozen=True)
class EditInputs:
  """N checked edits (host numpy).

  Attributes:
    images: float32 [N, S, S, 3] in [0, 1].
    guides: float32 [N, S, S, 3] in [0, 1].
    masks: N user masks (None or [S, S]) as given.
    pixel_masks: bool [N, S, S], the edited pixels (`guidance.pixel_mask`).
    labels: int32 [N].
    strength: float32 [N] in [0, 1].
    seeds: int64 [N].
    num_samples: samples per edit, >= 1.
  """
  images: np.ndarray
  guides: np.ndarray
  masks: list
  pixel_masks: np.ndarray
  labels: np.ndarray
  strength: np.ndarray
  seeds: np.ndarray
  num_samples: int

  def __len__(self) -> int:
    return len(self.images)


@dataclasses.dataclass
class TokenInfo:
  """The tokens of a token method's edits (w = window side, N edits).

  Patch-local editing gives each edit its own window: when the sides differ,
  the array fields are lists of N per-edit arrays.

  Attributes:
    samples: int32 [N, S, w, w] edited tokens in the window.
    original: int32 [N, w, w] image tokens in the window.
    guide: int32 [N, w, w] guide tokens in the window.
    edit: bool [N, w, w] E in the window.
    offsets: int32 [N, 2] (row, col) of the window in the token grid.
  """
  samples: Any
  original: Any
  guide: Any
  edit: Any
  offsets: np.ndarray


@dataclasses.dataclass
class EditResult:
  """What every editor returns for N edits x S samples.

  Attributes:
    images: float32 [N, S, H, W, 3] composited outputs in [0, 1].
    pixel_masks: bool [N, H, W] edited pixels.
    feather_weights: float32 [N, H, W] composite weights (0 = the input).
    regions: bool [N, H, W] the pixels the method regenerated (token
      methods: the patches of the edited tokens E; others: where the
      feather weight is > 0).
    timings: seconds: 'prepare', 'device' (including compilation on a first
      call), 'composite', 'total'.
    compiled: whether this call compiled a new program.
    tokens: TokenInfo for token methods, None for others.
  """
  images: np.ndarray
  pixel_masks: np.ndarray
  feather_weights: np.ndarray
  regions: np.ndarray
  timings: dict
  compiled: bool
  tokens: TokenInfo | None = None


def check_inputs(images, guides, masks, labels, strength, seed,
                 num_samples: int, image_size: int,
                 num_classes: int) -> EditInputs:
  """The one input check of every editor.

  Args:
    images: float [N, S, S, 3] (or [S, S, 3]) in [0, 1]; S = image_size.
    guides: float, the same shape (or one [S, S, 3] for every image).
    masks: None, or N entries each None or a bool/float [S, S] mask.
    labels: int, or N ints, in [0, num_classes) (any int when num_classes
      is 0: an unconditional model).
    strength: float or N floats in [0, 1].
    seed: int or N ints.
    num_samples: int >= 1.
    image_size: the model's side S.
    num_classes: the model's classes (0 = unconditional).

  Returns:
    EditInputs.

  Raises:
    ValueError (guidance.GuidanceError for guidance that cannot be edited:
    mismatched guide or mask, empty mask, nothing painted).
  """
  images = check_images(images, image_size)
  n = len(images)
  guides = model_lib.as_float_images(guides, "guides")
  if guides.ndim == 3:
    guides = np.broadcast_to(guides[None], images.shape)
  if guides.shape != images.shape:
    raise guidance.GuidanceError(f"Guides {guides.shape} and images "
                                 f"{images.shape} differ in shape.")
  masks = [None] * n if masks is None else list(masks)
  if len(masks) != n:
    raise ValueError(f"{len(masks)} masks for {n} images.")
  labels = _per_edit(check_labels(labels, num_classes), n, "labels")
  strength = _per_edit(np.atleast_1d(np.asarray(strength, np.float32)), n,
                       "strength values")
  if not np.all((strength >= 0) & (strength <= 1)):
    raise ValueError(f"strength must be in [0, 1], got {strength.tolist()}.")
  seeds = np.atleast_1d(np.asarray(seed))
  if seeds.ndim != 1 or not np.issubdtype(seeds.dtype, np.integer):
    raise ValueError(f"seed must be an int or {n} ints, got {seed!r}.")
  seeds = _per_edit(seeds.astype(np.int64), n, "seeds")
  if int(num_samples) < 1:
    raise ValueError(f"num_samples must be >= 1, got {num_samples}.")
  pix = np.stack([guidance.pixel_mask(i, g, m)
                  for i, g, m in zip(images, guides, masks)])
  return EditInputs(images=images, guides=np.ascontiguousarray(guides),
                    masks=masks, pixel_masks=pix, labels=labels,
                    strength=strength, seeds=seeds,
                    num_samples=int(num_samples))


def check_images(images, image_size: int) -> np.ndarray:
  """float32 [N, S, S, 3] of float images [N, S, S, 3] or [S, S, 3].

  Raises:
    ValueError: integer input (divide by 255 first) or another shape.
  """
  images = model_lib.as_float_images(images)
  if images.ndim == 3:
    images = images[None]
  s = image_size
  if images.ndim != 4 or images.shape[1:] != (s, s, 3):
    raise ValueError(f"Expected images of shape [B, {s}, {s}, 3] (or "
                     f"[{s}, {s}, 3]) in [0, 1], got {images.shape}.")
  return images


def check_labels(labels, num_classes: int) -> np.ndarray:
  """int32 [N] labels in [0, num_classes) (any ints if num_classes is 0)."""
  if num_classes:
    return model_lib.check_labels(labels, num_classes)
  labels = np.atleast_1d(np.asarray(labels))
  if labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer):
    raise ValueError(f"Class labels must be integers, got {labels!r}.")
  return labels.astype(np.int32)


def _per_edit(values: np.ndarray, n: int, what: str) -> np.ndarray:
  """`values` [1] or [n] -> [n] (one value per edit)."""
  if values.ndim != 1 or len(values) not in (1, n):
    raise ValueError(f"{len(values)} {what} for {n} images (give one, or "
                     "one per image).")
  return np.broadcast_to(values, (n,)).copy()


def feather_weights(pixel_masks_NHW: np.ndarray, feather: int) -> np.ndarray:
  """float32 [N, H, W] composite weights: 0 farther than `feather` px."""
  return np.stack([compositing.feather_mask(p, feather)
                   for p in pixel_masks_NHW])


class BaseEditor:
  """An editor: checks the inputs once, then runs its `_edit`.

  Subclasses set `image_size` and `num_classes` (attributes or properties)
  and implement `_edit(inputs: EditInputs, options) -> EditResult` and
  `default_options()`.
  """

  image_size: int
  num_classes: int

  # Editors are static jit arguments of their own jitted methods.
  __hash__ = object.__hash__

  def default_options(self) -> Any:
    """The options used when `edit` gets none."""
    raise NotImplementedError

  def batch_key(self, pixel_mask: np.ndarray, options: Any):
    """Edits with equal keys share one compiled program (batch loop).

    Default: one group. The MaskGIT editor's patch-local mode keys on the
    window sides, so that batches never mix window buckets.
    """
    del pixel_mask, options
    return None

  def prepare_images(self, images) -> None:
    """Precomputes what editing these images needs (token editors: their
    tokens), so that the first edit of an image is as fast as the next."""
    del images

  def keep_sample(self, original, result: EditResult, edit_index: int,
                  sample_index: int) -> None:
    """A sample of `result` becomes the new image (of `original`, float
    [S, S, 3]); token editors cache the tokens it was decoded from."""
    del original, result, edit_index, sample_index

  def _edit(self, inputs: EditInputs, options: Any) -> EditResult:
    raise NotImplementedError

  def edit(self, images, guides, masks: Sequence[Any] | None = None,
           labels=0, strength=0.5, seed=0, num_samples: int = 1,
           options: Any = None) -> EditResult:
    """Edits N images following their guides (see the module docstring).

    Args:
      images: float [N, S, S, 3] (or [S, S, 3]) in [0, 1].
      guides: same shape: the images with the user's strokes or paste.
      masks: None, or per edit None / bool-or-float [S, S] mask. Without a
        mask, the edited pixels are those where guide != image (8-bit).
      labels: class label (int, or one per edit).
      strength: float in [0, 1] (or one per edit): 0 = the guide, 1 = ignore
        it (methods that do not use strength ignore it).
      seed: PRNG seed, an int or one per edit. An edit's samples depend only
        on its own inputs, seed, strength, label, num_samples and options.
      num_samples: samples per edit.
      options: the method's options (None: `default_options()`).

    Returns:
      EditResult.

    Raises:
      ValueError (guidance.GuidanceError for bad guidance): bad shapes,
      empty edit, strength outside [0, 1], bad labels or seeds, bad options,
      a method the model cannot run.
    """
    t0 = time.perf_counter()
    inputs = check_inputs(images, guides, masks, labels, strength, seed,
                          num_samples, self.image_size, self.num_classes)
    checked = time.perf_counter() - t0
    result = self._edit(inputs, self.default_options() if options is None
                        else options)
    result.timings["prepare"] = result.timings.get("prepare", 0.0) + checked
    result.timings["total"] = time.perf_counter() - t0
    return result
