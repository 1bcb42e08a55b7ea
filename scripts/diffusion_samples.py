r"""Samples from pure noise of the SDEdit baseline's diffusion model.

  PYTHONPATH=. python scripts/diffusion_samples.py \
      weights/emoji_diffusion/diffusion.msgpack \
      docs/images/diffusion_samples.png --steps=50 --per_class=2

Strength 1 with an all-edited mask = DDIM (or ancestral with --steps=0) from
pure noise; `per_class` samples of each emoji group (class label) in a
row, three groups per row.
Prints the seconds per image.
"""

import sys
import time

from absl import app
from absl import flags
import numpy as np

from baselines.sdedit import editor as sde
from maskgit import image_io

_STEPS = flags.DEFINE_integer("steps", 50, "DDIM steps; 0 = ancestral.")
_PER_CLASS = flags.DEFINE_integer("per_class", 2, "Samples per class.")
_PRESET = flags.DEFINE_string("preset", "emoji", "configs/diffusion.py preset.")
_SEED = flags.DEFINE_integer("seed", 0, "PRNG seed.")


def main(argv):
  if len(argv) != 3:
    raise app.UsageError("Usage: diffusion_samples.py WEIGHTS OUT.png")
  ed = sde.DiffusionEditor.from_file(argv[1], _PRESET.value)
  nc = max(1, ed.unet_config.num_classes)
  s = ed.image_size
  blank = np.ones((nc, s, s, 3), np.float32)
  masks = [np.ones((s, s), bool)] * nc
  opts = (sde.DiffusionOptions(sampler="ancestral") if _STEPS.value == 0 else
          sde.DiffusionOptions(sampler="ddim", num_steps=_STEPS.value))
  t = time.perf_counter()
  res = ed.edit(blank, blank, masks, labels=np.arange(nc), strength=1.0,
                seed=_SEED.value, num_samples=_PER_CLASS.value, options=opts)
  dt = time.perf_counter() - t
  images = res.images.reshape((-1, s, s, 3))
  image_io.save_png(argv[2], image_io.grid(images, _PER_CLASS.value * 3))
  print(f"{len(images)} samples in {dt:.1f} s (compile included) -> "
        f"{argv[2]}", file=sys.stderr)


if __name__ == "__main__":
  app.run(main)
