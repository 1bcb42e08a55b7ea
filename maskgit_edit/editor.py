"""The MaskGIT editor: guided editing on a loaded MaskGIT (token methods).

    from maskgit_edit import editor as editor_lib
    from maskgit_edit.samplers import sdedit
    ed = editor_lib.Editor(model)                     # model: maskgit MaskGIT
    res = ed.edit(images, guides, masks=None, labels=207, strength=0.5,
                  seed=0, num_samples=4,
                  options=editor_lib.EditOptions(
                      method="sdedit",
                      method_options=sdedit.Options(remask=True)))
    res.images                                        # [N, S, H, W, 3]
    res.tokens.samples                                # [N, S, w, w]

It implements the editor protocol (`maskgit_edit.protocol`: checked inputs,
a neutral `EditResult`). Every token method is a `Sampler`
(maskgit_edit/samplers/, registered in `maskgit_edit.methods`); the editor
has no method-specific code. One jitted function per (options, window
bucket, batch shape) runs the named steps

  encode the guide's window (tokenizer)          -> `_encode_step`
  E and G_E in the window                        -> `_window_step`
  sampler.start -> the one decode loop           -> `_decode_step`
  (`maskgit.decode`) -> shared invariants
  tokenizer decode of the window context         -> `_detokenize_step`
  best of N candidates (`EditOptions.rerank`)    -> `_rerank_step`

then composites host-side (`_composite`); with a mesh (`Editor(model, mesh)`,
`maskgit_edit.batch.parallel`) each device runs it on its block of the
batch (`shard_map`). Strength, labels, seeds and E are
traced, so sweeping them does not recompile. Pixels are composited with a
feathered mask: pixels farther than `feather` from an edited pixel are
bit-identical to the input. A sampler's host-side preparation (kernels,
appearance tables) runs once per (Editor, options) and is cached.

Token cache: the image tokens of the last `TOKEN_CACHE_SIZE` images are kept
(keyed by the image's bytes), so an image edited again (a sweep over
strengths, an interactive session) is not re-encoded; `remember_tokens`
stores the tokens a kept sample was decoded from.

Patch-local mode (`EditOptions.patch_local`): the transformer runs on
[class token + a square window of tokens covering E plus `window_margin`]
with the tokens' absolute position embeddings; the tokenizer encodes/decodes
a square holding that window and E's feather band, plus `decoder_margin`
tokens of context. Transformer window sides are bucketed to multiples of
side/8 so that few shapes compile per model. Full-image mode is the same code
with the window = the whole grid.
"""

from __future__ import annotations

import collections
import dataclasses
import functools
import hashlib
import time
from typing import Any, Callable

import jax
import jax.numpy as jnp
import numpy as np

from maskgit import compositing
from maskgit import decode as decode_lib
from maskgit import model as model_lib
from maskgit import schedules
from maskgit_edit import guidance
from maskgit_edit import hints as hints_lib
from maskgit_edit import methods
from maskgit_edit import protocol
from maskgit_edit import rerank as rerank_lib
from maskgit_edit.samplers import base as sampler_base

MASK_ID = decode_lib.MASK_ID
TOKEN_CACHE_SIZE = 256  # Images whose tokens an Editor keeps.


