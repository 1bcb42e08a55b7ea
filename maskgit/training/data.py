"""Training data for the loop: tfds array_record via grain, or synthetic.

`config.data.source`:
  'tfds'      - `maskgit.data.pipeline` over a prepared dataset (a directory
                from the folder builder, or a TFDS name under data_dir);
  'npz'       - a small dataset held in memory from one .npz file
                (`maskgit.data.arrays`; no TFDS or grain needed);
  'synthetic' - deterministic smooth random images and labels made on the
                host from (seed, index): no files, for tests and benchmarks.

Both iterators yield per-process numpy batches
{'image': float32 [B, S, S, 3] in [0, 1], 'label': int32 [B]} and have
`get_state() -> bytes` / `set_state(bytes)` for exact resumption.
"""

from __future__ import annotations

import json
from typing import Iterator

import jax
import numpy as np

from maskgit.training import ConfigError

Batch = dict[str, np.ndarray]


class SyntheticIterator:
  """Smooth random images: 4x4 noise upsampled, plus a label-coloured tint.

  Batch s is made whole from (seed, s) and each process takes its slice, so
  the global batch does not depend on the number of processes.
  """

  def __init__(self, *, local_batch: int, image_size: int, num_classes: int,
               seed: int, process_index: int = 0, process_count: int = 1):
    self._b, self._s, self._c = local_batch, image_size, max(1, num_classes)
    self._seed, self._proc = int(seed), int(process_index)
    self._nproc = int(process_count)
    self._next = 0

  def __iter__(self):
    return self

  def __next__(self) -> Batch:
    rng = np.random.default_rng([self._seed, self._next])
    self._next += 1
    n = self._b * self._nproc
    labels = rng.integers(0, self._c, size=(n,)).astype(np.int32)
    coarse = rng.uniform(0, 1, size=(n, 4, 4, 3))
    mine = slice(self._proc * self._b, (self._proc + 1) * self._b)
    labels, coarse = labels[mine], coarse[mine]
    reps = max(1, self._s // 4)
    img = np.repeat(np.repeat(coarse, reps, 1), reps, 2)[:, :self._s, :self._s]
    tint = (labels[:, None, None, None] % 3 == np.arange(3)).astype(np.float64)
    img = 0.7 * img + 0.3 * tint
    return {"image": img.astype(np.float32), "label": labels}

  def get_state(self) -> bytes:
    return json.dumps({"next": self._next, "seed": self._seed,
                       "process": [self._proc, self._nproc]}).encode()

  def set_state(self, state: bytes) -> None:
    d = json.loads(state)
    if d["seed"] != self._seed:
      raise ValueError(f"Synthetic data state has seed {d['seed']}, "
                       f"config has {self._seed}.")
    if list(d.get("process", [self._proc, self._nproc])) != [self._proc,
                                                              self._nproc]:
      raise ValueError(f"Synthetic data state of process {d['process']} "
                       f"restored by process [{self._proc}, {self._nproc}].")
    self._next = int(d["next"])


def _check_batch(global_batch: int) -> int:
  n = jax.process_count()
  if global_batch % n:
    raise ConfigError(f"batch_size {global_batch} is not divisible by the "
                      f"{n} processes.")
  return global_batch // n


def train_iterator(config, image_size: int, num_classes: int):
  """The per-process training iterator for `config` (see module doc)."""
  d = config.data
  local = _check_batch(config.batch_size)
  if d.source == "synthetic":
    return SyntheticIterator(local_batch=local, image_size=image_size,
                             num_classes=num_classes, seed=config.seed,
                             process_index=jax.process_index(),
                             process_count=jax.process_count())
  if d.source == "npz":
    from maskgit.data import arrays  # pylint: disable=g-import-not-at-top
    images, labels = _load_npz(d.dataset, d.train_split)
    return arrays.ArrayIterator(
        images, labels, global_batch=config.batch_size, seed=config.seed,
        image_size=image_size,
        crop_area_range=tuple(d.crop_area_range) if d.crop_area_range else None,
        random_flip=bool(d.random_flip), process_index=jax.process_index(),
        process_count=jax.process_count())
  if d.source != "tfds":
    raise ConfigError(f"Unknown data.source {d.source!r}; choose 'tfds', "
                      "'npz' or 'synthetic'.")
  from maskgit.data import pipeline  # pylint: disable=g-import-not-at-top
  if not d.dataset:
    raise ConfigError("data.source='tfds' needs data.dataset (a prepared "
                      "dataset directory or a TFDS name).")
  try:
    return pipeline.train_iterator(
        d.dataset, global_batch_size=config.batch_size, seed=config.seed,
        split=d.train_split, data_dir=d.data_dir or None,
        image_size=image_size,
        crop_area_range=tuple(d.crop_area_range) if d.crop_area_range else None,
        random_flip=bool(d.random_flip), worker_count=int(d.worker_count))
  except (FileNotFoundError, ValueError) as e:
    raise ConfigError(f"Dataset problem: {e}") from e


def _load_npz(path: str, split: str):
  from maskgit.data import arrays  # pylint: disable=g-import-not-at-top
  if not path:
    raise ConfigError("data.source='npz' needs data.dataset (a .npz file "
                      "written by maskgit.data.arrays).")
  try:
    return arrays.load_split(path, split)
  except (FileNotFoundError, ValueError) as e:
    raise ConfigError(f"Dataset problem: {e}") from e


def eval_batches(config, image_size: int, num_classes: int,
                 num_batches: int) -> Iterator[Batch]:
  """A fixed, repeatable sequence of at most `num_batches` eval batches."""
  d = config.data
  local = _check_batch(config.batch_size)
  if d.source == "synthetic":
    it = SyntheticIterator(local_batch=local, image_size=image_size,
                           num_classes=num_classes, seed=config.seed + 1_000_003,
                           process_index=jax.process_index(),
                           process_count=jax.process_count())
  elif d.source == "npz":
    from maskgit.data import arrays  # pylint: disable=g-import-not-at-top
    images, labels = _load_npz(d.dataset, d.eval_split)
    it = arrays.eval_batches(images, labels, global_batch=config.batch_size,
                             image_size=image_size,
                             process_index=jax.process_index(),
                             process_count=jax.process_count())
  else:
    from maskgit.data import pipeline  # pylint: disable=g-import-not-at-top
    try:
      it = pipeline.eval_iterator(
          d.dataset, global_batch_size=config.batch_size, split=d.eval_split,
          data_dir=d.data_dir or None, image_size=image_size,
          drop_remainder=True)
    except (FileNotFoundError, ValueError) as e:
      raise ConfigError(f"Eval dataset problem: {e}") from e
  for i, b in enumerate(it):
    if i >= num_batches:
      return
    yield b
