"""Python API: a loaded MaskGIT (tokenizer + transformer) and what it can do.

    from configs import models
    from maskgit import model as maskgit_model
    m = maskgit_model.MaskGIT.from_files(models.get_config("imagenet256"),
                                         "tokenizer_imagenet256_checkpoint",
                                         "maskgit_imagenet256_checkpoint")
    images = m.generate([1, 207], seed=0)            # float32 [2, 256, 256, 3]
    edited = m.box_edit(image, (64, 64, 96, 96), target_label=207, seed=0)

Images are float in [0, 1], NHWC (a single HWC image is also accepted where
noted); integer arrays (e.g. uint8 0..255) are refused with a ValueError
rather than silently clipped: divide by 255 first. Every jitted function is compiled once per input shape and option set
and reused.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from maskgit import checkpoints
from maskgit import compositing
from maskgit import decode as decode_lib
from maskgit.nets import transformer as transformer_lib
from maskgit.nets import vqgan

MASK_ID = decode_lib.MASK_ID


@dataclasses.dataclass(frozen=True)
class DecodeOptions:
  """Static options of one decode call (hashable: part of the jit cache key)."""
  num_iter: int = 16
  start_iter: int = 0
  choice_temperature: float = 4.5
  schedule: str = "cosine"
  hooks: decode_lib.DecodeHooks = decode_lib.REFERENCE


def box_to_latent_mask(box: Sequence[int], image_size: int,
                       factor: int) -> np.ndarray:
  """Official rule: pixel box (top, left, height, width) -> bool [h, w] mask.

  One token of margin on every side, clipped to the grid.
  """
  top, left, height, width = (int(v) for v in box)
  if height <= 0 or width <= 0:
    raise ValueError(f"Box height and width must be positive, got {box}.")
  if top < 0 or left < 0 or top + height > image_size or (
      left + width > image_size):
    raise ValueError(f"Box (top, left, height, width)={tuple(box)} lies "
                     f"outside the {image_size}x{image_size} image.")
  side = image_size // factor
  r0 = max(0, top // factor - 1)
  r1 = min(side, height // factor + top // factor + 1)
  c0 = max(0, left // factor - 1)
  c1 = min(side, left // factor + width // factor + 1)
  mask = np.zeros((side, side), bool)
  mask[r0:r1, c0:c1] = True
  return mask


def as_float_images(images, what: str = "images") -> np.ndarray:
  """float32 array of `images`; integer or bool input is refused.

  Images are float in [0, 1]. A uint8 array (0..255) would otherwise be
  clipped to [0, 1] downstream without a word, so it is one ValueError.

  Raises:
    ValueError: `images` has an integer or bool dtype.
  """
  images = np.asarray(images)
  if images.dtype.kind in "biu":
    raise ValueError(f"{what} must be float in [0, 1], got {images.dtype}: "
                     f"for 8-bit images divide by 255 "
                     f"(np.asarray(x, np.float32) / 255).")
  return images.astype(np.float32)


def check_labels(labels, num_classes: int) -> np.ndarray:
  """int32 [B] of class labels (an int or a sequence) in [0, num_classes).

  Raises:
    ValueError: not integers, not 1-D, or out of range (naming them).
  """
  labels = np.atleast_1d(np.asarray(labels))
  if labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer):
    raise ValueError(f"Class labels must be integers, got {labels!r}.")
  bad = labels[(labels < 0) | (labels >= num_classes)]
  if bad.size:
    raise ValueError(f"Class label(s) {bad.tolist()} out of range "
                     f"[0, {num_classes}).")
  return labels.astype(np.int32)


class MaskGIT:
  """A tokenizer + transformer pair with encode/decode/generate/edit."""

  def __init__(self, config, tokenizer_params, transformer_params):
    """Wraps loaded parameters.

    Args:
      config: model ConfigDict (see configs/models.py): image_size,
        tokenizer, transformer.
      tokenizer_params: VQGAN params tree (official layout).
      transformer_params: transformer params in the layout of
        `config.transformer.scan_layers`.
    """
    self.config = config
    self.image_size = int(config.image_size)
    self.tokenizer_config = vqgan.TokenizerConfig.from_config(config.tokenizer)
    self.transformer_config = transformer_lib.TransformerConfig.from_config(
        config.transformer)
    self.factor = self.tokenizer_config.downsample_factor
    if self.image_size % self.factor:
      raise ValueError(f"image_size {self.image_size} is not a multiple of "
                       f"the tokenizer's downsampling {self.factor}.")
    self.side = self.image_size // self.factor
    tc = self.transformer_config
    if tc.seq_len != self.side ** 2 + 1:
      raise ValueError(
          f"transformer.seq_len={tc.seq_len} but image_size {self.image_size}"
          f" gives {self.side}x{self.side} tokens + 1 class token = "
          f"{self.side ** 2 + 1}.")
    if tc.num_codes != self.tokenizer_config.num_codes:
      raise ValueError(f"transformer.num_codes={tc.num_codes} differs from "
                       f"tokenizer.num_codes={self.tokenizer_config.num_codes}.")
    self.tokenizer = vqgan.VQGAN(self.tokenizer_config)
    self.transformer = transformer_lib.Transformer(tc)
    self.tokenizer_params = jax.device_put(tokenizer_params)
    self.transformer_params = jax.device_put(transformer_params)

  # ---------------------------------------------------------------- loading
  @classmethod
  def from_files(cls, config, tokenizer_path: str,
                 transformer_path: str) -> "MaskGIT":
    """Loads official-format msgpack files (validated against `config`).

    A hinted config (num_hint_codes or hint_features > 0) takes the hint kind
    and size stored in a hinted file (token table or appearance projection).
    """
    tok_cfg = vqgan.TokenizerConfig.from_config(config.tokenizer)
    tr_cfg = transformer_lib.TransformerConfig.from_config(config.transformer)
    if tr_cfg.num_hint_codes or tr_cfg.hint_features:
      stored = checkpoints.stored_hints(transformer_path)
      if stored:
        config = config.copy_and_resolve_references()
        config.transformer.update(stored)
        tr_cfg = transformer_lib.TransformerConfig.from_config(
            config.transformer)
    return cls(config, checkpoints.load_tokenizer(tokenizer_path, tok_cfg),
               checkpoints.load_transformer(transformer_path, tr_cfg))

  @classmethod
  def random(cls, config, seed: int = 0) -> "MaskGIT":
    """Randomly initialised model (tests, benchmarks, the untrained demo)."""
    k1, k2 = jax.random.split(jax.random.key(seed))
    tok_cfg = vqgan.TokenizerConfig.from_config(config.tokenizer)
    tr_cfg = transformer_lib.TransformerConfig.from_config(config.transformer)
    tok = jax.jit(functools.partial(vqgan.init_params, tok_cfg))(k1)
    tr = jax.jit(functools.partial(transformer_lib.init_params, tr_cfg))(k2)
    return cls(config, tok["params"], tr["params"])

  def save(self, tokenizer_path: str, transformer_path: str) -> None:
    """Writes both models in the official msgpack format."""
    checkpoints.write_msgpack(tokenizer_path, self.tokenizer_params)
    checkpoints.save_transformer(transformer_path, self.transformer_params)

  # --------------------------------------------------------------- checking
  def check_images(self, images) -> np.ndarray:
    """float32 [B, S, S, 3] of `images` ([B, S, S, 3] or [S, S, 3] floats).

    Raises:
      ValueError: integer input (divide by 255 first) or another shape.
    """
    images = as_float_images(images)
    if images.ndim == 3:
      images = images[None]
    size = self.image_size
    if images.ndim != 4 or images.shape[1:] != (size, size, 3):
      raise ValueError(f"Expected images of shape [B, {size}, {size}, 3] (or "
                       f"[{size}, {size}, 3]) in [0, 1], got {images.shape}.")
    return images

  def check_labels(self, labels) -> np.ndarray:
    """int32 [B] class labels (an int or a sequence) in range."""
    return check_labels(labels, self.transformer_config.num_classes)

  # ------------------------------------- model calls (traceable, jitted)
  # The public surface that editors and samplers use: each takes optional
  # `params` (pass them as traced arguments inside your own jit; default:
  # the loaded weights) and returns a jax.Array.
  @functools.partial(jax.jit, static_argnums=0)
  def _encode(self, params, images):
    return self.tokenizer.apply({"params": params}, images,
                                method=vqgan.VQGAN.encode_ids)

  @functools.partial(jax.jit, static_argnums=0)
  def _decode_ids(self, params, ids):
    return self.tokenizer.apply({"params": params}, ids,
                                method=vqgan.VQGAN.decode_ids)

  @functools.partial(jax.jit, static_argnums=0)
  def _logits(self, params, tokens, hints, positions):
    return self.transformer.apply({"params": params}, tokens, hints,
                                  position_ids=positions)

  def encode_ids(self, images_BHW3: jax.Array, params=None) -> jax.Array:
    """Code ids int32 [B, H/f, W/f] of float images in [0, 1] (no checks)."""
    return self._encode(self.tokenizer_params if params is None else params,
                        images_BHW3)

  def decode_ids(self, ids_Bhw: jax.Array, params=None) -> jax.Array:
    """float32 images [B, h*f, w*f, 3] (unclipped) of code ids (no checks)."""
    return self._decode_ids(
        self.tokenizer_params if params is None else params, ids_Bhw)

  def logits(self, ids_BL, hints_BL=None, positions_BL=None,
             params=None) -> jax.Array:
    """Transformer logits [B, L, vocab] of token sequences [B, L].

    Args:
      ids_BL: int [B, L], [class token, image tokens]; MASK_ID = masked.
      hints_BL: None, hint ids int [B, L] (-1 = none) or hint features float
        [B, L, F] (self-conditioned transformers).
      positions_BL: None (positions 0..L-1) or int [B, L] absolute positions
        (a window of the token grid keeps its position embeddings).
      params: transformer parameters (default: the loaded ones).
    """
    hints = None
    if hints_BL is not None:
      hints = jnp.asarray(hints_BL)
      hints = hints.astype(jnp.float32 if jnp.issubdtype(
          hints.dtype, jnp.floating) else jnp.int32)
    return self._logits(
        self.transformer_params if params is None else params,
        jnp.asarray(ids_BL, jnp.int32), hints, positions_BL)

  @functools.partial(jax.jit, static_argnums=(0, 1))
  def _decode(self, opts: DecodeOptions, params, tokens, rng, aux):
    fn = lambda ids, hints: self.logits(ids, hints, params=params)
    return decode_lib.decode(
        fn, tokens, rng, num_iter=opts.num_iter, start_iter=opts.start_iter,
        num_codes=self.transformer_config.num_codes,
        choice_temperature=opts.choice_temperature, schedule=opts.schedule,
        hooks=opts.hooks, aux=aux)

  # Instances are used as static jit arguments: identity semantics.
  __hash__ = object.__hash__

  # -------------------------------------------------------- host helpers
  def encode(self, images) -> np.ndarray:
    """Images [B, S, S, 3] in [0, 1] -> int32 code ids [B, S/f, S/f]."""
    return np.asarray(self.encode_ids(self.check_images(images)))

  def decode_tokens(self, ids) -> np.ndarray:
    """Code ids [B, h, w] -> float32 images [B, h*f, w*f, 3] (unclipped)."""
    ids = np.asarray(ids, np.int32)
    if ids.ndim == 2:
      ids = ids[None]
    c = self.tokenizer_config.num_codes
    if ids.ndim != 3 or ids.min() < 0 or ids.max() >= c:
      raise ValueError(f"Expected code ids [B, h, w] in [0, {c}), got shape "
                       f"{ids.shape} range [{ids.min()}, {ids.max()}].")
    return np.asarray(self.decode_ids(ids))

  def sequence(self, ids_BHW, labels) -> np.ndarray:
    """[class token, row-major image tokens] int32 [B, 1 + h*w]."""
    ids = np.asarray(ids_BHW, np.int32).reshape(len(ids_BHW), -1)
    labels = self.check_labels(labels)
    cls = labels[:, None] + self.transformer_config.num_codes
    return np.concatenate([cls, ids], axis=1).astype(np.int32)

  def decode(self, tokens_BL, seed: int | jax.Array = 0,
             options: DecodeOptions = DecodeOptions(),
             aux: Any = None) -> np.ndarray:
    """Runs the parallel decoder on sequences with -1 at unknown positions."""
    tokens = jnp.asarray(tokens_BL, jnp.int32)
    if tokens.ndim != 2 or tokens.shape[1] != self.transformer_config.seq_len:
      raise ValueError(f"Expected token sequences [B, "
                       f"{self.transformer_config.seq_len}], got "
                       f"{tokens.shape}.")
    rng = jax.random.key(seed) if isinstance(seed, int) else seed
    return np.asarray(self._decode(options, self.transformer_params, tokens,
                                   rng, aux))

  # ------------------------------------------------------------ generation
  def generate(self, labels, seed: int = 0, num_iter: int = 16,
               choice_temperature: float = 4.5,
               schedule: str = "cosine") -> np.ndarray:
    """Class-conditional samples: float32 images [B, S, S, 3] in [0, 1]."""
    labels = self.check_labels(labels)
    n = self.side ** 2
    tokens = self.sequence(np.full((len(labels), n), MASK_ID), labels)
    out = self.decode(tokens, seed, DecodeOptions(
        num_iter=num_iter, choice_temperature=choice_temperature,
        schedule=schedule))
    ids = out[:, 1:].reshape(-1, self.side, self.side)
    return np.clip(self.decode_tokens(ids), 0.0, 1.0)

  def box_edit(self, images, box: Sequence[int], target_label, seed: int = 0,
               num_iter: int = 12, start_iter: int = 2,
               choice_temperature: float = 4.5, blend: str = "official",
               feather: int | None = None) -> np.ndarray:
    """The release's class-conditional box editing.

    Args:
      images: [B, S, S, 3] or [S, S, 3] float in [0, 1].
      box: pixel box (top, left, height, width).
      target_label: class to paint in the box (int, or one per image).
      seed: PRNG seed.
      num_iter, start_iter, choice_temperature: decoder settings.
      blend: 'official' (blurred latent mask, as released: pixels near the box
        change) or 'feather' (pixels farther than `feather` from the box are
        bit-identical to the input).
      feather: feather radius in pixels for blend='feather' (default f).

    Returns:
      float32 [B, S, S, 3] edited images.
    """
    images = self.check_images(images)
    labels = self.check_labels(target_label)
    if labels.size == 1:
      labels = np.repeat(labels, len(images))
    if len(labels) != len(images):
      raise ValueError(f"{len(labels)} target labels for {len(images)} "
                       "images.")
    latent = box_to_latent_mask(box, self.image_size, self.factor)
    ids = self.encode(images).reshape(len(images), -1)
    ids = np.where(latent.reshape(1, -1), MASK_ID, ids)
    out = self.decode(self.sequence(ids, labels), seed, DecodeOptions(
        num_iter=num_iter, start_iter=start_iter,
        choice_temperature=choice_temperature))
    decoded = self.decode_tokens(out[:, 1:].reshape(-1, self.side, self.side))
    if blend == "official":
      weight = compositing.official_blend_mask(latent, self.image_size)
    elif blend == "feather":
      top, left, height, width = box
      pixel = np.zeros((self.image_size,) * 2, bool)
      pixel[top:top + height, left:left + width] = True
      weight = compositing.feather_mask(
          pixel, self.factor if feather is None else feather)
    else:
      raise ValueError(f"Unknown blend {blend!r}: 'official' or 'feather'.")
    return compositing.composite(images, decoded, weight)
