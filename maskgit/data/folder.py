r"""Prepares a folder of images as a TFDS array_record dataset (no TensorFlow).

The dataset is written with TFDS's own builder machinery
(`tfds.core.GeneratorBasedBuilder`, file_format='array_record'), so it is read
back with `tfds.builder_from_directory(dir).as_data_source(split)` or
`tfds.data_source(name, data_dir=out_dir)`, and by `maskgit.data.pipeline`,
without importing TensorFlow. Writing does not need TensorFlow either: images
are PNG-encoded with PIL before they reach TFDS, so TFDS never calls
`tf.image.encode_png` (TFDS 4.9.10 does need the small `importlib_resources`
package at build time, see `write_dataset`).

On-disk layout (`<out_dir>/<name>/<version>/`):

  dataset_info.json                    TFDS metadata: splits, counts, etc.
  features.json                        feature spec: image, label, id
  <name>-train.array_record-00000-of-0000N
  <name>-test.array_record-00000-of-0000N

Each record holds
  image: uint8 [R, R, 3], PNG-encoded on disk, R = the configured resolution;
  label: int64 class index (ClassLabel, names stored in the metadata);
  id:    str, the image's path relative to the source folder (posix form).

Command line:
  python -m maskgit.data.folder --src=DIR --out_dir=TFDS_DIR --name=my_images \
      --resolution=256

Split: a record goes to 'test' when a stable hash (SHA-256) of its id falls in
the first `test_fraction` of the hash range, else to 'train'; so the split of a
file never depends on which other files exist, or on the machine.
"""

from __future__ import annotations

import collections
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
import concurrent.futures
import hashlib
import io
import itertools
import logging
import os
import pathlib
import shutil
import tempfile
from typing import Any

from absl import flags
import numpy as np
from PIL import Image
from PIL import ImageOps
import tensorflow_datasets as tfds

from maskgit import image_io
from maskgit.data import builder_cli

# Extensions (lower case) that count as images when scanning a folder.
IMAGE_EXTENSIONS = ('.png', '.jpg', '.jpeg', '.bmp', '.gif', '.webp', '.tif',
                    '.tiff')

DEFAULT_VERSION = '1.0.0'

# A key and the example dict that TFDS's writer consumes.
KeyExample = tuple[str, dict[str, Any]]

_log = logging.getLogger(__name__)


def hash_unit(key: str) -> float:
  """A number in [0, 1) from `key` (sha256), stable across machines."""
  digest = hashlib.sha256(key.encode('utf-8')).digest()
  return int.from_bytes(digest[:8], 'big') / 2.0**64


def split_for_key(key: str, test_fraction: float = 0.1) -> str:
  """Returns 'test' or 'train' for `key`, stable across runs and machines.

  Args:
    key: the example's id, e.g. a relative file path.
    test_fraction: fraction of the hash range that goes to 'test', in [0, 1].
  """
  if not 0.0 <= test_fraction <= 1.0:
    raise ValueError(f'test_fraction must be in [0, 1], got {test_fraction}.')
  return 'test' if hash_unit(key) < test_fraction else 'train'


def to_square_rgb(image: Image.Image, resolution: int) -> np.ndarray:
  """Converts any PIL image to a centre-cropped square RGB array.

  EXIF orientation is applied, then the mode conversion of
  `maskgit.image_io.to_float_rgb` (transparency composited on white,
  greyscale replicated, 16-bit scaled from 65535, float clipped to [0, 1]).
  The shorter side is scaled to `resolution` with an antialiasing (Lanczos)
  filter and the longer side is centre-cropped.

  Args:
    image: a PIL image in any mode.
    resolution: output side length R in pixels.

  Returns:
    uint8 array [R, R, 3].
  """
  image = image_io.upright(image)
  image = Image.fromarray(image_io.to_uint8(image_io.to_float_rgb(image)))
  image = ImageOps.fit(image, (resolution, resolution),
                       method=Image.Resampling.LANCZOS, centering=(0.5, 0.5))
  return np.asarray(image, dtype=np.uint8)


