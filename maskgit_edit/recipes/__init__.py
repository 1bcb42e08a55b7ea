"""Training recipes of the editing objectives (train.py, maskgit.training).

* `selfcond`: self-conditioning fine-tune of a transformer with hints
  (configs/selfcond.py).
* `guidance_kernel`: the learned C x C guidance kernel of `self_learned`
  (configs/guidance_kernel.py).
* `features`: the evaluation's realism/perceptual feature network
  (configs/features.py; the network is `maskgit_edit.evaluation.features`).

`stroke_guides.StrokeGuides` simulates the user's strokes on training images
(the simulators of `maskgit_edit.evaluation.strokes`). Each recipe module
registers itself on import; a training config names its module
(`config.recipe_module`).
"""
