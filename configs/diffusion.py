r"""Recipe `diffusion` (baselines/sdedit): a pixel-space DDPM for SDEdit.

  python train.py --config=configs/diffusion.py:emoji --workdir=/tmp/diff \
      --config.data.dataset=/path/to/emoji64.npz
  python train.py --config=configs/diffusion.py:tiny --workdir=/tmp/d  # tests


Presets: 'emoji' (64 px, class-conditional, the shipped baseline in
weights/emoji_diffusion, docs/diffusion_card.md) and 'tiny' (32 px, T = 20, tests).
`model_config(preset)` is the architecture alone (the editor loads weights
with it). Fields not listed here come from configs/train_common.py.
"""

import ml_collections

from configs import train_common
from maskgit import presets

PRESETS = ("tiny", "emoji")


def model_config(preset: str = "emoji") -> ml_collections.ConfigDict:
  """UNet + VP schedule of `preset` (baselines/sdedit/unet.py, schedule.py)."""
  if preset not in PRESETS:
    raise ValueError(f"Unknown diffusion preset {preset!r}; choose one of "
                     f"{', '.join(PRESETS)}.")
  m = ml_collections.ConfigDict()
  m.image_size = 64  # Pixels per side.
  m.num_classes = 9  # Class-conditional (emoji groups); 0 = unconditional.
  m.unet = ml_collections.ConfigDict(dict(
      base_channels=16,  # Width at full resolution.
      channel_mults=(1, 2, 4, 4),  # Width multipliers at 64, 32, 16, 8 px.
      num_res_blocks=1,  # Residual blocks per level going down (+1 up).
      attn_resolutions=(),  # Sides with self-attention (plus the middle).
      dropout=0.0,  # Residual-block dropout.
      num_groups=8,  # GroupNorm groups.
  ))
  m.schedule = ml_collections.ConfigDict(dict(
      num_timesteps=1000,  # T (SDEdit / DDPM).
      beta_start=1e-4,  # beta_1.
      beta_end=0.02,  # beta_T (linear in between).
  ))
  if preset == "tiny":
    m.image_size = 32  # As the tiny MaskGIT (configs/models.py).
    m.num_classes = 3
    m.unet.base_channels = 8
    m.unet.channel_mults = (1, 2)
    m.unet.attn_resolutions = ()
    m.unet.num_groups = 4
    m.schedule.num_timesteps = 20
  return m


def get_config(preset: str = "emoji"):
  preset = preset or "emoji"
  if preset not in PRESETS:
    raise ValueError(f"Unknown diffusion preset {preset!r}; choose one of "
                     f"{', '.join(PRESETS)}.")
  c = train_common.base("diffusion", preset, "baselines.sdedit.training")
  # Generic run settings of the same-named MaskGIT preset (tiny: synthetic
  # data, 4 steps, batch 8); the recipe's own fields follow.
  c = train_common.finish(c, preset)
  c.model = model_config(preset)
  c.diffusion = ml_collections.ConfigDict(dict(
      # Probability of training with the null class (lets the model also
      # run unconditionally; 0 = always the true label).
      label_dropout=0.1,
  ))
  c.label_smoothing = 0.0  # Unused by this recipe.
  c.prepare_batch = 0  # Unused (no tokenizer).
  c.sample_num_iter = 2 if preset == "tiny" else 50  # DDIM steps of the
  # sample grids (from noise).
  c.optim.b2 = 0.999  # Adam's usual second moment for diffusion.
  c.optim.weight_decay = 0.0
  if preset == "emoji":
    # The data as one .npz (python -m maskgit.data.arrays, see
    # docs/training.md); tfds works too (data.source='tfds').
    c.data.source = "npz"
    c.data.dataset = "data/emoji64.npz"
    c.data.train_split = "train"
    c.data.eval_split = "test"
    c.data.crop_area_range = ()
    # Sized for what one shared 2-core CPU trains in ~75 minutes
    # (docs/diffusion_card.md); with a GPU raise num_steps and batch_size.
    c.batch_size = 16
    c.num_steps = 900
    c.optim.learning_rate = 5e-4
    c.optim.warmup_steps = 50
    c.optim.end_lr_factor = 0.1
    presets.cadence(c, checkpoint=100, log=25, evaluate=300, eval_batches=4,
                    sample=300, num_samples=16)
    c.sample_num_iter = 25
  return c
