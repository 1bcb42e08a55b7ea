"""`inpaint`: E masked and regenerated (the official decoder).

Strength is ignored (the editor still returns G_E at strength exactly 0, like
every method).
"""

from __future__ import annotations

from maskgit import decode as decode_lib
from maskgit_edit.samplers import base


class Inpaint(base.Sampler):
  """Official MaskGIT inpainting of E; the guide is unused."""

  name = "inpaint"
  uses_strength = False

  def start(self, x, options, prepared):
    return x.masked, decode_lib.REFERENCE, x.base_aux()


SAMPLER = Inpaint()
