"""Python API for guided editing on a loaded MaskGIT.

    from maskgit_edit import editor as editor_lib
    from maskgit_edit.samplers import sdedit
    ed = editor_lib.Editor(model)                     # model: maskgit MaskGIT
    res = ed.edit(images, guides, masks=None, labels=207, strength=0.5,
                  seed=0, num_samples=4,
                  options=editor_lib.EditOptions(
                      method="sdedit",
                      method_options=sdedit.Options(remask=True)))
    res.images                                        # [N, S, H, W, 3]
    tokens = ed.encode(images)     # cache an image's tokens (e.g. a session)
    ed.edit(images, guides, image_tokens=tokens, ...)  # skips re-encoding

Every method is a `samplers.Sampler` (maskgit_edit/samplers/); the editor has
no method-specific code. One jitted function per (options, window bucket,
batch shape) runs the named steps

  encode (crop; tokenizer on image and guide)  -> `_encode_step`
  E and G_E in the window                      -> `_window_step`
  sampler.start -> the one decode loop         -> `_decode_step`
  (`maskgit.decode`) -> shared invariants
  tokenizer decode of the window context       -> `_detokenize_step`

then composites host-side (`_composite`). Strength, labels, seeds and E are
traced, so sweeping them does not recompile. Pixels are composited with a
feathered mask: pixels farther than `feather` from an edited pixel are
bit-identical to the input. A sampler's host-side preparation (kernels,
appearance tables) runs once per (Editor, options) and is cached.

Patch-local mode (`EditOptions.patch_local`): the transformer runs on
[class token + a square window of tokens covering E plus `window_margin`]
with the tokens' absolute position embeddings; the tokenizer encodes/decodes
a square holding that window and E's feather band, plus `decoder_margin`
tokens of context. Transformer window sides are bucketed to multiples of
side/8 so that few shapes compile per model. Full-image
mode is the same code with the window = the whole grid.
"""

from __future__ import annotations

import dataclasses
import functools
import time
from typing import Any, Callable, Sequence

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
    method: a registered method (`samplers.names()`).
    num_iter: schedule length T.
    start_iter: first decoding step (the pilot and box editing use 2).
    choice_temperature: Gumbel temperature of the re-masking choice.
    schedule: mask schedule name.
    dilation: dilate E by this many tokens.
    feather: feather radius in pixels of the composite.
    patch_local: run transformer + tokenizer on a window around E only.
    window_margin: tokens of transformer context around E (patch-local).
    decoder_margin: extra tokens of tokenizer context around the window and
      around E's feather band (the tokenizer window always holds the band;
      the transformer window need not: the band's tokens are the image's).
    method_options: the method's own options (an instance of
      `samplers.get(method).options_class`, e.g. `sdedit.Options(remask=
      False)`); None = that class's defaults (filled in by `validate`).
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
  method_options: Any = None

  @property
  def sampler(self) -> samplers.Sampler:
    return samplers.get(self.method)

  def validate(self) -> "EditOptions":
    """Checks every field; returns a copy with `method_options` filled in."""
    sampler = samplers.get(self.method)
    schedules.validate(self.schedule)
    if not 0 <= self.start_iter < self.num_iter:
      raise ValueError(f"Need 0 <= start_iter < num_iter, got "
                       f"{self.start_iter}, {self.num_iter}.")
    for name in ("dilation", "feather", "window_margin", "decoder_margin"):
      if getattr(self, name) < 0:
        raise ValueError(f"{name} must be >= 0.")
    mo = self.method_options
    if mo is None:
      mo = sampler.options_class()
    elif not isinstance(mo, sampler.options_class):
      raise ValueError(
          f"method_options for {self.method!r} must be a "
          f"{sampler.options_class.__module__}."
          f"{sampler.options_class.__qualname__}, got {type(mo).__name__}.")
    return dataclasses.replace(self, method_options=mo.validate())


