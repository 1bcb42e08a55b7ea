"""Reads array_record datasets for training and evaluation (no TensorFlow).

Records come from `tfds` data sources (random access into array_record files);
grain's DataLoader shards them over JAX processes, shuffles them with a seed,
augments them and batches them. Batches are numpy dicts:

  {'image': float32 [B, H, W, 3] in [0, 1], 'label': int32 [B]}

where B is the per-process batch (global batch / process count).

Training iterators are infinite, reshuffle every epoch, and are a pure function
of (seed, dataset, options, process index/count): two iterators made with the
same arguments yield the same batches. Their position is checkpointable with
`it.get_state()` -> bytes and `it.set_state(bytes)` (or orbax through
`grain.checkpoint.CheckpointSave/CheckpointRestore`), after which the iterator
continues EXACTLY with the batch that would have come next. The state is
checked against the loader on restore: seed, shuffle, shard, dataset
(name/version/split/size, not its path) and worker_count must match.

A dataset is named either by its directory (`<data_dir>/<name>/<version>`, as
returned by `maskgit.data.folder.write_dataset`) or by a TFDS name prepared as
array_record under `data_dir` (e.g. 'noto_emoji', 'imagenet2012:5.1.0').
"""

from __future__ import annotations

from collections.abc import Iterator
import dataclasses
import math
import os
import pathlib
from typing import Any

import grain
import jax
import numpy as np
from PIL import Image
import tensorflow_datasets as tfds

# The DataLoader iterator: iterable, with get_state() -> bytes and
# set_state(bytes).
DataIterator = grain.DataLoaderIterator
Batch = dict[str, np.ndarray]


class _NamedSource(grain.sources.RandomAccessDataSource):
  """A TFDS data source whose repr names the data, not where it lives.

  grain stores repr(source) in iterator states and compares it on restore;
  tfds's repr holds absolute file paths, so a moved dataset directory would
  refuse to resume.
  """

  def __init__(self, source: Any, description: str):
    self._source = source
    self._description = description

  def __len__(self) -> int:
    return len(self._source)

  def __getitem__(self, index: int) -> dict[str, Any]:
    return self._source[index]

  def __repr__(self) -> str:
    return f'TfdsSource({self._description})'


def open_split(dataset: str | os.PathLike[str], split: str, *,
               data_dir: str | os.PathLike[str] | None = None
               ) -> grain.sources.RandomAccessDataSource:
  """Opens one split of an array_record dataset for random access.

  Args:
    dataset: a dataset directory holding dataset_info.json (e.g. from
      `folder.write_dataset`), or a TFDS name such as 'noto_emoji' or
      'imagenet2012:5.1.0' prepared under `data_dir` with
      file_format='array_record'.
    split: split name, e.g. 'train' or 'test' (TFDS slicing like 'train[:10%]'
      works too).
    data_dir: TFDS data_dir for a dataset given by name (default: TFDS's).

  Returns:
    A random-access source of decoded records {'image': uint8 [H, W, 3],
    'label': int64, ...}.

  Raises:
    FileNotFoundError: the directory does not exist or holds no prepared
      dataset, or the named dataset is not prepared under data_dir.
    ValueError: the split does not exist, or the dataset is not array_record.
  """
  path = pathlib.Path(dataset).expanduser()
  # A TFDS name may contain '/' ('name/config:1.0.0'), so only an existing
  # directory or an explicit absolute/relative/home path counts as a path.
  if path.is_dir() or str(dataset).startswith(('/', '.', '~')):
    if not (path / 'dataset_info.json').is_file():
      raise FileNotFoundError(
          f'No prepared dataset at {path} (expected {path}/dataset_info.json;'
          ' prepare one with maskgit.data.folder or maskgit.data.emoji).')
    builder = tfds.builder_from_directory(str(path))
  else:
    try:
      builder = tfds.builder(str(dataset), data_dir=data_dir)
    except Exception as e:  # tfds raises several types for unknown datasets.
      raise FileNotFoundError(
          f'{dataset!r} is neither a dataset directory nor a TFDS dataset '
          f'prepared under data_dir={data_dir}: '
          f'{str(e).strip().splitlines()[0]}') from e
    if not builder.is_prepared():
      raise FileNotFoundError(
          f'Dataset {dataset!r} is not prepared in {builder.data_dir}.')
  available = list(builder.info.splits)
  base_split = split.split('[', 1)[0]
  if base_split not in available:
    raise ValueError(f'Split {split!r} not in dataset {builder.name} at '
                     f'{builder.data_dir}; available: {sorted(available)}.')
  file_format = builder.info.file_format
  if file_format is None or 'array_record' not in str(file_format.value):
    raise ValueError(
        f'Dataset {builder.name} is stored as {file_format}, not array_record;'
        ' re-prepare it with file_format="array_record".')
  source = builder.as_data_source(split=split)
  return _NamedSource(source, f'{builder.name}:{builder.info.version}/{split}'
                              f'[{len(source)}]')


