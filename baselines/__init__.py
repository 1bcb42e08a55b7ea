"""Baselines compared with MaskGIT-Edit (they use maskgit, never the reverse).

* `baselines.sdedit`: SDEdit with a small pixel-space diffusion model trained
  by the project's own loop (docs/diffusion_card.md).
"""
