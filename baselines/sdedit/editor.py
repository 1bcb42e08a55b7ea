"""SDEdit with the pixel diffusion model, behind the `Editor.edit` interface.

    from baselines.sdedit import editor as sde
    ed = sde.DiffusionEditor.from_file("weights/emoji_diffusion/"
                                       "diffusion.msgpack", preset="emoji")
    res = ed.edit(images, guides, masks=None, labels=3, strength=0.5,
                  seed=0, num_samples=4,
                  options=sde.DiffusionOptions(sampler="ddim", num_steps=50))
    res.images                                  # [N, S, H, W, 3] in [0, 1]

The edited pixels are found exactly as for MaskGIT (`guidance.pixel_mask`:
the mask, or where the guide differs from the image); the composite is the
same feathered one (`compositing.feather_mask` + `composite`), so pixels
farther than `feather` from the edit are bit-identical to the input. The
model generates inside the feathered region (edit + band): with `masked`,
SDEdit's masked variant re-noises the original outside that region at every
step; without it, the whole image is perturbed and denoised and the composite
alone restores the outside.

strength -> t0 = round(strength * T): 0 returns the guide (composited), 1
starts from pure noise (the guide is ignored: generation of the region from
its context). Registered as the sample_edit.py methods `diffusion_sdedit`
(ancestral, SDEdit's own sampler) and `diffusion_ddim` (DDIM with
`config.diffusion.num_steps`).
"""

from __future__ import annotations

import dataclasses
import functools
import time
from typing import Any, Sequence

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from baselines.sdedit import sampler as sampler_lib
from baselines.sdedit import training
from baselines.sdedit import unet as unet_lib
from baselines.sdedit.schedule import VPSchedule
from maskgit import compositing
from maskgit import model as model_lib
from maskgit_edit import editor as editor_lib
from maskgit_edit import guidance

# sample_edit.py method name -> sampler.
METHODS = {"diffusion_sdedit": "ancestral", "diffusion_ddim": "ddim"}


@dataclasses.dataclass(frozen=True)
class DiffusionOptions:
  """Static SDEdit settings (hashable: part of the jit cache key).

  Attributes:
    sampler: 'ancestral' (SDEdit: one UNet call per unit of t0) or 'ddim'.
    num_steps: DDIM steps from t0 to 0 (ignored by ancestral).
    repeats: SDEdit's K (perturb-denoise passes, each on the last output).
    masked: re-noise the original outside the edit region every step.
    feather: feather radius in pixels of the composite (as EditOptions).
  """
  sampler: str = "ancestral"
  num_steps: int = 50
  repeats: int = 1
  masked: bool = True
  feather: int = 8

  def validate(self) -> "DiffusionOptions":
    if self.sampler not in sampler_lib.SAMPLERS:
      raise ValueError(f"Unknown diffusion sampler {self.sampler!r}; choose "
                       f"one of {', '.join(sampler_lib.SAMPLERS)}.")
    if self.num_steps < 1 or self.repeats < 1:
      raise ValueError(f"num_steps and repeats must be >= 1, got "
                       f"{self.num_steps}, {self.repeats}.")
    if self.feather < 0:
      raise ValueError("feather must be >= 0.")
    return self


