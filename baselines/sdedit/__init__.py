"""SDEdit with a small pixel diffusion model (DDPM UNet, VP schedule).

Importing the package registers
* the training recipe `diffusion` (configs/diffusion.py, train.py), and
* the editor backends `diffusion_sdedit` (ancestral, SDEdit's sampler) and
  `diffusion_ddim` (DDIM) for sample_edit.py (`config.plugins`).
Model card: docs/diffusion_card.md.
"""

from baselines.sdedit import editor
from baselines.sdedit import training
from maskgit_edit import backends

for _name in editor.METHODS:
  backends.register(_name, create=editor.editor_from_config,
                    options=editor.options_from_config)