def encode_png(image: np.ndarray) -> bytes:
  """PNG-encodes a uint8 [H, W, 3] array with PIL (no TensorFlow)."""
  buf = io.BytesIO()
  Image.fromarray(image).save(buf, format='PNG')
  return buf.getvalue()


def dataset_features(resolution: int,
                     class_names: Sequence[str]) -> tfds.features.FeaturesDict:
  """The feature spec shared by every dataset this package writes."""
  return tfds.features.FeaturesDict({
      'image': tfds.features.Image(
          shape=(resolution, resolution, 3), dtype=np.uint8,
          encoding_format='png'),
      'label': tfds.features.ClassLabel(names=list(class_names)),
      'id': tfds.features.Text(),
  })


class _GeneratorBuilder(tfds.core.GeneratorBasedBuilder,
                        skip_registration=True):
  """A TFDS builder fed by Python generators, one per split.

  Like `tfds.dataset_builders.AdhocBuilder`, but that one checks
  `isinstance(x, tf.data.Dataset)` and so imports TensorFlow.
  """

  VERSION = tfds.core.Version(DEFAULT_VERSION)

  def __init__(self, *, name: str, version: str,
               features: tfds.features.FeaturesDict,
               split_generators: Mapping[str,
                                         Callable[[], Iterable[KeyExample]]],
               description: str, **kwargs: Any):
    self.name = name
    self.VERSION = tfds.core.Version(version)  # pylint: disable=invalid-name
    self._features = features
    self._split_fns = split_generators
    self._description = description
    super().__init__(version=version, **kwargs)

  def _info(self) -> tfds.core.DatasetInfo:
    return tfds.core.DatasetInfo(
        builder=self, description=self._description, features=self._features)

  def _split_generators(self, dl_manager):
    del dl_manager
    return {split: fn() for split, fn in self._split_fns.items()}

  def _generate_examples(self, **kwargs):
    raise NotImplementedError  # Never called: _split_generators yields data.


def write_dataset(
    out_dir: str | os.PathLike[str],
    name: str,
    split_examples: Mapping[str, Callable[[], Iterable[KeyExample]]
                            | Sequence[KeyExample]],
    *,
    resolution: int,
    class_names: Sequence[str],
    description: str = '',
    version: str = DEFAULT_VERSION,
    overwrite: bool = False,
) -> pathlib.Path:
  """Writes examples as a TFDS array_record dataset; the shared writer.

  Args:
    out_dir: TFDS data_dir; the dataset lands in `<out_dir>/<name>/<version>`.
    name: dataset name (a valid Python identifier, lower case by convention).
    split_examples: split name -> a sequence of (key, example) pairs, or a
      callable returning an iterable of them. Each example is {'image': uint8 [R, R, 3] array or
      PNG bytes, 'label': int, 'id': str}; keys must be unique within a split.
      A split whose iterable is empty is dropped (TFDS cannot write it).
    resolution: R, the side of every image.
    class_names: names of the labels, index = label.
    description: free text stored in dataset_info.json.
    version: dataset version string 'X.Y.Z'.
    overwrite: replace an existing dataset at the same path; otherwise a
      FileExistsError is raised.

  Returns:
    The dataset directory `<out_dir>/<name>/<version>`, which
    `maskgit.data.pipeline` and `tfds.builder_from_directory` accept.
  """
  out_dir = pathlib.Path(out_dir).expanduser().resolve()
  dataset_dir = out_dir / name / version
  if dataset_dir.exists():
    if not overwrite:
      raise FileExistsError(
          f'Dataset already exists at {dataset_dir}; pass overwrite=True '
          '(--overwrite) to replace it.')
    shutil.rmtree(dataset_dir)

  def _encoded(fn: Callable[[], Iterable[KeyExample]]):
    def gen() -> Iterator[KeyExample]:
      for key, ex in fn():
        image = ex['image']
        if isinstance(image, np.ndarray):
          want = (resolution, resolution, 3)
          if image.shape != want or image.dtype != np.uint8:
            raise ValueError(f'{key}: image must be uint8 {want}, got '
                             f'{image.dtype} {image.shape}.')
          # Encoding here with PIL keeps TFDS from calling tf.image.encode_png.
          image = encode_png(image)
        yield key, {'image': image, 'label': int(ex['label']),
                    'id': str(ex['id'])}
    return gen

  # TFDS fails on a split without examples, so peek at each split first
  # (lazily: the rest of each iterable is consumed only while writing).
  split_fns = {}
  for split, fn in split_examples.items():
    if not callable(fn):
      fn = lambda xs=fn: xs  # A ready list of examples.
    it = iter(fn())
    first = next(it, None)
    if first is None:
      _log.warning('Split %r of dataset %r has no examples; not written.',
                   split, name)
      continue
    split_fns[split] = _encoded(
        lambda first=first, it=it: itertools.chain([first], it))
  if not split_fns:
    raise ValueError(f'No examples to write for dataset {name!r}.')

  builder = _GeneratorBuilder(
      name=name, version=version,
      features=dataset_features(resolution, class_names),
      split_generators=split_fns,
      description=description, data_dir=str(out_dir),
      file_format='array_record')
  # TFDS creates a downloads/ folder even with nothing to download; keep it out
  # of the user's data_dir.
  with tempfile.TemporaryDirectory() as tmp:
    builder.download_and_prepare(download_dir=tmp)
  return dataset_dir


