"""Simulated user strokes on training images (a host-side data transform).

`StrokeGuides` applies the stroke simulators of
`maskgit_edit.evaluation.strokes` on the host to every training image
(kernel sizes scaled to the resolution, seed from (config.seed, step,
example)); the selfcond and guidance_kernel recipes turn the guides into
token sequences with the frozen tokenizer.
"""

from __future__ import annotations

import concurrent.futures
import multiprocessing
import os

import jax
import numpy as np

from maskgit.training import ConfigError
from maskgit_edit.evaluation import strokes

SIMULATORS = ("sdedit", "pilot_inversion", "pilot_counterfactual", "mix",
              "sdedit_inversion")


def _upsample_nearest(x: np.ndarray, height: int, width: int) -> np.ndarray:
  rows = (np.arange(height) * x.shape[0]) // height
  cols = (np.arange(width) * x.shape[1]) // width
  return x[rows][:, cols]


def _downsample_area(image: np.ndarray, side: int) -> np.ndarray:
  from PIL import Image  # pylint: disable=g-import-not-at-top
  u8 = (np.clip(image, 0, 1) * 255 + 0.5).astype(np.uint8)
  small = Image.fromarray(u8).resize((side, side), Image.Resampling.BOX)
  return np.asarray(small).astype(np.float32) / 255.0


class StrokeGuides:
  """Host-side data transform: batch['guide'] = simulated strokes of images.

  `resolution` > 0 simulates at that side (kernels scale with it) and brings
  the result back to the image size: SDEdit's guide is upsampled (nearest);
  the pilot's segment mask is upsampled and its flat colour pasted on the
  full-resolution original. The simulators cost ~0.1-2 s per 256 px image
  (the median filter dominates), so full resolution is a host bottleneck at
  large batches; `num_threads` spreads a batch over threads. Outputs depend
  only on (seed, step, example index), never on the thread count.
  """

  def __init__(self, simulator: str, seed: int, num_colors: int = 6,
               num_segments: int = 12, resolution: int = 0,
               num_threads: int = 0, num_processes: int = 0):
    if simulator not in SIMULATORS:
      raise ConfigError(f"Unknown stroke simulator {simulator!r}; choose one "
                        f"of {', '.join(SIMULATORS)}.")
    self.simulator, self.seed = simulator, int(seed)
    self.num_colors, self.num_segments = int(num_colors), int(num_segments)
    self.resolution = int(resolution)
    self.num_threads = int(num_threads) or (os.cpu_count() or 1)
    # > 0: simulate in this many worker processes instead (the simulators
    # hold the GIL much of the time; threads give ~1.4x on 2 cores).
    self.num_processes = int(num_processes)
    self._pool = None

  @classmethod
  def from_config(cls, section, seed: int) -> "StrokeGuides":
    """From a recipe's stroke settings (`configs/train_common.stroke_fields`
    in `config.selfcond` or `config.guidance`)."""
    return cls(section.simulator, seed, section.num_colors,
               resolution=section.stroke_resolution,
               num_threads=section.stroke_threads,
               num_processes=section.get("stroke_processes", 0))

  def __getstate__(self):
    return {**self.__dict__, "_pool": None}

  def _process_pool(self) -> concurrent.futures.ProcessPoolExecutor:
    if self._pool is None:
      # 'spawn': the parent holds JAX's threads, which fork would copy.
      self._pool = concurrent.futures.ProcessPoolExecutor(
          self.num_processes, mp_context=multiprocessing.get_context("spawn"))
    return self._pool

  def close(self) -> None:
    if self._pool is not None:
      self._pool.shutdown(cancel_futures=True)
      self._pool = None

  def example_seed(self, step: int, index: int) -> int:
    """Seed of example `index` of step `step` (negative steps: eval)."""
    ss = np.random.SeedSequence([self.seed, step + (1 << 20), index])
    return int(ss.generate_state(1)[0])

  def one(self, image: np.ndarray, seed: int) -> np.ndarray:
    """Guide for one float image [H, W, 3] in [0, 1]."""
    kind = self.simulator
    if kind == "mix":
      kind = SIMULATORS[seed % 3]
    elif kind == "sdedit_inversion":
      kind = SIMULATORS[seed % 2]
    h, w = image.shape[:2]
    small = image
    if self.resolution and self.resolution < min(h, w):
      small = _downsample_area(image, self.resolution)
    kernel = strokes.median_kernel_for(min(small.shape[:2]))
    if kind == "sdedit":
      guide = strokes.sdedit_strokes(small, num_colors=self.num_colors,
                                     kernel_size=kernel, seed=seed)
      return guide if small is image else _upsample_nearest(guide, h, w)
    mode = "inversion" if kind == "pilot_inversion" else "counterfactual"
    guide, mask = strokes.pilot_stroke_edit(
        small, num_segments=self.num_segments, kernel_size=kernel, mode=mode,
        seed=seed)
    if small is image:
      return guide
    color = guide[mask][0]
    out = image.copy()
    out[_upsample_nearest(mask, h, w)] = color
    return out

  def __call__(self, batch: dict[str, np.ndarray], step: int
               ) -> dict[str, np.ndarray]:
    images = np.clip(np.asarray(batch["image"], np.float32), 0.0, 1.0)
    offset = jax.process_index() * images.shape[0]
    seeds = [self.example_seed(step, offset + i) for i in range(len(images))]
    if self.num_processes > 0 and len(images) > 1:
      chunk = max(1, len(images) // (4 * self.num_processes))
      guides = list(self._process_pool().map(self.one, images, seeds,
                                             chunksize=chunk))
    elif self.num_threads > 1 and len(images) > 1:
      with concurrent.futures.ThreadPoolExecutor(self.num_threads) as pool:
        guides = list(pool.map(self.one, images, seeds))
    else:
      guides = [self.one(im, sd) for im, sd in zip(images, seeds)]
    return {**batch, "guide": np.stack(guides).astype(np.float32)}
