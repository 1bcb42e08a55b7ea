"""Python API for guided editing on a loaded MaskGIT.

    from maskgit_edit import editor as editor_lib
    ed = editor_lib.Editor(model)                     # model: maskgit MaskGIT
    res = ed.edit(images, guides, masks=None, labels=207, strength=0.5,
                  seed=0, num_samples=4,
                  options=editor_lib.EditOptions(method="sdedit"))
    res.images                                        # [N, S, H, W, 3]

One jitted function per (options, window bucket, batch shape) runs: crop ->
tokenizer encode (image and guide) -> E and G_E -> guided decode (the one loop
in `maskgit.decode`) -> tokenizer decode. Strength, labels, seeds and E are
traced, so sweeping them does not recompile. Pixels are composited host-side
with a feathered mask: pixels farther than `feather` from an edited pixel are
bit-identical to the input.

Patch-local mode (`EditOptions.patch_local`): the transformer runs on
[class token + a square window of tokens covering E plus a margin] with the
tokens' absolute position embeddings; the tokenizer encodes/decodes that
window plus `decoder_margin` tokens of context. Window sides are bucketed to
multiples of side/8 so that at most 8 shapes compile per model. Full-image
mode is the same code with the window = the whole grid.
"""

from __future__ import annotations

import dataclasses
import functools
import time
from typing import Any, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from maskgit import compositing
from maskgit import decode as decode_lib
from maskgit import model as model_lib
from maskgit import schedules
from maskgit.nets import vqgan
from maskgit_edit import guidance
from maskgit_edit import hints as hints_lib
from maskgit_edit import samplers

MASK_ID = decode_lib.MASK_ID


@dataclasses.dataclass(frozen=True)
class EditOptions:
  """Static edit settings (hashable: part of the jit cache key).

  Attributes:
    method: one of samplers.METHODS.
    num_iter: schedule length T.
    start_iter: first decoding step (the pilot and box editing use 2).
    choice_temperature: Gumbel temperature of the re-masking choice.
    schedule: mask schedule name.
    dilation: dilate E by this many tokens.
    feather: feather radius in pixels of the composite.
    patch_local: run transformer + tokenizer on a window around E only.
    window_margin: tokens of transformer context around E (patch-local); the
      window also always covers the feather band.
    decoder_margin: extra tokens of tokenizer context around the window.
    kernel: self_fixed kernel, 'appearance' or 'codebook'.
    self_form: self_fixed form, 'poe' (product of experts) or 'pilot'.
    guidance_scale: lam at strength 0.5 for the 'poe' form.
    appearance_sigma: colour tolerance of the appearance kernel ([0, 1] units).
    appearance_res: low-res appearance grid per token (r x r).
    remask: sdedit lets unrevised guide tokens be re-masked.
    hint_positions: selfcond hints on all of E ('edit') or only on its
      still-masked tokens ('masked').
  """
  method: str = "sdedit"
  num_iter: int = 12
  start_iter: int = 2
  choice_temperature: float = 4.5
  schedule: str = "cosine"
  dilation: int = 0
  feather: int = 8
  patch_local: bool = False
  window_margin: int = 1
  decoder_margin: int = 1
  kernel: str = "appearance"
  self_form: str = "poe"
  guidance_scale: float = 1.0
  appearance_sigma: float = 0.1
  appearance_res: int = 2
  remask: bool = True
  hint_positions: str = "edit"

  def validate(self) -> "EditOptions":
    samplers.check_method(self.method)
    schedules.validate(self.schedule)
    if not 0 <= self.start_iter < self.num_iter:
      raise ValueError(f"Need 0 <= start_iter < num_iter, got "
                       f"{self.start_iter}, {self.num_iter}.")
    if self.kernel not in ("appearance", "codebook"):
      raise ValueError(f"Unknown kernel {self.kernel!r}: 'appearance' or "
                       "'codebook'.")
    if self.self_form not in ("poe", "pilot"):
      raise ValueError(f"Unknown self_form {self.self_form!r}: 'poe' or "
                       "'pilot'.")
    for name in ("dilation", "feather", "window_margin", "decoder_margin"):
      if getattr(self, name) < 0:
        raise ValueError(f"{name} must be >= 0.")
    if self.hint_positions not in samplers.SELFCOND_POSITIONS:
      raise ValueError(f"Unknown hint_positions {self.hint_positions!r}: "
                       f"{' or '.join(samplers.SELFCOND_POSITIONS)}.")
    return self


