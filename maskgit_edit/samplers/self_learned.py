"""`self_learned`: self-guidance with a learned [C, C] kernel.

Strength s: as `self_fixed` (form 'poe': lam = scale * (1 - s) / s on
log k(x, G_j); form 'pilot': the pilot's reweighting), with log k = the
learned kernel's row G_j. The kernel file (option `kernel`, the edit config's
`self_learned.kernel`; `train.py --config=configs/guidance_kernel.py` exports
one) is a .npy float32 [C, C] of log-affinities, row = guide code, column =
candidate code.
"""

from __future__ import annotations

import dataclasses

import jax.numpy as jnp

from maskgit_edit import guidance
from maskgit_edit.samplers import base
from maskgit_edit.samplers import self_fixed


@dataclasses.dataclass(frozen=True)
class Options:
  """self_learned options.

  Attributes:
    kernel: path of the learned kernel (.npy float32 [C, C]).
    form: 'poe' or 'pilot'.
    scale: poe lam at strength 0.5.
  """
  kernel: str = ""
  form: str = "poe"
  scale: float = 1.0

  def validate(self) -> "Options":
    self_fixed.check_form(self.form)
    return self


class SelfLearned(base.Sampler):
  """Self-guidance with a learned kernel file."""

  name = "self_learned"
  options_class = Options

  def prepare(self, editor, options):
    c = editor.model.tokenizer_config.num_codes
    return {"kernel": jnp.asarray(editor.cached(
        ("learned_kernel", options.kernel),
        lambda: guidance.load_learned_kernel(options.kernel, c)))}

  def start(self, x, options, prepared):
    logk = self_fixed.per_position(prepared["kernel"], x.guide)
    return self_fixed.guided_start(x, logk, options.form, options.scale)


SAMPLER = SelfLearned()