class DiffusionEditor:
  """SDEdit on a `unet.UNet` (see module docstring)."""

  def __init__(self, model_config: ml_collections.ConfigDict, params):
    self.model_config = model_config
    self.unet_config = unet_lib.UNetConfig.from_config(
        model_config).validate()
    self.net = unet_lib.UNet(self.unet_config)
    self.sched = VPSchedule.from_config(model_config.schedule)
    self.params = jax.tree.map(jnp.asarray, params)
    self._seen = set()

  __hash__ = object.__hash__

  @property
  def image_size(self) -> int:
    return self.unet_config.image_size

  @classmethod
  def from_file(cls, path: str, preset: str = "emoji") -> "DiffusionEditor":
    """Weights exported by the `diffusion` recipe, architecture `preset`."""
    from configs import diffusion  # pylint: disable=g-import-not-at-top
    mc = diffusion.model_config(preset)
    return cls(mc, training.load_params(
        path, unet_lib.UNetConfig.from_config(mc)))

  @classmethod
  def random(cls, preset: str = "tiny", seed: int = 0) -> "DiffusionEditor":
    """Randomly initialised weights (tests, pipeline demos)."""
    from configs import diffusion  # pylint: disable=g-import-not-at-top
    mc = diffusion.model_config(preset)
    cfg = unet_lib.UNetConfig.from_config(mc)
    return cls(mc, unet_lib.init(cfg, jax.random.key(seed)))

  # --------------------------------------------------------- jitted core
  @functools.partial(jax.jit, static_argnums=(0, 1, 2))
  def _core(self, opts: DiffusionOptions, num_samples: int, params, images,
            guides, region, labels, strength, key):
    rep = lambda x: jnp.repeat(x, num_samples, axis=0)
    x_img, x_gd = rep(images) * 2.0 - 1.0, rep(guides) * 2.0 - 1.0
    labels = rep(labels) if self.unet_config.num_classes else None

    def eps_fn(x, t_B):
      return self.net.apply({"params": params}, x, t_B, labels)
    out = sampler_lib.sdedit(
        eps_fn, self.sched, x_gd, x_img, rep(region)[..., None],
        self.sched.t_from_strength(rep(strength)), key,
        sampler=opts.sampler, num_steps=opts.num_steps,
        repeats=opts.repeats, masked=opts.masked)
    out = (jnp.clip(out, -1.0, 1.0) + 1.0) / 2.0
    # Strength 0 is the guide exactly (no [-1, 1] round trip).
    return jnp.where(rep(strength)[:, None, None, None] <= 0, rep(guides),
                     out)

  # ------------------------------------------------------------------ API
  def edit(self, images, guides, masks: Sequence[Any] | None = None,
           labels=0, strength=0.5, seed: int = 0, num_samples: int = 1,
           options: DiffusionOptions = DiffusionOptions()
           ) -> editor_lib.EditResult:
    """Edits N images following their guides (args as `Editor.edit`).

    Returns:
      EditResult with images [N, S, H, W, 3], pixel_masks, feather_weights,
      timings; the token fields are empty (w = 0): there are no tokens.

    Raises:
      ValueError (guidance.GuidanceError for bad guidance): bad shapes,
      empty edit, strength outside [0, 1], bad labels or options.
    """
    t0 = time.perf_counter()
    opts = (options or DiffusionOptions()).validate()
    size = self.image_size
    images = model_lib.as_float_images(images)
    if images.ndim == 3:
      images = images[None]
    if images.ndim != 4 or images.shape[1:] != (size, size, 3):
      raise ValueError(f"Expected images of shape [B, {size}, {size}, 3] (or "
                       f"[{size}, {size}, 3]) in [0, 1], got {images.shape}.")
    labels = np.atleast_1d(np.asarray(labels))
    if labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer):
      raise ValueError(f"Class labels must be integers, got {labels!r}.")
    nc = self.unet_config.num_classes
    bad = labels[(labels < 0) | (labels >= max(nc, 1))]
    if nc and bad.size:
      raise ValueError(f"Class label(s) {bad.tolist()} out of range "
                       f"[0, {nc}).")
    guides, masks, labels, strength, num_samples = editor_lib.per_edit_args(
        images, guides, masks, labels, strength, num_samples)
    n = len(images)
    pix = np.stack([guidance.pixel_mask(i, g, mk)
                    for i, g, mk in zip(images, guides, masks)])
    weights = np.stack([compositing.feather_mask(p, opts.feather)
                        for p in pix])
    region = (weights > 0).astype(np.float32)
    t1 = time.perf_counter()
    sig = (opts, num_samples, images.shape)
    compiled = sig not in self._seen
    self._seen.add(sig)
    out = self._core(opts, num_samples, self.params, jnp.asarray(images),
                     jnp.asarray(guides), jnp.asarray(region),
                     jnp.asarray(labels.astype(np.int32)),
                     jnp.asarray(strength), jax.random.key(seed))
    out = np.asarray(jax.device_get(out))
    t2 = time.perf_counter()
    result = compositing.composite(
        np.repeat(images, num_samples, axis=0), out,
        np.repeat(weights, num_samples, axis=0))
    t3 = time.perf_counter()
    return editor_lib.EditResult(
        images=result.reshape(n, num_samples, size, size, 3),
        tokens=np.zeros((n, num_samples, 0, 0), np.int32),
        original_tokens=np.zeros((n, 0, 0), np.int32),
        guide_tokens=np.zeros((n, 0, 0), np.int32),
        edit_tokens=np.zeros((n, 0, 0), bool),
        window_offsets=np.zeros((n, 2), np.int32),
        pixel_masks=pix, feather_weights=weights,
        timings=dict(prepare=t1 - t0, device=t2 - t1, composite=t3 - t2,
                     total=t3 - t0),
        compiled=compiled)


# ------------------------------------------------ sample_edit.py backend
def options_from_config(config, method: str) -> DiffusionOptions:
  """DiffusionOptions for `method` from an edit config's `diffusion` section."""
  d = config.diffusion
  return DiffusionOptions(sampler=METHODS[method], num_steps=int(d.num_steps),
                          repeats=int(d.repeats), masked=bool(d.masked),
                          feather=int(config.feather)).validate()


def editor_from_config(config, method: str) -> DiffusionEditor:
  """The model `config.diffusion` names (random weights if no path)."""
  del method
  d = config.diffusion
  if d.weights:
    ed = DiffusionEditor.from_file(d.weights, d.model)
  else:
    ed = DiffusionEditor.random(d.model, int(config.random_init_seed))
  if ed.image_size != int(config.model.image_size):
    raise ValueError(f"Diffusion model {d.model!r} is {ed.image_size} px, the "
                     f"edit config's model.image_size is "
                     f"{config.model.image_size}.")
  return ed