@dataclasses.dataclass
class EditResult:
  """Outputs of `Editor.edit` (N edits x S samples; w = window side).

  Attributes:
    images: float32 [N, S, H, W, 3] composited outputs in [0, 1].
    tokens: int32 [N, S, w, w] edited tokens in the window.
    original_tokens: int32 [N, w, w] image tokens in the window.
    guide_tokens: int32 [N, w, w] guide tokens in the window.
    edit_tokens: bool [N, w, w] E in the window.
    window_offsets: int [N, 2] (row, col) of the window in the token grid.
    pixel_masks: bool [N, H, W] edited pixels.
    feather_weights: float32 [N, H, W] composite weights (0 = original).
    timings: seconds: 'prepare', 'device' (encode + decode loop + tokenizer
      decode, including compilation on a first call), 'composite', 'total'.
    compiled: whether this call compiled a new shape/option set.
  """
  images: np.ndarray
  tokens: np.ndarray
  original_tokens: np.ndarray
  guide_tokens: np.ndarray
  edit_tokens: np.ndarray
  window_offsets: np.ndarray
  pixel_masks: np.ndarray
  feather_weights: np.ndarray
  timings: dict
  compiled: bool


def bucket(n: int, side: int) -> int:
  """Rounds a window side up to a multiple of ceil(side / 8), capped at side."""
  q = max(1, -(-side // 8))
  return min(side, -(-n // q) * q)


class Editor:
  """Guided editing on a MaskGIT model (see module docstring)."""

  def __init__(self, model: model_lib.MaskGIT, kernel_path: str = ""):
    """Wraps `model`; `kernel_path`: .npy [C, C] kernel for self_learned."""
    self.model = model
    self.kernel_path = kernel_path
    self._learned = None
    self._code_app = {}
    self._seen = set()

  __hash__ = object.__hash__

  # ------------------------------------------------------------- helpers
  def learned_kernel(self) -> np.ndarray:
    if self._learned is None:
      self._learned = guidance.load_learned_kernel(
          self.kernel_path, self.model.tokenizer_config.num_codes)
    return self._learned

  def code_appearance(self, res: int) -> np.ndarray:
    """float32 [C, res*res*3]: each code decoded alone, average-pooled."""
    if res not in self._code_app:
      f = self.model.factor
      if f % res:
        raise ValueError(f"appearance_res {res} must divide the patch size "
                         f"{f}.")
      c = self.model.tokenizer_config.num_codes
      ids = np.arange(c, dtype=np.int32)[:, None, None]
      pix = self.model.decode_tokens(ids)
      app = guidance.pool_patches(jnp.clip(pix, 0, 1), f, res)
      self._code_app[res] = np.asarray(app).reshape(c, -1)
    return self._code_app[res]

  def _windows(self, edit_Nhw: np.ndarray, opts: EditOptions):
    """Static window sides (w, cw) and per-edit offsets [N, 2] for both."""
    side = self.model.side
    n = len(edit_Nhw)
    if not opts.patch_local:
      z = np.zeros((n, 2), np.int32)
      return side, side, z, z
    need = max(opts.window_margin, -(-opts.feather // self.model.factor))
    boxes = []
    for e in edit_Nhw:
      rows = np.flatnonzero(e.any(1))
      cols = np.flatnonzero(e.any(0))
      r0, r1 = max(0, rows[0] - need), min(side, rows[-1] + 1 + need)
      c0, c1 = max(0, cols[0] - need), min(side, cols[-1] + 1 + need)
      boxes.append((r0, r1, c0, c1))
    w = bucket(max(max(b[1] - b[0], b[3] - b[2]) for b in boxes), side)
    cw = min(side, w + 2 * opts.decoder_margin)
    win, ctx = [], []
    for r0, r1, c0, c1 in boxes:
      top = int(np.clip(r0 - (w - (r1 - r0)) // 2, 0, side - w))
      left = int(np.clip(c0 - (w - (c1 - c0)) // 2, 0, side - w))
      win.append((top, left))
      ctx.append((int(np.clip(top - opts.decoder_margin, 0, side - cw)),
                  int(np.clip(left - opts.decoder_margin, 0, side - cw))))
    return w, cw, np.asarray(win, np.int32), np.asarray(ctx, np.int32)

  # --------------------------------------------------------- jitted core
  @functools.partial(jax.jit, static_argnums=(0, 1, 2, 3, 4))
  def _core(self, opts: EditOptions, w: int, cw: int, num_samples: int,
            tok_params, tr_params, images, guides, edit_Nhw, labels_N,
            strength_N, key, win_off, ctx_off, extra):
    m = self.model
    f, side = m.factor, m.side
    n = images.shape[0]
    c = m.tokenizer_config.num_codes
    crop = jax.vmap(lambda x, o: jax.lax.dynamic_slice(
        x, (o[0] * f, o[1] * f, 0), (cw * f, cw * f, 3)))
    pix = jnp.concatenate([crop(images, ctx_off), crop(guides, ctx_off)])
    ids = m.tokenizer.apply({"params": tok_params}, pix,
                            method=vqgan.VQGAN.encode_ids)
    img_ids, gd_ids = ids[:n], ids[n:]
    rel = win_off - ctx_off
    sub = jax.vmap(lambda x, o: jax.lax.dynamic_slice(x, (o[0], o[1]),
                                                      (w, w)))
    orig_w = sub(img_ids, rel)
    guide_w = sub(gd_ids, rel)
    edit_w = jax.vmap(lambda x, o: jax.lax.dynamic_slice(
        x, (o[0], o[1]), (w, w)))(edit_Nhw, win_off)

    hint = None
    if opts.method == "selfcond" and extra is not None:
      # Appearance hints [N, side, side, F] -> window -> [N, 1 + w*w, F].
      nf = extra.shape[-1]
      hint = jax.vmap(lambda x, o: jax.lax.dynamic_slice(
          x, (o[0], o[1], 0), (w, w, nf)))(extra, win_off)
      hint = hints_lib.with_class_token(hint.reshape(n, w * w, nf))

    logk = None
    if opts.method in ("self_fixed", "self_learned"):
      if opts.method == "self_learned":
        kernel = extra
      elif opts.kernel == "codebook" or opts.self_form == "pilot":
        cb = tok_params["quantizer"]["codebook"]
        kernel = (guidance.pilot_codebook_kernel(cb) if opts.self_form ==
                  "pilot" else guidance.codebook_log_kernel(cb))
      else:
        kernel = None
      if kernel is not None:
        logk = kernel[guide_w.reshape(n, -1)]
      else:
        gpix = jax.vmap(lambda x, o: jax.lax.dynamic_slice(
            x, (o[0] * f, o[1] * f, 0), (w * f, w * f, 3)))(guides, win_off)
        gapp = guidance.pool_patches(gpix, f, opts.appearance_res)
        logk = guidance.appearance_log_kernel(extra, gapp,
                                              opts.appearance_sigma)
      logk = jnp.concatenate([jnp.zeros((n, 1, c), logk.dtype), logk], 1)

    def seq(x_Nww, cls):
      return jnp.concatenate([cls[:, None], x_Nww.reshape(n, -1)], 1)
    cls = labels_N + m.transformer_config.num_codes
    rep = lambda x: jnp.repeat(x, num_samples, axis=0)
    orig_BL = rep(seq(orig_w, cls))
    guide_BL = rep(seq(guide_w, cls))
    edit_BL = rep(jnp.concatenate([jnp.zeros((n, 1), bool),
                                   edit_w.reshape(n, -1)], 1))
    strength_B = rep(strength_N)
    rr = win_off[:, 0:1, None] + jnp.arange(w)[None, :, None]
    cc = win_off[:, None, 1:2] + jnp.arange(w)[None, None, :]
    pos = jnp.concatenate([jnp.zeros((n, 1), jnp.int32),
                           (1 + rr * side + cc).reshape(n, -1)], 1)
    pos_BL = rep(pos)
    inputs, hooks, aux = samplers.build(
        opts.method, rng=jax.random.fold_in(key, 1), original_BL=orig_BL,
        guide_BL=guide_BL, edit_BL=edit_BL, strength_B=strength_B,
        num_iter=opts.num_iter, start_iter=opts.start_iter,
        schedule=opts.schedule,
        logk_BLC=None if logk is None else rep(logk),
        self_form=opts.self_form, guidance_scale=opts.guidance_scale,
        remask=opts.remask, hint_BLF=None if hint is None else rep(hint),
        hint_positions=opts.hint_positions)

    def logits_fn(ids_BL, hints_BL):
      return m.transformer.apply({"params": tr_params}, ids_BL, hints_BL,
                                 position_ids=pos_BL)
    out = decode_lib.decode(
        logits_fn, inputs, jax.random.fold_in(key, 0),
        num_iter=opts.num_iter, start_iter=opts.start_iter, num_codes=c,
        choice_temperature=opts.choice_temperature, schedule=opts.schedule,
        hooks=hooks, aux=aux)
    g_e = jnp.where(edit_BL, guide_BL, orig_BL)
    out = jnp.where(edit_BL, out, orig_BL)  # Tokens outside E never change.
    out = jnp.where(strength_B[:, None] <= 0, g_e, out)
    out_w = out[:, 1:].reshape(-1, w, w)
    ctx_ids = jax.vmap(lambda x, t, o: jax.lax.dynamic_update_slice(
        x, t, (o[0], o[1])))(rep(img_ids), out_w, rep(rel))
    decoded = m.tokenizer.apply({"params": tok_params}, ctx_ids,
                                method=vqgan.VQGAN.decode_ids)
    return out_w, orig_w, guide_w, edit_w, decoded

  # ------------------------------------------------------------------ API
  def edit(self, images, guides, masks: Sequence[Any] | None = None,
           labels=0, strength=0.5, seed: int = 0, num_samples: int = 1,
           options: EditOptions = EditOptions()) -> EditResult:
    """Edits N images following their guides.

    Args:
      images: float [N, S, S, 3] (or [S, S, 3]) in [0, 1].
      guides: same shape: the images with the user's strokes/paste.
      masks: None, or per edit None / bool-or-float [S, S] edit mask. Without
        a mask, the edited pixels are those where guide != image (8-bit).
      labels: class label (int, or one per edit).
      strength: float in [0, 1] (or one per edit); ignored by inpaint.
      seed: PRNG seed (same seed -> same output).
      num_samples: samples per edit.
      options: EditOptions.

    Returns:
      EditResult.

    Raises:
      ValueError (guidance.GuidanceError for bad guidance): bad shapes,
      empty edit, unknown method, strength outside [0, 1], bad labels, a
      method the model cannot run.
    """
    t0 = time.perf_counter()
    opts = options.validate()
    m = self.model
    images = m._check_images(images)  # pylint: disable=protected-access
    guides = np.asarray(guides, np.float32)
    if guides.ndim == 3:
      guides = guides[None]
    if guides.shape != images.shape:
      raise guidance.GuidanceError(f"Guides {guides.shape} and images "
                                   f"{images.shape} differ in shape.")
    n = len(images)
    if masks is None:
      masks = [None] * n
    if len(masks) != n:
      raise ValueError(f"{len(masks)} masks for {n} images.")
    labels = m._check_labels(labels)  # pylint: disable=protected-access
    if labels.size == 1:
      labels = np.repeat(labels, n)
    if len(labels) != n:
      raise ValueError(f"{len(labels)} labels for {n} images.")
    strength = np.broadcast_to(np.asarray(strength, np.float32), (n,))
    if not np.all((strength >= 0) & (strength <= 1)):
      raise ValueError(f"strength must be in [0, 1], got {strength.tolist()}.")
    if int(num_samples) < 1:
      raise ValueError(f"num_samples must be >= 1, got {num_samples}.")
    num_samples = int(num_samples)
    tc = m.transformer_config
    if opts.method == "selfcond" and not (tc.num_hint_codes
                                          or tc.hint_features):
      raise ValueError("method 'selfcond' needs a self-conditioned "
                       "transformer (model config transformer.num_hint_codes"
                       " or hint_features > 0).")
    pix = np.stack([guidance.pixel_mask(i, g, mk)
                    for i, g, mk in zip(images, guides, masks)])
    edit = np.stack([guidance.token_mask(p, m.factor, opts.dilation)
                     for p in pix])
    w, cw, win_off, ctx_off = self._windows(edit, opts)
    extra = None
    if opts.method == "self_learned":
      extra = jnp.asarray(self.learned_kernel())
    elif (opts.method == "self_fixed" and opts.kernel == "appearance"
          and opts.self_form == "poe"):
      extra = jnp.asarray(self.code_appearance(opts.appearance_res))
    elif opts.method == "selfcond" and tc.hint_features:
      side, f = m.side, m.factor
      extra = hints_lib.token_appearance(
          jnp.asarray(guides), jnp.asarray(pix), f,
          hints_lib.res_for(tc.hint_features)).reshape(n, side, side, -1)
    t1 = time.perf_counter()
    sig = (opts, w, cw, num_samples, images.shape)
    compiled = sig not in self._seen
    self._seen.add(sig)
    out = self._core(opts, w, cw, num_samples, m.tokenizer_params,
                     m.transformer_params, jnp.asarray(images),
                     jnp.asarray(guides), jnp.asarray(edit),
                     jnp.asarray(labels), jnp.asarray(strength),
                     jax.random.key(seed), jnp.asarray(win_off),
                     jnp.asarray(ctx_off), extra)
    out_w, orig_w, guide_w, edit_w, decoded = jax.device_get(out)
    t2 = time.perf_counter()
    f = m.factor
    canvas = np.repeat(images, num_samples, axis=0).copy()
    for b in range(n * num_samples):
      r, c = ctx_off[b // num_samples] * f
      canvas[b, r:r + cw * f, c:c + cw * f] = decoded[b]
    weights = np.stack([compositing.feather_mask(p, opts.feather)
                        for p in pix])
    result = compositing.composite(
        np.repeat(images, num_samples, axis=0), canvas,
        np.repeat(weights, num_samples, axis=0))
    t3 = time.perf_counter()
    size = m.image_size
    return EditResult(
        images=result.reshape(n, num_samples, size, size, 3),
        tokens=np.asarray(out_w).reshape(n, num_samples, w, w),
        original_tokens=np.asarray(orig_w), guide_tokens=np.asarray(guide_w),
        edit_tokens=np.asarray(edit_w), window_offsets=win_off,
        pixel_masks=pix, feather_weights=weights,
        timings=dict(prepare=t1 - t0, device=t2 - t1, composite=t3 - t2,
                     total=t3 - t0),
        compiled=compiled)


def with_hint_embedding(model: model_lib.MaskGIT,
                        num_hint_codes: int | None = None) -> model_lib.MaskGIT:
  """The same weights in a self-conditioned transformer (zero hint table).

  With no hint given it computes exactly what `model` computes. (A trained
  self-conditioned checkpoint is loaded with `MaskGIT.from_files` and a config
  with `transformer.num_hint_codes` > 0 instead.)
  """
  config = model.config.copy_and_resolve_references()
  c = model.transformer_config
  config.transformer.num_hint_codes = int(num_hint_codes or c.num_codes)
  params = dict(model.transformer_params)
  embed = dict(params["Embed_0"])
  embed["hint_embeddings"] = {"embedding": jnp.zeros(
      (config.transformer.num_hint_codes + 1, c.hidden_size), jnp.float32)}
  params["Embed_0"] = embed
  return model_lib.MaskGIT(config, model.tokenizer_params, params)


