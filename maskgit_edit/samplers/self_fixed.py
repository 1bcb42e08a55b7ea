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
  'codebook': -|e_g - e_x|^2 / mean distance (codebook vectors).
"""

from __future__ import annotations

import dataclasses
import math

import jax
import jax.numpy as jnp
import numpy as np

from maskgit import decode as decode_lib
from maskgit_edit import guidance
from maskgit_edit.samplers import base

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
  """
  kernel: str = "appearance"
  form: str = "poe"
  scale: float = 1.0
  sigma: float = 0.1
  res: int = 2

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


def code_appearance(editor, res: int) -> np.ndarray:
  """float32 [C, res*res*3]: each code decoded alone, average-pooled."""
  model = editor.model
  f = model.factor
  if f % res:
    raise ValueError(f"self_fixed res {res} must divide the patch size {f}.")

  def compute():
    c = model.tokenizer_config.num_codes
    ids = np.arange(c, dtype=np.int32)[:, None, None]
    pix = model.decode_tokens(ids)
    app = guidance.pool_patches(jnp.clip(pix, 0, 1), f, res)
    return np.asarray(app).reshape(c, -1)
  return editor.cached(("code_appearance", res), compute)


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
    return {"appearance": jnp.asarray(code_appearance(editor, options.res))}

  def start(self, x, options, prepared):
    if "kernel" in prepared:
      logk = per_position(prepared["kernel"], x.guide)
    else:
      s, p = x.guide_pixels.shape[:2]
      side = int(math.isqrt(x.guide.shape[1] - 1))
      f = p // side
      gapp = guidance.pool_patches(x.guide_pixels, f, options.res)
      logk = guidance.appearance_log_kernel(prepared["appearance"], gapp,
                                            options.sigma)
      logk = jnp.concatenate([jnp.zeros((s, 1, logk.shape[-1]), logk.dtype),
                              logk], 1)
    return guided_start(x, logk, options.form, options.scale)


SAMPLER = SelfFixed()