@dataclasses.dataclass(frozen=True)
class EditOptions:
  """Static edit settings (hashable: part of the jit cache key).

  Attributes:
    method: a registered token method (`maskgit_edit.methods.names()`).
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
      `methods.get(method).options_class`, e.g. `sdedit.Options(remask=
      False)`); None = that class's defaults (filled in by `validate`).
    rerank: best-of-N reranking of every token method's samples
      (`maskgit_edit.rerank`; num_candidates 1 = off).
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
  rerank: rerank_lib.RerankOptions = rerank_lib.RerankOptions()

  @property
  def sampler(self) -> sampler_base.Sampler:
    return token_sampler(self.method)

  def validate(self) -> "EditOptions":
    """Checks every field; returns a copy with `method_options` filled in."""
    sampler = token_sampler(self.method)
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
    if not isinstance(self.rerank, rerank_lib.RerankOptions):
      raise ValueError("rerank must be a maskgit_edit.rerank.RerankOptions, "
                       f"got {type(self.rerank).__name__}.")
    return dataclasses.replace(self, method_options=mo.validate(),
                               rerank=self.rerank.validate())


def token_sampler(method: str) -> sampler_base.Sampler:
  """The sampler of token method `method` (ValueError otherwise)."""
  record = methods.get(method)
  if record.sampler is None:
    raise ValueError(f"Method {method!r} is not a token method: build its "
                     "editor with maskgit_edit.methods.pool.EditorPool.")
  return record.sampler


def options_from_config(config, method: str) -> EditOptions:
  """Validated EditOptions for `method` from an edit config (configs/edit.py).

  Generic fields come from the top level (config.num_iter, ...); the method's
  own options from the sub-section named after it (e.g. config.sdedit.remask,
  config.self_fixed.kernel), defaults for a missing section or key; the
  reranking from the `rerank` section (`maskgit_edit.rerank`).

  Raises:
    ValueError: one line for an unknown method, an unknown key in the
      method's section, or a bad value.
  """
  sampler = token_sampler(method)
  generic = {f.name: config[f.name] for f in dataclasses.fields(EditOptions)
             if f.name not in ("method", "method_options", "rerank")}
  section = config.get(method) if hasattr(config, "get") else None
  kw = dict(section.to_dict() if hasattr(section, "to_dict")
            else section or {})
  valid = [f.name for f in dataclasses.fields(sampler.options_class)]
  unknown = sorted(set(kw) - set(valid))
  if unknown:
    raise ValueError(f"config.{method} has unknown option(s) "
                     f"{', '.join(unknown)}; valid: "
                     f"{', '.join(valid) or 'none'}.")
  rerank = rerank_lib.from_config(config.get("rerank") if hasattr(
      config, "get") else None)
  return EditOptions(method=method, method_options=sampler.options_class(
      **kw), rerank=rerank, **generic).validate()


def bucket(n: int, side: int) -> int:
  """Rounds a window side up to a multiple of ceil(side / 8), capped at side."""
  q = max(1, -(-side // 8))
  return min(side, -(-n // q) * q)


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


class Editor(protocol.BaseEditor):
  """Guided editing on a MaskGIT model (see module docstring)."""

  def __init__(self, model: model_lib.MaskGIT, mesh=None):
    self.model = model
    # Data parallelism: a 1-D `jax.sharding.Mesh` over axis 'data' (e.g.
    # `maskgit_edit.batch.parallel.local_mesh()`). A group of edits whose
    # count is a multiple of the mesh size is split over its devices, each
    # running the same per-edit program (outputs bit-identical to one
    # device); None or other counts: one device.
    self.mesh = mesh
    self._cache = {}
    self._seen = set()
    self._tokens: collections.OrderedDict[bytes, np.ndarray] = (
        collections.OrderedDict())

  @property
  def image_size(self) -> int:
    return self.model.image_size

  @property
  def num_classes(self) -> int:
    return self.model.transformer_config.num_classes

  def default_options(self) -> "EditOptions":
    return EditOptions()

  # ------------------------------------------------------------- helpers
  def cached(self, key, compute: Callable[[], Any]) -> Any:
    """`compute()` once per key for this Editor (samplers' preparation)."""
    if key not in self._cache:
      self._cache[key] = compute()
    return self._cache[key]

  @staticmethod
  def _digest(image: np.ndarray) -> bytes:
    image = np.ascontiguousarray(image, np.float32)
    return hashlib.sha1(image.tobytes() + str(image.shape).encode()).digest()

  def remember_tokens(self, image, tokens) -> None:
    """Caches `tokens` (int [side, side]) as the tokens of `image` [S, S, 3].

    For a kept sample: the tokens it was decoded from describe it better
    than re-encoding its pixels (and cost nothing).
    """
    side = self.model.side
    tokens = np.asarray(tokens)
    if tokens.shape != (side, side) or not np.issubdtype(tokens.dtype,
                                                         np.integer):
      raise ValueError(f"tokens must be integer [{side}, {side}], got "
                       f"{tokens.dtype} {list(tokens.shape)}.")
    self._store(self._digest(image), tokens.astype(np.int32))

  def forget_tokens(self) -> None:
    """Empties the token cache (e.g. to time the edit of a new image)."""
    self._tokens.clear()

  def _store(self, key: bytes, tokens: np.ndarray) -> None:
    self._tokens[key] = tokens
    self._tokens.move_to_end(key)
    while self._tokens and len(self._tokens) > TOKEN_CACHE_SIZE:
      self._tokens.popitem(last=False)

  def prepare_images(self, images) -> None:
    self.encode(images)

  def batch_key(self, pixel_mask: np.ndarray, options: "EditOptions"):
    """The patch-local window sides (w, cw) of an edit; None otherwise."""
    if not options.patch_local:
      return None
    opts = options.validate()
    e = guidance.token_mask(pixel_mask, self.model.factor, opts.dilation)
    ws, cws, _, _ = self._windows(e[None], opts)
    return int(ws[0]), int(cws[0])

  def keep_sample(self, original, result: protocol.EditResult,
                  edit_index: int, sample_index: int) -> None:
    """Caches the kept sample's tokens: `original`'s grid with the sample's
    edited window pasted in (no re-encode; tokens outside E are unchanged by
    construction)."""
    info = result.tokens
    grid = self.encode(np.asarray(original, np.float32)[None])[0].copy()
    r, c = (int(v) for v in info.offsets[edit_index])
    window = np.asarray(info.samples[edit_index])[sample_index]
    w = window.shape[-1]
    grid[r:r + w, c:c + w] = window
    self.remember_tokens(result.images[edit_index, sample_index], grid)

  def encode(self, images) -> np.ndarray:
    """Image tokens int32 [N, side, side] of float [N, S, S, 3] images.

    Cached: an image seen before (the same bytes) is not encoded again.
    """
    images = self.model.check_images(images)
    keys = [self._digest(im) for im in images]
    found = {}
    for k in keys:
      if k in self._tokens:
        self._tokens.move_to_end(k)
        found[k] = self._tokens[k]
    todo = list({k: i for i, k in reversed(list(enumerate(keys)))
                 if k not in found}.values())  # First index of each new key.
    if todo:
      new = np.asarray(self.model.encode(images[todo]), np.int32)
      for i, t in zip(todo, new):
        found[keys[i]] = t
        self._store(keys[i], t)
    return np.stack([found[k] for k in keys])

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
  def _encode_step(self, cw, tok_params, guides, image_tokens, ctx_off):
    """Image and guide tokens [N, cw, cw] in the context window."""
    gd_ids = self.model.encode_ids(_crop(guides, ctx_off, cw,
                                         self.model.factor), tok_params)
    return _crop(image_tokens, ctx_off, cw), gd_ids

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
    """ONE edit: sampler start -> decode loop -> invariants.

    `key` is the edit's own key and `seq` its arrays (no batch axis), so an
    edit's samples do not depend on the other edits of the batch.

    Returns int32 [S, L] tokens; with reranking (N candidates per sample)
    the int32 [S * N, L] candidates and their realism float32 [S * N]
    (`rerank.realism_nll`).
    """
    m = self.model
    rows = num_samples * opts.rerank.num_candidates
    rep = lambda x: jnp.repeat(x[None], rows, axis=0)
    strength_B, seqs = rep(strength), jax.tree.map(rep, seq)
    x = sampler_base.StartInputs(
        rng=jax.random.fold_in(key, 1), original=seqs["original"],
        guide=seqs["guide"], edit=seqs["edit"], strength=strength_B,
        guide_pixels=seqs["guide_pixels"], num_iter=opts.num_iter,
        start_iter=opts.start_iter, schedule=opts.schedule,
        painted_pixels=seqs["painted_pixels"])
    inputs, hooks, aux = opts.sampler.start(x, opts.method_options, prepared)

    def logits_fn(ids_BL, hints_BL):
      return m.logits(ids_BL, hints_BL, seqs["position"], params=tr_params)
    out = decode_lib.decode(
        logits_fn, inputs, jax.random.fold_in(key, 0),
        num_iter=opts.num_iter, start_iter=opts.start_iter,
        num_codes=m.tokenizer_config.num_codes,
        choice_temperature=opts.choice_temperature, schedule=opts.schedule,
        hooks=hooks, aux=aux)
    g_e = jnp.where(x.edit, x.guide, x.original)
    out = jnp.where(x.edit, out, x.original)  # Tokens outside E never change.
    out = jnp.where(strength_B[:, None] <= 0, g_e, out)
    if not opts.rerank.active:
      return out
    if not opts.rerank.realism_weight:  # Faithfulness only: no extra pass.
      return out, jnp.zeros(out.shape[:1], jnp.float32)
    realism = rerank_lib.realism_nll(
        lambda ids: logits_fn(ids, None), out, x.edit,
        m.tokenizer_config.num_codes)
    return out, realism

  def _detokenize_step(self, tok_params, img_ids, out_NSww, rel):
    """Each edit's windows pasted into its context, decoded to pixels.

    One edit's S samples are decoded per step of a `lax.map`, so an edit's
    pixels come from the same computation whatever the batch holds (XLA's
    convolutions round differently at other batch sizes): batched outputs
    are bit-identical to one-at-a-time outputs.
    """
    def one(args):
      ids, tok, off = args
      ctx = jax.vmap(lambda t: jax.lax.dynamic_update_slice(
          ids, t, (off[0], off[1])))(tok)
      return self.model.decode_ids(ctx, tok_params)
    return jax.lax.map(one, (img_ids, out_NSww, rel))

  def _core_body(self, opts: EditOptions, w: int, cw: int, num_samples: int,
                 tok_params, tr_params, images, guides, image_tokens,
                 edit_Nhw, labels_N, strength_N, key_data_N, win_off,
                 ctx_off, prepared):
    """N edits sharing window sides (w, cw); per-edit keys (raw key data)."""
    img_ids, gd_ids = self._encode_step(cw, tok_params, guides, image_tokens,
                                        ctx_off)
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
      out = jax.tree.map(lambda x: x[None], one(
          keys[0], strength_N[0], jax.tree.map(first, seqs)))
    else:
      out = jax.vmap(one)(keys, strength_N, seqs)
    realism = None
    if opts.rerank.active:
      out, realism = out
    out_w = out[:, :, 1:].reshape(out.shape[:2] + (w, w))
    decoded = self._detokenize_step(tok_params, img_ids, out_w, rel)
    if opts.rerank.active:
      out_w, decoded = self._rerank_step(opts, num_samples, guides, edit_Nhw,
                                         strength_N, ctx_off, cw, out_w,
                                         decoded, realism)
    return (out_w.reshape(-1, w, w),) + windows + (
        decoded.reshape((-1,) + decoded.shape[2:]),)

  _core = jax.jit(_core_body, static_argnums=(0, 1, 2, 3, 4))

  def _sharded_core(self, opts: EditOptions, w: int, cw: int,
                    num_samples: int):
    """`_core` with its edits split over `self.mesh`'s 'data' axis.

    Each device runs `_core_body` on its own contiguous block of edits
    (`shard_map`), so an edit's samples come from the same per-edit program
    as on one device; the outputs' leading axes are edit-major, so the
    gathered blocks are in input order.
    """
    def make():
      spec, data = jax.sharding.PartitionSpec(), jax.sharding.PartitionSpec(
          "data")
      body = functools.partial(Editor._core_body, self, opts, w, cw,
                               num_samples)
      return jax.jit(jax.shard_map(
          body, mesh=self.mesh, in_specs=(spec, spec) + (data,) * 9 + (spec,),
          out_specs=data, check_vma=False))
    return self.cached(("sharded", self.mesh, opts, w, cw, num_samples),
                       make)

  def _replicated(self, name: str, tree):
    """`tree` copied to every device of `self.mesh` (cached by name)."""
    key = ("replicated", self.mesh, name)
    got = self._cache.get(key)
    if got is None or got[0] is not tree:
      got = (tree, jax.device_put(tree, jax.sharding.NamedSharding(
          self.mesh, jax.sharding.PartitionSpec())))
      self._cache[key] = got
    return got[1]

  def _rerank_step(self, opts, num_samples, guides, edit_Nhw, strength_N,
                   ctx_off, cw, out_NKww, decoded_NK, realism_NK):
    """Best of N candidates per sample by the critic (`maskgit_edit.rerank`).

    Faithfulness is computed one edit per step of a `lax.map` (as the
    decoding), so it does not depend on the batch. Returns the kept tokens
    [N, S, w, w] and pixels [N, S, P, P, 3].
    """
    f = self.model.factor
    ro = opts.rerank
    gpix = _crop(guides, ctx_off, cw, f)
    region = jnp.repeat(jnp.repeat(_crop(edit_Nhw, ctx_off, cw), f, 1), f, 2)
    faith = jax.lax.map(lambda a: rerank_lib.faithfulness(
        a[0], a[1], a[2], ro.blur_sigma), (decoded_NK, gpix, region))
    n, k = out_NKww.shape[0], ro.num_candidates
    # A method that ignores strength (inpaint) ignores the guide: the
    # critic's strength-1 rule (realism only) at every strength.
    critic_s = strength_N if opts.sampler.uses_strength else jnp.ones_like(
        strength_N)
    score = rerank_lib.scores(faith, realism_NK, critic_s[:, None], ro)
    idx = rerank_lib.best(score.reshape(n, num_samples, k))  # [N, S]
    pick = lambda x: jnp.take_along_axis(
        x.reshape((n, num_samples, k) + x.shape[2:]),
        idx.reshape((n, num_samples, 1) + (1,) * (x.ndim - 2)), 2)[:, :, 0]
    return pick(out_NKww), pick(decoded_NK)

  # ------------------------------------------------------------ host steps
  def _composite(self, images, decoded, weights, ctx_off):
    """Decoded context windows pasted and blended into the inputs.

    decoded: per edit, float [S, cw * f, cw * f, 3] (cw may differ).
    Returns float32 [N, S, H, W, 3].
    """
    f = self.model.factor
    out = []
    for image, dec, (r, c), wt in zip(images, decoded, ctx_off * f, weights):
      canvas = np.repeat(image[None], len(dec), axis=0)
      size = dec.shape[1]
      canvas[:, r:r + size, c:c + size] = dec
      out.append(compositing.composite(image, canvas, wt))
    return np.stack(out)

  def _edit(self, inputs: protocol.EditInputs,
            options: EditOptions) -> protocol.EditResult:
    """Edits checked inputs (the protocol's `edit` calls this)."""
    t0 = time.perf_counter()
    opts = options.validate()
    sampler = opts.sampler
    m = self.model
    sampler.check(self)
    n = len(inputs)
    image_tokens = self.encode(inputs.images)
    edit = np.stack([guidance.token_mask(p, m.factor, opts.dilation)
                     for p in inputs.pixel_masks])
    ws, cws, win_off, ctx_off = self._windows(edit, opts)
    key_data = np.stack([np.asarray(jax.random.key_data(jax.random.key(
        int(sd)))) for sd in inputs.seeds])
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
    num_samples = inputs.num_samples
    for (w, cw), idx in groups.items():
      shard = (self.mesh is not None and self.mesh.size > 1
               and len(idx) % self.mesh.size == 0)
      sig = (opts, w, cw, num_samples, len(idx), shard and self.mesh)
      compiled |= sig not in self._seen
      self._seen.add(sig)
      batched = [inputs.images[idx], inputs.guides[idx], image_tokens[idx],
                 edit[idx], inputs.labels[idx], inputs.strength[idx],
                 key_data[idx], win_off[idx], ctx_off[idx]]
      if shard:
        split = jax.sharding.NamedSharding(
            self.mesh, jax.sharding.PartitionSpec("data"))
        out = self._sharded_core(opts, w, cw, num_samples)(
            self._replicated("tokenizer", m.tokenizer_params),
            self._replicated("transformer", m.transformer_params),
            *jax.device_put(batched, split),
            self._replicated(("prepared", opts.method, opts.method_options),
                             prepared))
      else:
        out = self._core(opts, w, cw, num_samples, m.tokenizer_params,
                         m.transformer_params,
                         *[jnp.asarray(a) for a in batched], prepared)
      out_w, orig_w, guide_w, edit_w, decoded = jax.device_get(out)
      out_w = out_w.reshape(len(idx), num_samples, w, w)
      decoded = decoded.reshape((len(idx), num_samples) + decoded.shape[1:])
      for k, i in enumerate(idx):
        per_item[i] = (out_w[k], orig_w[k], guide_w[k], edit_w[k], decoded[k])
    t2 = time.perf_counter()
    weights = protocol.feather_weights(inputs.pixel_masks, opts.feather)
    result = self._composite(inputs.images, [p[4] for p in per_item], weights,
                             ctx_off)
    t3 = time.perf_counter()
    field = lambda j: _stack_or_list([p[j] for p in per_item])
    f = np.ones((m.factor, m.factor), bool)
    return protocol.EditResult(
        images=result, pixel_masks=inputs.pixel_masks,
        feather_weights=weights, regions=np.stack([np.kron(e, f)
                                                   for e in edit]),
        timings=dict(prepare=t1 - t0, device=t2 - t1, composite=t3 - t2),
        compiled=compiled,
        tokens=protocol.TokenInfo(samples=field(0), original=field(1),
                                  guide=field(2), edit=field(3),
                                  offsets=win_off))


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