def options_from_config(config, method: str) -> EditOptions:
  """Validated EditOptions for `method` from an edit config (configs/edit.py).

  Generic fields come from the top level (config.num_iter, ...); the method's
  own options from the sub-section named after it (e.g. config.sdedit.remask,
  config.self_fixed.kernel), defaults for a missing section or key.

  Raises:
    ValueError: one line for an unknown method, an unknown key in the
      method's section, or a bad value.
  """
  sampler = samplers.get(method)
  generic = {f.name: config[f.name] for f in dataclasses.fields(EditOptions)
             if f.name not in ("method", "method_options")}
  section = config.get(method) if hasattr(config, "get") else None
  kw = dict(section.to_dict() if hasattr(section, "to_dict")
            else section or {})
  valid = [f.name for f in dataclasses.fields(sampler.options_class)]
  unknown = sorted(set(kw) - set(valid))
  if unknown:
    raise ValueError(f"config.{method} has unknown option(s) "
                     f"{', '.join(unknown)}; valid: "
                     f"{', '.join(valid) or 'none'}.")
  return EditOptions(method=method, method_options=sampler.options_class(
      **kw), **generic).validate()


@dataclasses.dataclass
class EditResult:
  """Outputs of `Editor.edit` (N edits x S samples; w = window side).

  Attributes:
    images: float32 [N, S, H, W, 3] composited outputs in [0, 1].
    tokens: int32 [N, S, w, w] edited tokens in the window.
    original_tokens: int32 [N, w, w] image tokens in the window.
    guide_tokens: int32 [N, w, w] guide tokens in the window.
    edit_tokens: bool [N, w, w] E in the window.
      (Patch-local mode gives each edit its own window: when the sides
      differ, these four fields are lists of N per-edit arrays.)
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


def per_edit_args(images, guides, masks, labels, strength, num_samples):
  """The edit arguments of N checked images, checked and one per edit.

  Args:
    images: float32 [N, S, S, 3], already checked by the editor.
    guides: float [N, S, S, 3] or [S, S, 3] (integer input is refused).
    masks: None or N masks (each None or [S, S]).
    labels: int [1] or [N], already range-checked by the editor.
    strength: float or N floats in [0, 1].
    num_samples: int >= 1.

  Returns:
    (guides float32 [N, S, S, 3], masks list of N, labels [N],
     strength float32 [N], num_samples int).

  Raises:
    ValueError (guidance.GuidanceError for guides of another shape).
  """
  guides = model_lib.as_float_images(guides, "guides")
  if guides.ndim == 3:
    guides = guides[None]
  if guides.shape != images.shape:
    raise guidance.GuidanceError(f"Guides {guides.shape} and images "
                                 f"{images.shape} differ in shape.")
  n = len(images)
  masks = [None] * n if masks is None else list(masks)
  if len(masks) != n:
    raise ValueError(f"{len(masks)} masks for {n} images.")
  if labels.size == 1:
    labels = np.repeat(labels, n)
  if len(labels) != n:
    raise ValueError(f"{len(labels)} labels for {n} images.")
  strength = np.broadcast_to(np.asarray(strength, np.float32), (n,))
  if not np.all((strength >= 0) & (strength <= 1)):
    raise ValueError(f"strength must be in [0, 1], got {strength.tolist()}.")
  if int(num_samples) < 1:
    raise ValueError(f"num_samples must be >= 1, got {num_samples}.")
  return guides, masks, labels, strength, int(num_samples)


def _square(r0, r1, c0, c1, margin: int, side: int, size_fn):
  """A square [top, top + n) x [left, left + n) in the grid holding the box.

  The box [r0, r1) x [c0, c1) grows by `margin` each side (clipped to the
  grid); n = min(side, size_fn(its longer side, side)), centred on it and
  shifted inside the grid.
  """
  r0, r1 = max(0, r0 - margin), min(side, r1 + margin)
  c0, c1 = max(0, c0 - margin), min(side, c1 + margin)
  n = min(side, size_fn(max(r1 - r0, c1 - c0), side))
  top = int(np.clip(r0 - (n - (r1 - r0)) // 2, 0, side - n))
  left = int(np.clip(c0 - (n - (c1 - c0)) // 2, 0, side - n))
  return n, top, left


def _crop(x_N, off_N2, size: int, scale: int = 1):
  """Square crops [N, size*scale, size*scale, ...] at offsets * scale."""
  def one(x, o):
    start = (o[0] * scale, o[1] * scale) + (0,) * (x.ndim - 2)
    return jax.lax.dynamic_slice(x, start, (size * scale, size * scale)
                                 + x.shape[2:])
  return jax.vmap(one)(x_N, off_N2)


class Editor:
  """Guided editing on a MaskGIT model (see module docstring)."""

  def __init__(self, model: model_lib.MaskGIT, kernel_path: str = ""):
    """Wraps `model`; `kernel_path`: .npy [C, C] kernel for self_learned."""
    self.model = model
    self.kernel_path = kernel_path
    self._cache = {}
    self._seen = set()

  __hash__ = object.__hash__

  # ------------------------------------------------------------- helpers
  def cached(self, key, compute: Callable[[], Any]) -> Any:
    """`compute()` once per key for this Editor (samplers' preparation)."""
    if key not in self._cache:
      self._cache[key] = compute()
    return self._cache[key]

  def encode(self, images) -> np.ndarray:
    """Image tokens int32 [N, side, side] of float [N, S, S, 3] images.

    Pass them to `edit(..., image_tokens=...)` to skip re-encoding an image
    that is edited several times.
    """
    return np.asarray(self.model.encode(images), np.int32)

  def _windows(self, edit_Nhw: np.ndarray, opts: EditOptions):
    """Each edit's own window: sides w, cw int [N]; offsets int32 [N, 2].

    w: the transformer window (E's box + `window_margin`, bucketed); cw: the
    tokenizer's window (holds the transformer window and E's box + the
    feather band, plus `decoder_margin` each side: w + 2 * decoder_margin
    when that suffices, else bucketed); offsets of both in the token grid.
    """
    side = self.model.side
    n = len(edit_Nhw)
    if not opts.patch_local:
      z = np.zeros((n, 2), np.int32)
      s = np.full((n,), side)
      return s, s, z, z
    band = -(-opts.feather // self.model.factor)  # Feather band in tokens.
    dm = opts.decoder_margin
    ws, cws, win, ctx = [], [], [], []
    for e in edit_Nhw:
      rows = np.flatnonzero(e.any(1))
      cols = np.flatnonzero(e.any(0))
      # Transformer window: E's box + window_margin, bucketed, centred.
      w, top, left = _square(rows[0], rows[-1] + 1, cols[0], cols[-1] + 1,
                             opts.window_margin, side, bucket)
      # Tokenizer window: the transformer window + decoder_margin, and E's
      # box + the feather band + decoder_margin (the band's pixels are
      # decoded from the image's own tokens; the transformer need not see
      # them).
      r0, r1 = min(top, rows[0] - band), max(top + w, rows[-1] + 1 + band)
      c0, c1 = min(left, cols[0] - band), max(left + w, cols[-1] + 1 + band)
      cw, ctop, cleft = _square(
          r0, r1, c0, c1, dm, side,
          lambda n, s, w=w: w + 2 * dm if n <= w + 2 * dm else bucket(n, s))
      ws.append(w)
      cws.append(cw)
      win.append((top, left))
      ctx.append((ctop, cleft))
    return (np.asarray(ws), np.asarray(cws), np.asarray(win, np.int32),
            np.asarray(ctx, np.int32))

  # --------------------------------------------------------- jitted steps
  def _encode_step(self, cw, tok_params, images, guides, image_tokens,
                   ctx_off):
    """Image and guide tokens [N, cw, cw] in the context window."""
    f = self.model.factor
    pix = [_crop(guides, ctx_off, cw, f)]
    if image_tokens is None:
      pix.insert(0, _crop(images, ctx_off, cw, f))
    ids = self.model.tokenizer.apply(
        {"params": tok_params}, jnp.concatenate(pix),
        method=vqgan.VQGAN.encode_ids)
    if image_tokens is None:
      return jnp.split(ids, 2)
    return _crop(image_tokens, ctx_off, cw), ids

  def _window_step(self, w, img_ids, gd_ids, images, guides, edit_Nhw,
                   labels_N, win_off, rel):
    """Window tokens [N, w, w], sequences [N, L] and the guide pixels."""
    m = self.model
    n = edit_Nhw.shape[0]
    orig_w, guide_w = _crop(img_ids, rel, w), _crop(gd_ids, rel, w)
    edit_w = _crop(edit_Nhw, win_off, w)
    cls = (labels_N + m.transformer_config.num_codes)[:, None]
    seq = lambda x: jnp.concatenate([cls, x.reshape(n, -1)], 1)
    rr = win_off[:, 0:1, None] + jnp.arange(w)[None, :, None]
    cc = win_off[:, None, 1:2] + jnp.arange(w)[None, None, :]
    pos = jnp.concatenate([jnp.zeros((n, 1), jnp.int32),
                           (1 + rr * m.side + cc).reshape(n, -1)], 1)
    edit = jnp.concatenate([jnp.zeros((n, 1), bool), edit_w.reshape(n, -1)],
                           1)
    gpix = _crop(guides, win_off, w, m.factor)
    painted = hints_lib.painted_pixels(_crop(images, win_off, w, m.factor),
                                       gpix)
    return (orig_w, guide_w, edit_w), dict(
        original=seq(orig_w), guide=seq(guide_w), edit=edit, position=pos,
        guide_pixels=gpix, painted_pixels=painted)

  def _decode_step(self, opts, num_samples, tr_params, prepared, key,
                   strength, seq):
    """ONE edit: sampler start -> decode loop -> invariants: int32 [S, L].

    `key` is the edit's own key and `seq` its arrays (no batch axis), so an
    edit's samples do not depend on the other edits of the batch.
    """
    m = self.model
    rep = lambda x: jnp.repeat(x[None], num_samples, axis=0)
    strength_B, seqs = rep(strength), jax.tree.map(rep, seq)
    x = samplers.StartInputs(
        rng=jax.random.fold_in(key, 1), original=seqs["original"],
        guide=seqs["guide"], edit=seqs["edit"], strength=strength_B,
        guide_pixels=seqs["guide_pixels"], num_iter=opts.num_iter,
        start_iter=opts.start_iter, schedule=opts.schedule,
        painted_pixels=seqs["painted_pixels"])
    inputs, hooks, aux = opts.sampler.start(x, opts.method_options, prepared)

    def logits_fn(ids_BL, hints_BL):
      return m.transformer.apply({"params": tr_params}, ids_BL, hints_BL,
                                 position_ids=seqs["position"])
    out = decode_lib.decode(
        logits_fn, inputs, jax.random.fold_in(key, 0),
        num_iter=opts.num_iter, start_iter=opts.start_iter,
        num_codes=m.tokenizer_config.num_codes,
        choice_temperature=opts.choice_temperature, schedule=opts.schedule,
        hooks=hooks, aux=aux)
    g_e = jnp.where(x.edit, x.guide, x.original)
    out = jnp.where(x.edit, out, x.original)  # Tokens outside E never change.
    return jnp.where(strength_B[:, None] <= 0, g_e, out)

  def _detokenize_step(self, tok_params, img_ids, out_Bww, rel):
    """The window's tokens pasted into its context, decoded to pixels."""
    ctx_ids = jax.vmap(lambda x, t, o: jax.lax.dynamic_update_slice(
        x, t, (o[0], o[1])))(img_ids, out_Bww, rel)
    return self.model.tokenizer.apply({"params": tok_params}, ctx_ids,
                                      method=vqgan.VQGAN.decode_ids)

  @functools.partial(jax.jit, static_argnums=(0, 1, 2, 3, 4))
  def _core(self, opts: EditOptions, w: int, cw: int, num_samples: int,
            tok_params, tr_params, images, guides, image_tokens, edit_Nhw,
            labels_N, strength_N, key_data_N, win_off, ctx_off, prepared):
    """N edits sharing window sides (w, cw); per-edit keys (raw key data)."""
    img_ids, gd_ids = self._encode_step(cw, tok_params, images, guides,
                                        image_tokens, ctx_off)
    rel = win_off - ctx_off
    windows, seqs = self._window_step(w, img_ids, gd_ids, images, guides,
                                      edit_Nhw, labels_N, win_off, rel)
    keys = jax.random.wrap_key_data(key_data_N)
    one = functools.partial(self._decode_step, opts, num_samples, tr_params,
                            prepared)
    if edit_Nhw.shape[0] == 1:
      # One edit (the interactive case): no vmap. XLA:CPU runs the vmapped
      # transformer's batched matmuls ~20% slower at ImageNet-256 size.
      first = lambda x: x[0]
      out = one(keys[0], strength_N[0], jax.tree.map(first, seqs))[None]
    else:
      out = jax.vmap(one)(keys, strength_N, seqs)
    rep = lambda x: jnp.repeat(x, num_samples, axis=0)
    out_w = out[:, :, 1:].reshape(-1, w, w)
    decoded = self._detokenize_step(tok_params, rep(img_ids), out_w, rep(rel))
    return (out_w,) + windows + (decoded,)

  # ------------------------------------------------------------ host steps
  def _check_inputs(self, images, guides, masks, labels, strength,
                    num_samples, image_tokens):
    m = self.model
    images = m._check_images(images)  # pylint: disable=protected-access
    labels = m._check_labels(labels)  # pylint: disable=protected-access
    guides, masks, labels, strength, num_samples = per_edit_args(
        images, guides, masks, labels, strength, num_samples)
    n = len(images)
    if image_tokens is not None:
      image_tokens = np.asarray(image_tokens)
      want = (n, m.side, m.side)
      if image_tokens.shape != want or not np.issubdtype(image_tokens.dtype,
                                                         np.integer):
        raise ValueError(f"image_tokens must be integer {list(want)} (from "
                         f"Editor.encode), got {image_tokens.dtype} "
                         f"{list(image_tokens.shape)}.")
      image_tokens = image_tokens.astype(np.int32)
    return (images, guides, masks, labels, strength, num_samples,
            image_tokens)

  def _composite(self, images, decoded, pix, ctx_off, feather):
    """Decoded context windows pasted and blended into the inputs.

    decoded: per edit, float [S, cw * f, cw * f, 3] (cw may differ).
    Returns (float32 [N, S, H, W, 3], weights float32 [N, H, W]).
    """
    f = self.model.factor
    weights = np.stack([compositing.feather_mask(p, feather) for p in pix])
    out = []
    for image, dec, (r, c), wt in zip(images, decoded, ctx_off * f, weights):
      canvas = np.repeat(image[None], len(dec), axis=0)
      size = dec.shape[1]
      canvas[:, r:r + size, c:c + size] = dec
      out.append(compositing.composite(image, canvas, wt))
    return np.stack(out), weights

  # ------------------------------------------------------------------ API
  def edit(self, images, guides, masks: Sequence[Any] | None = None,
           labels=0, strength=0.5, seed: int = 0, num_samples: int = 1,
           options: EditOptions = EditOptions(),
           image_tokens=None) -> EditResult:
    """Edits N images following their guides.

    Args:
      images: float [N, S, S, 3] (or [S, S, 3]) in [0, 1].
      guides: same shape: the images with the user's strokes/paste.
      masks: None, or per edit None / bool-or-float [S, S] edit mask. Without
        a mask, the edited pixels are those where guide != image (8-bit).
      labels: class label (int, or one per edit).
      strength: float in [0, 1] (or one per edit); ignored by inpaint.
      seed: PRNG seed, int or one per edit. An edit's samples depend only on
        its own inputs, seed, strength, label, num_samples and options, not
        on the other edits of the batch.
      num_samples: samples per edit.
      options: EditOptions.
      image_tokens: optional int32 [N, side, side] tokens of `images` from
        `encode` (the image is then not re-encoded; in patch-local mode the
        window is cut from them instead of encoding a crop).

    Returns:
      EditResult.

    Raises:
      ValueError (guidance.GuidanceError for bad guidance): bad shapes,
      empty edit, unknown method, strength outside [0, 1], bad labels, a
      method the model cannot run.
    """
    t0 = time.perf_counter()
    opts = options.validate()
    sampler = opts.sampler
    m = self.model
    (images, guides, masks, labels, strength, num_samples,
     image_tokens) = self._check_inputs(images, guides, masks, labels,
                                        strength, num_samples, image_tokens)
    sampler.check(self)
    n = len(images)
    pix = np.stack([guidance.pixel_mask(i, g, mk)
                    for i, g, mk in zip(images, guides, masks)])
    edit = np.stack([guidance.token_mask(p, m.factor, opts.dilation)
                     for p in pix])
    ws, cws, win_off, ctx_off = self._windows(edit, opts)
    seeds = np.atleast_1d(np.asarray(seed))
    if seeds.ndim != 1 or len(seeds) not in (1, n) or not np.issubdtype(
        seeds.dtype, np.integer):
      raise ValueError(f"seed must be an int or {n} ints, got {seed!r}.")
    seeds = np.broadcast_to(seeds, (n,))
    key_data = np.stack([np.asarray(jax.random.key_data(jax.random.key(
        int(sd)))) for sd in seeds])
    prepared = self.cached(("prepare", opts.method, opts.method_options),
                           lambda: sampler.prepare(self, opts.method_options))
    t1 = time.perf_counter()
    # Edits run in groups of equal window sides (one compiled program each);
    # each edit's samples depend only on its own inputs and seed.
    groups: dict[tuple[int, int], list[int]] = {}
    for i, key in enumerate(zip(ws.tolist(), cws.tolist())):
      groups.setdefault(key, []).append(i)
    per_item = [None] * n
    compiled = False
    for (w, cw), idx in groups.items():
      sig = (opts, w, cw, num_samples, len(idx), image_tokens is None)
      compiled |= sig not in self._seen
      self._seen.add(sig)
      out = self._core(opts, w, cw, num_samples, m.tokenizer_params,
                       m.transformer_params, jnp.asarray(images[idx]),
                       jnp.asarray(guides[idx]),
                       None if image_tokens is None else jnp.asarray(
                           image_tokens[idx]), jnp.asarray(edit[idx]),
                       jnp.asarray(labels[idx]), jnp.asarray(strength[idx]),
                       jnp.asarray(key_data[idx]), jnp.asarray(win_off[idx]),
                       jnp.asarray(ctx_off[idx]), prepared)
      out_w, orig_w, guide_w, edit_w, decoded = jax.device_get(out)
      out_w = out_w.reshape(len(idx), num_samples, w, w)
      decoded = decoded.reshape((len(idx), num_samples) + decoded.shape[1:])
      for k, i in enumerate(idx):
        per_item[i] = (out_w[k], orig_w[k], guide_w[k], edit_w[k], decoded[k])
    t2 = time.perf_counter()
    result, weights = self._composite(images, [p[4] for p in per_item], pix,
                                      ctx_off, opts.feather)
    t3 = time.perf_counter()
    field = lambda j: _stack_or_list([p[j] for p in per_item])
    return EditResult(
        images=result, tokens=field(0), original_tokens=field(1),
        guide_tokens=field(2), edit_tokens=field(3), window_offsets=win_off,
        pixel_masks=pix, feather_weights=weights,
        timings=dict(prepare=t1 - t0, device=t2 - t1, composite=t3 - t2,
                     total=t3 - t0),
        compiled=compiled)


def _stack_or_list(arrays: list[np.ndarray]):
  """One array when the shapes agree, else the list (mixed window sides)."""
  if len({a.shape for a in arrays}) == 1:
    return np.stack(arrays)
  return arrays


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


