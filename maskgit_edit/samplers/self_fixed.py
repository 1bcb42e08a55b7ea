"""`self_fixed`: self-guidance from the guide tokens G_j with a fixed kernel.

Strength s (on E, at masked positions):
  form 'poe' (product of experts): logits + lam * log k(x, G_j) with
    lam = scale * (1 - s) / s (lam = scale at s = 0.5; s -> 0: the kernel's
    argmax, which for 'appearance' is the best-matching code, not
    necessarily G_j; s = 1: the raw logits = inpaint).
  form 'pilot': logits * w with w = C softmax(K[G_j] tau),
    tau = 1e-6 ** s * 100 ** (1 - s) (log-interpolated 1e-6..100 as
    guidance 1 - s goes 0..1), K = -mean squared codebook distance; exactly
    the raw logits at s = 1. Ill-posed, kept for comparison.
Kernels (log-affinities; `maskgit_edit.guidance`):
  'appearance': -|a(x) - p_j|^2 / (2 sigma^2), a(x) = code x's appearance
    pooled to res x res, p_j = the guide pixels of patch j pooled the same way.
    a(x) is estimated IN CONTEXT: the mean decoded patch of code x over the
    training images (a table stored with the model, e.g.
    weights/emoji/code_appearance.npz, made by scripts/code_appearance.py and
    tied to its tokenizer by a fingerprint). Without a table for the model it
    falls back, with a warning, to each code decoded alone (greyish: wrong
    hues, a non-monotone strength curve).
  'codebook': -|e_g - e_x|^2 / mean distance (codebook vectors).
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
import os
import warnings

import jax
import jax.numpy as jnp
import numpy as np

from maskgit import decode as decode_lib
from maskgit_edit import guidance
from maskgit_edit.samplers import base
from maskgit_edit.samplers import critic

MASK_ID = base.MASK_ID
# log k is clipped to this so that lam * log k stays finite (lam = 0 exact).
_MIN_LOG_K = -1e4
FORMS = ("poe", "pilot")


@dataclasses.dataclass(frozen=True)
class SelfGuidanceHooks(decode_lib.DecodeHooks):
  """Self-guidance from G_j (aux: logk [S, L, C], 0 outside E).

  form 'poe': product of experts, logits + lam(s) * log k(x, G_j).
  form 'pilot': the pilot's reweighting logits * C softmax(K[G_j] tau(s)).
  """
  form: str = "poe"
  scale: float = 1.0

  def adjust_logits(self, s, logits_BLC):
    strength = base.strength_SL1(s)
    edit = s.aux["edit"][..., None] & (s.tokens == MASK_ID)[..., None]
    logk = s.aux["logk"]
    if self.form == "poe":
      lam = self.scale * (1.0 - strength) / jnp.maximum(strength, 1e-6)
      return jnp.where(edit, logits_BLC + lam * logk, logits_BLC)
    if self.form == "pilot":
      log_tau = (strength * math.log(1e-6)
                 + (1.0 - strength) * math.log(100.0))
      w = logk.shape[-1] * jax.nn.softmax(logk * jnp.exp(log_tau), axis=-1)
      out = jnp.where(edit, logits_BLC * w, logits_BLC)
      return jnp.where(strength >= 1.0, logits_BLC, out)
    raise ValueError(f"Unknown self-guidance form {self.form!r}: "
                     f"{' or '.join(FORMS)}.")


def check_form(form: str) -> None:
  if form not in FORMS:
    raise ValueError(f"Unknown self-guidance form {form!r}: "
                     f"{' or '.join(map(repr, FORMS))}.")


def guided_start(x: base.StartInputs, logk_SLC: jax.Array, form: str,
                 scale: float):
  """Start of every self-guided sampler given log k [S, L, C] per position."""
  aux = x.base_aux()
  aux["logk"] = jnp.where(x.edit[..., None],
                          jnp.maximum(logk_SLC, _MIN_LOG_K), 0.0)
  return x.masked, SelfGuidanceHooks(form=form, scale=scale), aux


def per_position(kernel_CC: jax.Array, guide_SL: jax.Array) -> jax.Array:
  """log k [S, L, C] = kernel[G_j] (row 0 for the class token: masked out)."""
  return kernel_CC[jnp.clip(guide_SL, 0, kernel_CC.shape[0] - 1)]


@dataclasses.dataclass(frozen=True)
class Options:
  """self_fixed options.

  Attributes:
    kernel: 'appearance' or 'codebook' (the 'pilot' form always uses the
      pilot's codebook kernel).
    form: 'poe' (product of experts) or 'pilot'.
    scale: lam at strength 0.5 for the 'poe' form.
    sigma: colour tolerance of the appearance kernel ([0, 1] units).
    res: low-res appearance grid per token (res x res; divides the patch).
    table: code-appearance table (.npz from scripts/code_appearance.py);
      '' = the embedded model's table when it matches the tokenizer, else
      each code decoded alone (with a warning).
  """
  kernel: str = "appearance"
  form: str = "poe"
  scale: float = 1.0
  sigma: float = 0.1
  res: int = 2
  table: str = ""

  def validate(self) -> "Options":
    if self.kernel not in ("appearance", "codebook"):
      raise ValueError(f"Unknown self_fixed kernel {self.kernel!r}: "
                       "'appearance' or 'codebook'.")
    check_form(self.form)
    if not self.sigma > 0:
      raise ValueError(f"self_fixed sigma must be > 0, got {self.sigma}.")
    if self.res < 1:
      raise ValueError(f"self_fixed res must be >= 1, got {self.res}.")
    return self


def tokenizer_fingerprint(model) -> str:
  """A short hash of the tokenizer's codebook (ties a table to its model)."""
  cb = np.asarray(model.tokenizer_params["quantizer"]["codebook"], np.float32)
  return hashlib.sha1(cb.tobytes()).hexdigest()[:16]


def appearance_alone(model) -> np.ndarray:
  """float32 [C, f, f, 3]: each code decoded alone (the old estimate)."""
  c = model.tokenizer_config.num_codes
  ids = np.arange(c, dtype=np.int32)[:, None, None]
  return np.clip(model.decode_tokens(ids), 0, 1).astype(np.float32)


def appearance_in_context(model, images, batch: int = 256):
  """Mean decoded f x f patch of each code over `images`.

  Args:
    model: a MaskGIT.
    images: uint8 or float [N, S, S, 3] (uint8 is scaled by 1/255).
    batch: images per encode/decode call.

  Returns:
    (table float32 [C, f, f, 3], counts int64 [C]); codes that never occur
    get their decoded-alone appearance and count 0.
  """
  f, c = model.factor, model.tokenizer_config.num_codes
  sums = np.zeros((c, f * f * 3), np.float64)
  counts = np.zeros((c,), np.int64)
  for i in range(0, len(images), batch):
    x = np.asarray(images[i:i + batch])
    x = x.astype(np.float32) / 255.0 if x.dtype == np.uint8 else x
    ids = np.asarray(model.encode(x))
    pix = np.clip(model.decode_tokens(ids), 0, 1)
    n, h, w = ids.shape
    patches = pix.reshape(n, h, f, w, f, 3).transpose(0, 1, 3, 2, 4, 5)
    np.add.at(sums, ids.reshape(-1), patches.reshape(-1, f * f * 3))
    counts += np.bincount(ids.reshape(-1), minlength=c)
  table = appearance_alone(model).reshape(c, -1).astype(np.float64)
  used = counts > 0
  table[used] = sums[used] / counts[used, None]
  return table.reshape(c, f, f, 3).astype(np.float32), counts


def save_appearance_table(path: str, model, table: np.ndarray,
                          counts: np.ndarray) -> None:
  np.savez_compressed(path, appearance=table.astype(np.float32),
                      counts=counts.astype(np.int64),
                      fingerprint=np.asarray(tokenizer_fingerprint(model)))


def load_appearance_table(path: str, model) -> np.ndarray:
  """float32 [C, f, f, 3] from `path`; GuidanceError if it does not fit."""
  f, c = model.factor, model.tokenizer_config.num_codes
  try:
    with np.load(path, allow_pickle=False) as z:
      table, fp = z["appearance"], str(z["fingerprint"])
  except (OSError, KeyError, ValueError) as e:
    raise guidance.GuidanceError(
        f"Cannot read appearance table {path}: {e}") from e
  if table.shape != (c, f, f, 3) or fp != tokenizer_fingerprint(model):
    raise guidance.GuidanceError(
        f"Appearance table {path} ({table.shape}, tokenizer {fp}) was not "
        f"made for this tokenizer ({(c, f, f, 3)}, "
        f"{tokenizer_fingerprint(model)}); regenerate it with "
        "scripts/code_appearance.py.")
  return table.astype(np.float32)


def default_table_path() -> str:
  from maskgit import embedded  # pylint: disable=g-import-not-at-top
  return os.path.join(embedded.WEIGHTS_DIR, "code_appearance.npz")


def code_appearance(editor, res: int, table: str = "") -> np.ndarray:
  """float32 [C, res*res*3]: each code's appearance, average-pooled.

  From `table` if given; else the embedded table when it matches the
  model's tokenizer; else (with a warning) each code decoded alone.
  """
  model = editor.model
  f = model.factor
  if f % res:
    raise ValueError(f"self_fixed res {res} must divide the patch size {f}.")

  def full():
    if table:
      return load_appearance_table(table, model)
    path = default_table_path()
    if os.path.isfile(path):
      try:
        return load_appearance_table(path, model)
      except guidance.GuidanceError:
        pass
    warnings.warn("self_fixed: no code-appearance table for this model "
                  "(scripts/code_appearance.py makes one); estimating each "
                  "code's appearance by decoding it alone (greyish).",
                  stacklevel=2)
    return appearance_alone(model)

  app = editor.cached(("code_appearance", table), full)
  c = app.shape[0]
  return np.asarray(guidance.pool_patches(app, f, res)).reshape(c, -1)


class SelfFixed(base.Sampler):
  """Product of experts (or the pilot's reweighting) with a fixed kernel."""

  name = "self_fixed"
  options_class = Options

  def prepare(self, editor, options):
    cb = editor.model.tokenizer_params["quantizer"]["codebook"]
    if options.form == "pilot":
      return {"kernel": guidance.pilot_codebook_kernel(cb)}
    if options.kernel == "codebook":
      return {"kernel": guidance.codebook_log_kernel(cb)}
    return {"appearance": jnp.asarray(code_appearance(
        editor, options.res, options.table))}

  def start(self, x, options, prepared):
    if "kernel" in prepared:
      logk = per_position(prepared["kernel"], x.guide)
    else:
      logk = critic.appearance_logk(x, prepared["appearance"], options.res,
                                    options.sigma)
    return guided_start(x, logk, options.form, options.scale)


SAMPLER = SelfFixed()