@dataclasses.dataclass(frozen=True)
class _Augment:
  """Options shared by the train and eval transforms."""
  image_size: int | None  # Output side; None keeps the stored size.
  crop_area_range: tuple[float, float] | None  # Random square crop (train).
  random_flip: bool  # Random horizontal flip (train).


def _resize(image: np.ndarray, size: int,
            box: tuple[int, int, int, int] | None = None) -> np.ndarray:
  """Crops `box` (left, top, right, bottom) and resizes to [size, size, 3]."""
  h, w = image.shape[:2]
  if box is None:
    box = (0, 0, w, h)
  if box[2] - box[0] == size and box[3] - box[1] == size:
    return image[box[1]:box[3], box[0]:box[2]]
  pil = Image.fromarray(image)
  # Lanczos antialiases when shrinking; bicubic-like quality when enlarging.
  return np.asarray(pil.resize((size, size), Image.Resampling.LANCZOS,
                               box=box))


def _finish(image: np.ndarray, label: Any) -> Batch:
  return {'image': image.astype(np.float32) / 255.0,
          'label': np.asarray(label, dtype=np.int32)}


class _TrainTransform(grain.transforms.RandomMap):
  """Random square crop, flip, resize; uint8 -> float32 [0, 1]."""

  def __init__(self, opts: _Augment):
    self._opts = opts

  def random_map(self, element: dict[str, Any],
                 rng: np.random.Generator) -> Batch:
    image = element['image']
    if image.ndim == 2:
      image = np.repeat(image[:, :, None], 3, axis=2)
    h, w = image.shape[:2]
    size = self._opts.image_size or min(h, w)
    if self._opts.crop_area_range is not None:
      lo, hi = self._opts.crop_area_range
      side = int(round(math.sqrt(rng.uniform(lo, hi)) * min(h, w)))
      side = max(1, min(side, h, w))
      top = int(rng.integers(0, h - side + 1))
      left = int(rng.integers(0, w - side + 1))
      box = (left, top, left + side, top + side)
    else:
      side = min(h, w)
      top, left = (h - side) // 2, (w - side) // 2
      box = (left, top, left + side, top + side)
    image = _resize(image, size, box)
    if self._opts.random_flip and rng.random() < 0.5:
      image = image[:, ::-1]
    return _finish(image, element['label'])


class _EvalTransform(grain.transforms.Map):
  """Centre square crop, resize; uint8 -> float32 [0, 1]."""

  def __init__(self, image_size: int | None):
    self._image_size = image_size

  def map(self, element: dict[str, Any]) -> Batch:
    image = element['image']
    if image.ndim == 2:
      image = np.repeat(image[:, :, None], 3, axis=2)
    h, w = image.shape[:2]
    side = min(h, w)
    top, left = (h - side) // 2, (w - side) // 2
    image = _resize(image, self._image_size or side,
                    (left, top, left + side, top + side))
    return _finish(image, element['label'])


def _shard_options(shard_index: int | None, shard_count: int | None,
                   drop_remainder: bool) -> grain.sharding.ShardOptions:
  index = jax.process_index() if shard_index is None else shard_index
  count = jax.process_count() if shard_count is None else shard_count
  if not 0 <= index < count:
    raise ValueError(f'Bad shard {index} of {count}.')
  return grain.sharding.ShardOptions(shard_index=index, shard_count=count,
                                     drop_remainder=drop_remainder)


def _local_batch_size(global_batch_size: int, shard_count: int) -> int:
  if global_batch_size <= 0 or global_batch_size % shard_count:
    raise ValueError(f'Global batch size {global_batch_size} must be a positive'
                     f' multiple of the process count {shard_count}.')
  return global_batch_size // shard_count


