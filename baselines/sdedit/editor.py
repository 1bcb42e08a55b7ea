"""SDEdit with the pixel diffusion model, behind the editor protocol.

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
its context). Registered (`METHODS`) as the methods `diffusion_sdedit`
(ancestral, SDEdit's own sampler) and `diffusion_ddim` (DDIM with
`config.diffusion.num_steps`); their options come from the edit config's
`diffusion` section.
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
from maskgit_edit import methods
from maskgit_edit import protocol

# Method name -> diffusion sampler.
SAMPLER_OF = {"diffusion_sdedit": "ancestral", "diffusion_ddim": "ddim"}


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


class DiffusionEditor(protocol.BaseEditor):
  """SDEdit on a `unet.UNet` (see module docstring)."""

  def __init__(self, model_config: ml_collections.ConfigDict, params):
    self.model_config = model_config
    self.unet_config = unet_lib.UNetConfig.from_config(
        model_config).validate()
    self.net = unet_lib.UNet(self.unet_config)
    self.sched = VPSchedule.from_config(model_config.schedule)
    self.params = jax.tree.map(jnp.asarray, params)
    self._seen = set()

  @property
  def image_size(self) -> int:
    return self.unet_config.image_size

  @property
  def num_classes(self) -> int:
    return self.unet_config.num_classes

  def default_options(self) -> DiffusionOptions:
    return DiffusionOptions()

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
            guides, region, labels, strength, key_data):
    rep = lambda x: jnp.repeat(x, num_samples, axis=0)
    # Sample j of edit i draws from fold_in(key_i, j): its own noise.
    keys = jax.vmap(lambda k: jax.vmap(lambda j: jax.random.fold_in(
        k, j))(jnp.arange(num_samples)))(jax.random.wrap_key_data(key_data))
    key = keys.reshape(-1)
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

  # ------------------------------------------------------------ protocol
  def _edit(self, inputs: protocol.EditInputs,
            options: DiffusionOptions) -> protocol.EditResult:
    """Edits checked inputs (the protocol's `edit` calls this)."""
    t0 = time.perf_counter()
    opts = options.validate()
    n, num_samples = len(inputs), inputs.num_samples
    size = self.image_size
    weights = protocol.feather_weights(inputs.pixel_masks, opts.feather)
    region = (weights > 0).astype(np.float32)
    t1 = time.perf_counter()
    sig = (opts, num_samples, inputs.images.shape)
    compiled = sig not in self._seen
    self._seen.add(sig)
    # One key per edit (its own seed), split over its samples inside.
    keys = np.stack([np.asarray(jax.random.key_data(jax.random.key(int(s))))
                     for s in inputs.seeds])
    out = self._core(opts, num_samples, self.params,
                     jnp.asarray(inputs.images), jnp.asarray(inputs.guides),
                     jnp.asarray(region), jnp.asarray(inputs.labels),
                     jnp.asarray(inputs.strength), keys)
    out = np.asarray(jax.device_get(out))
    t2 = time.perf_counter()
    result = compositing.composite(
        np.repeat(inputs.images, num_samples, axis=0), out,
        np.repeat(weights, num_samples, axis=0))
    t3 = time.perf_counter()
    return protocol.EditResult(
        images=result.reshape(n, num_samples, size, size, 3),
        pixel_masks=inputs.pixel_masks, feather_weights=weights,
        regions=weights > 0, timings=dict(prepare=t1 - t0, device=t2 - t1, composite=t3 - t2),
        compiled=compiled)


# ------------------------------------------------------ method records
def options_from_config(config, method: str) -> DiffusionOptions:
  """DiffusionOptions for `method` from an edit config's `diffusion` section."""
  d = config.diffusion
  return DiffusionOptions(sampler=SAMPLER_OF[method],
                          num_steps=int(d.num_steps),
                          repeats=int(d.repeats), masked=bool(d.masked),
                          feather=int(config.feather)).validate()


def editor_from_config(config) -> DiffusionEditor:
  """The model `config.diffusion` names (random weights if no path)."""
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


METHODS = {
    name: methods.Method(
        name=name, summary=f"SDEdit with a pixel diffusion model "
        f"({sampler} sampler; baselines/sdedit)",
        options_class=DiffusionOptions, section="diffusion",
        build_editor=editor_from_config,
        build_options=functools.partial(options_from_config, method=name))
    for name, sampler in SAMPLER_OF.items()}
