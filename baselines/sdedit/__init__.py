"""SDEdit with a small pixel diffusion model (DDPM UNet, VP schedule).

Importing the package registers
* the training recipe `diffusion` (configs/diffusion.py, train.py), and
* the editing methods `diffusion_sdedit` (ancestral, SDEdit's sampler) and
  `diffusion_ddim` (DDIM) for sample_edit.py and the evaluation (the edit
  config lists this package in `config.plugins`).
Model card: docs/diffusion_card.md.
"""

from baselines.sdedit import editor
from baselines.sdedit import training
from maskgit_edit import methods

for _method in editor.METHODS.values():
  methods.register(_method)