def _is_image_file(path: pathlib.Path) -> bool:
  return (path.is_file() and path.suffix.lower() in IMAGE_EXTENSIONS and
          not path.name.startswith('.'))


def _images_under(folder: pathlib.Path) -> list[pathlib.Path]:
  """Image files under `folder` (recursive, hidden entries skipped), sorted."""
  found = []
  for root, dirs, files in os.walk(folder, followlinks=True):
    dirs[:] = sorted(d for d in dirs if not d.startswith('.'))
    for f in files:
      p = pathlib.Path(root) / f
      if _is_image_file(p):
        found.append(p)
  return sorted(found)


def scan_folder(src_dir: str | os.PathLike[str]
                ) -> tuple[list[tuple[str, int]], list[str]]:
  """Lists the images of a folder and their labels.

  Two layouts are accepted:
    * class sub-folders: `src/<class>/**/<image>`; label = index of <class> in
      the sorted list of sub-folders that contain at least one image (searched
      recursively); images directly in `src` are then an error;
    * flat: images directly in `src` (and no sub-folder holds images); every
      label is 0 and the single class is named after the folder.

  Args:
    src_dir: the folder to scan.

  Returns:
    (files, class_names): files is a sorted list of (relative posix path,
    label); class_names[label] is the class's name.

  Raises:
    FileNotFoundError: `src_dir` does not exist or is not a directory.
    ValueError: no image files, or images both at the top level and in
      sub-folders.
  """
  src = pathlib.Path(src_dir).expanduser()
  if not src.is_dir():
    raise FileNotFoundError(
        f'Image folder not found (or not a directory): {src}')
  top = sorted(p for p in src.iterdir() if _is_image_file(p))
  subdirs = sorted(p for p in src.iterdir()
                   if p.is_dir() and not p.name.startswith('.'))
  per_class = {d.name: _images_under(d) for d in subdirs}
  per_class = {k: v for k, v in per_class.items() if v}
  if top and per_class:
    raise ValueError(
        f'{src} has images both at the top level ({len(top)}) and in '
        f'sub-folders {sorted(per_class)}; use either a flat folder or one '
        'sub-folder per class.')
  if per_class:
    class_names = sorted(per_class)
    files = [(p.relative_to(src).as_posix(), label)
             for label, c in enumerate(class_names) for p in per_class[c]]
  elif top:
    class_names = [src.resolve().name or 'images']
    files = [(p.relative_to(src).as_posix(), 0) for p in top]
  else:
    raise ValueError(
        f'No image files ({", ".join(IMAGE_EXTENSIONS)}) found in {src}.')
  return sorted(files), class_names


