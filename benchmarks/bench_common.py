"""Helpers shared by the benchmark scripts (imported from benchmarks/).

Scripts run as `python benchmarks/X.py`, so this folder is on their path.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from maskgit.training import optim


def stroke_inputs(size: int, frac: float, seed: int = 0, block: int = 8):
  """(image, guide, disc): a blocky image and the same with a red disc.

  image: float32 [size, size, 3] of random `block` x `block` px squares;
  guide: the image with a red disc covering `frac` of it (centre at 45% /
  55% of the side); disc: bool [size, size], the painted pixels.
  """
  rng = np.random.default_rng(seed)
  small = rng.random((size // block, size // block, 3)).astype(np.float32)
  image = np.kron(small, np.ones((block, block, 1), np.float32))
  r = np.sqrt(frac * size * size / np.pi)
  yy, xx = np.mgrid[:size, :size]
  disc = (yy - size * 0.45) ** 2 + (xx - size * 0.55) ** 2 <= r * r
  guide = image.copy()
  guide[disc] = (0.9, 0.2, 0.1)
  return image, guide, disc


def step_on_prepared(trainer) -> Callable:
  """The loop's train step without tokenization: (state, frozen, prepared).

  `prepared` is a batch already through `trainer.prepare` (the loop itself
  tokenizes inside its step since issue 17).
  """
  def step(state, frozen, batch):
    grads, metrics = optim.accumulate(
        trainer.recipe.grad_fn, state.params, batch, state.step_key(),
        int(trainer.config.optim.grad_accum_steps), frozen, state.step)
    return state.apply_gradients(grads), metrics
  return step