def train_iterator(
    dataset: str | os.PathLike[str],
    *,
    global_batch_size: int,
    seed: int,
    split: str = 'train',
    data_dir: str | os.PathLike[str] | None = None,
    image_size: int | None = None,
    crop_area_range: tuple[float, float] | None = None,
    random_flip: bool = False,
    num_epochs: int | None = None,
    worker_count: int = 0,
    shard_index: int | None = None,
    shard_count: int | None = None,
) -> DataIterator:
  """An infinite, shuffled, augmented, checkpointable training iterator.

  Each process reads its own shard of the split (grain sharding by
  jax.process_index() of jax.process_count(); pass shard_index/shard_count to
  override) and yields per-process batches
  {'image': float32 [B, S, S, 3] in [0, 1], 'label': int32 [B]} with
  B = global_batch_size / process count and S = image_size (or the stored
  size). Records are reshuffled every epoch; the order and the augmentation are
  a pure function of `seed`. Incomplete final batches never occur.

  Args:
    dataset: dataset directory or TFDS name (see `open_split`).
    global_batch_size: batch size summed over all processes.
    seed: shuffling and augmentation seed.
    split: split to read.
    data_dir: TFDS data_dir for a dataset given by name.
    image_size: output side S; images are resized (Lanczos) to it.
    crop_area_range: if set, (min, max) fraction of the image area covered by a
      random square crop (position and area uniform) that is then resized to S;
      otherwise the centre square is used.
    random_flip: flip horizontally with probability 1/2.
    num_epochs: None (default) for infinite; otherwise stop after this many.
    worker_count: grain worker processes (0 = read in this process with
      threads). A saved state only restores into the same worker_count.
    shard_index: this process's shard (default jax.process_index()).
    shard_count: number of shards (default jax.process_count()).

  Returns:
    A grain DataLoaderIterator: `next(it)` -> batch; `it.get_state()` -> bytes;
    `it.set_state(state)` resumes exactly after the batch the state was taken
    at.
  """
  source = open_split(dataset, split, data_dir=data_dir)
  shard = _shard_options(shard_index, shard_count, drop_remainder=True)
  batch = _local_batch_size(global_batch_size, shard.shard_count)
  if len(source) // shard.shard_count < batch:
    raise ValueError(f'Split {split!r} has {len(source)} records, fewer than '
                     f'one batch of {batch} per each of {shard.shard_count} '
                     'processes.')
  sampler = grain.samplers.IndexSampler(
      num_records=len(source), shard_options=shard, shuffle=True,
      num_epochs=num_epochs, seed=seed)
  opts = _Augment(image_size, crop_area_range, random_flip)
  loader = grain.DataLoader(
      data_source=source, sampler=sampler,
      operations=[_TrainTransform(opts),
                  grain.transforms.Batch(batch, drop_remainder=True)],
      worker_count=worker_count)
  return iter(loader)


def eval_iterator(
    dataset: str | os.PathLike[str],
    *,
    global_batch_size: int,
    split: str = 'test',
    data_dir: str | os.PathLike[str] | None = None,
    image_size: int | None = None,
    drop_remainder: bool = False,
    shard_index: int | None = None,
    shard_count: int | None = None,
) -> Iterator[Batch]:
  """One deterministic pass over a split: no shuffle, no augmentation.

  Records come in their on-disk order (for datasets written by this package:
  TFDS's order by key hash, so any prefix mixes classes), split between
  processes. Batches are {'image': float32 [B, S, S, 3], 'label': int32 [B]};
  with drop_remainder=False the last batch may be smaller than B.

  Args:
    dataset: dataset directory or TFDS name (see `open_split`).
    global_batch_size: batch size summed over all processes.
    split: split to read.
    data_dir: TFDS data_dir for a dataset given by name.
    image_size: output side S (centre square crop, Lanczos resize).
    drop_remainder: drop the incomplete last batch (and the records that do not
      divide evenly between processes); otherwise every record is seen once.
    shard_index: this process's shard (default jax.process_index()).
    shard_count: number of shards (default jax.process_count()).

  Returns:
    A fresh iterator over the split, the same on every call.
  """
  source = open_split(dataset, split, data_dir=data_dir)
  shard = _shard_options(shard_index, shard_count,
                         drop_remainder=drop_remainder)
  batch = _local_batch_size(global_batch_size, shard.shard_count)
  sampler = grain.samplers.SequentialSampler(
      num_records=len(source), shard_options=shard)
  loader = grain.DataLoader(
      data_source=source, sampler=sampler,
      operations=[_EvalTransform(image_size),
                  grain.transforms.Batch(batch, drop_remainder=drop_remainder)],
      worker_count=0)
  return iter(loader)