def build_folder_dataset(
    src_dir: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    *,
    name: str = 'image_folder',
    resolution: int = 256,
    test_fraction: float = 0.1,
    version: str = DEFAULT_VERSION,
    overwrite: bool = False,
    strict: bool = False,
    num_workers: int | None = None,
) -> pathlib.Path:
  """Prepares a folder of images as a TFDS array_record dataset.

  See `scan_folder` for the accepted layouts and labels and the module
  docstring for what a record holds and how files are split.

  Unreadable files: with strict=False (default) a file that PIL cannot decode
  is skipped, logged with a warning, and counted (the total is logged at the
  end); if no file could be read, a ValueError is raised. With strict=True the
  first unreadable file raises a ValueError naming it.

  Args:
    src_dir: folder of images (flat or class sub-folders).
    out_dir: TFDS data_dir to write into.
    name: dataset name; the dataset lands in `<out_dir>/<name>/<version>`.
    resolution: side R of the square uint8 [R, R, 3] images stored.
    test_fraction: fraction of files (by hash of the relative path) in 'test'.
    version: dataset version 'X.Y.Z'.
    overwrite: replace an existing dataset at the same path.
    strict: raise on an unreadable file instead of skipping it.
    num_workers: threads decoding/resizing images (default: CPU count).

  Returns:
    The dataset directory `<out_dir>/<name>/<version>`.
  """
  src = pathlib.Path(src_dir).expanduser()
  files, class_names = scan_folder(src)
  by_split: dict[str, list[tuple[str, int]]] = collections.defaultdict(list)
  for rel, label in files:
    by_split[split_for_key(rel, test_fraction)].append((rel, label))
  skipped: list[str] = []
  workers = num_workers or os.cpu_count() or 1

  def load(item: tuple[str, int]) -> KeyExample | None:
    rel, label = item
    try:
      with Image.open(src / rel) as im:
        image = to_square_rgb(im, resolution)
    except (OSError, ValueError, Image.DecompressionBombError) as e:
      if strict:
        raise ValueError(f'Cannot read image {src / rel}: {e}') from e
      _log.warning('Skipping unreadable image %s: %s', src / rel, e)
      skipped.append(rel)
      return None
    return rel, {'image': image, 'label': label, 'id': rel}

  def examples(items: list[tuple[str, int]]
               ) -> Callable[[], Iterator[KeyExample]]:
    def gen() -> Iterator[KeyExample]:
      # Threads: PIL releases the GIL while decoding and resizing. Chunks
      # bound the decoded images held in memory (pool.map submits eagerly).
      chunk = 64 * workers
      with concurrent.futures.ThreadPoolExecutor(workers) as pool:
        for start in range(0, len(items), chunk):
          for ex in pool.map(load, items[start:start + chunk]):
            if ex is not None:
              yield ex
    return gen

  splits = {s: examples(items) for s, items in sorted(by_split.items())}
  try:
    dataset_dir = write_dataset(
        out_dir, name, splits, resolution=resolution, class_names=class_names,
        description=(f'Images from {src.resolve()} at {resolution}x'
                     f'{resolution}, test_fraction={test_fraction}.'),
        version=version, overwrite=overwrite)
  except ValueError:
    if len(skipped) == len(files):
      raise ValueError(f'None of the {len(files)} image files in {src} could '
                       'be read.') from None
    raise
  if skipped:
    _log.warning('Skipped %d unreadable image(s) of %d in %s.', len(skipped),
                 len(files), src)
  return dataset_dir


def _define_flags() -> None:
  flags.DEFINE_string('src', None, 'Folder of images (flat or per class).')
  flags.DEFINE_string('name', 'image_folder', 'Dataset name.')
  flags.DEFINE_bool('strict', False, 'Fail on an unreadable image.')


def _build(f) -> str:
  path = build_folder_dataset(
      f.src, f.out_dir, name=f.name, resolution=f.resolution,
      test_fraction=f.test_fraction, overwrite=f.overwrite, strict=f.strict)
  builder = tfds.builder_from_directory(str(path))
  return '\n'.join([f'Wrote {path}'] + [
      f'  {split}: {info.num_examples} images'
      for split, info in sorted(builder.info.splits.items())])


def main() -> None:
  """Command-line entry point: python -m maskgit.data.folder --src=DIR ..."""
  builder_cli.main(_build, _define_flags, resolution=256,
                   required=('src', 'out_dir'))


if __name__ == '__main__':
  main()
