r"""Several openly licensed emoji image sets as one dataset (embedded model v2).

Sets (fixed order: the set's index is part of the label, see below):

  0 noto      Debian fonts-noto-color-emoji (font, rendered)  OFL-1.1/Apache-2.0
  1 twemoji   npm emoji-datasource-twitter@16.0.0 (64 px PNG)  CC-BY-4.0
  2 fluent3d  npm @lobehub/fluent-emoji-3d@1.1.0 (256 px WebP) MIT
  3 openmoji  npm openmoji@17.0.0 (SVG; needs cairosvg)        CC-BY-SA-4.0

`DEFAULT_SETS` = noto, twemoji, fluent3d. OpenMoji is opt-in (`--sets=...,
openmoji`): it is share-alike, and weights trained on it would arguably be
Adapted Material that must then be released under CC BY-SA 4.0 too; the
project ships no weights under share-alike terms, so the shipped model is
trained without it (see NOTICE and docs/model_card.md).

Registry packages are fetched with `npm pack NAME@VERSION` into a cache
directory, checked against the pinned sha512 integrity, and unpacked there;
nothing is fetched when the cache already holds the checked tarball.

Every asset file is named by its code points in hex ('1f468-200d-1f469',
'0023-fe0f-20e3', any case). A file is kept only if it names an emoji of
`maskgit.data.emoji.list_emoji` (the fully-qualified emoji of the `emoji`
package with a Unicode group), matched with U+FE0F ignored; it then takes that
emoji's fully-qualified id, so the same emoji has the same id in every set.
Each asset is composited on white, cropped to its alpha bounding box, padded to
a centred square and resized with Lanczos, like the Noto glyphs.

Label = set_index * 9 + group (group = index into `emoji.EMOJI_GROUPS`; 36
classes). The style is folded into the class token rather than added as a
second condition: the MaskGIT transformer already has exactly one conditioning
token, so a composite label needs no architecture change, keeps the official
checkpoint layout and every sampler/editor API (they take one label), and Noto
labels (set 0) stay 0..8, the labels of the v1 dataset and of examples/.

Split: `folder.split_for_key(fully-qualified id, test_fraction)` - BY EMOJI
CODE POINT, the same key in every set, so a test emoji is unseen in every
style, and the Noto part's split equals the Noto-only dataset's
(`maskgit.data.emoji`). Record id = '<set>/<fully-qualified id>'.

Usage (one command; then the .npz that train.py reads):
  python -m maskgit.data.emoji_sets --out_dir=data/tfds --cache_dir=data/npm
  python -m maskgit.data.arrays --dataset=data/tfds/emoji_sets/1.0.0 \
      --out=data/emoji_sets64.npz
"""

from __future__ import annotations

import base64
import collections
from collections.abc import Iterator, Sequence
import dataclasses
import hashlib
import io
import logging
import os
import pathlib
import shutil
import subprocess
import tarfile
import tempfile

from absl import flags
import numpy as np
from PIL import Image

from maskgit.data import emoji as emoji_lib
from maskgit.data import builder_cli

DATASET_NAME = 'emoji_sets'
NUM_GROUPS = len(emoji_lib.EMOJI_GROUPS)
VARIATION_SELECTOR = 0xFE0F

_log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class EmojiSet:
  """One emoji image set.

  Attributes:
    name: short name used in flags, ids and labels.
    package: npm package name ('' for the Noto font, rendered locally).
    version: exact pinned version.
    integrity: npm 'dist.integrity' of the tarball (sha512, base64).
    asset_dir: directory of the assets inside the unpacked tarball.
    suffix: asset file extension ('.png', '.webp', '.svg').
    licence: SPDX identifier of the images' licence.
    attribution: the notice the licence asks for.
  """
  name: str
  package: str
  version: str
  integrity: str
  asset_dir: str
  suffix: str
  licence: str
  attribution: str


SETS: tuple[EmojiSet, ...] = (
    EmojiSet(
        name='noto', package='', version='fonts-noto-color-emoji (Debian)',
        integrity='', asset_dir='', suffix='', licence='OFL-1.1 / Apache-2.0',
        attribution='Noto Color Emoji, Copyright 2013 Google LLC (SIL Open '
        'Font License 1.1; image resources Apache License 2.0).'),
    EmojiSet(
        name='twemoji', package='emoji-datasource-twitter', version='16.0.0',
        integrity='sha512-7F+uCuHH+7Qnrc15P5tnbvKkg9E6tlzi4MnT2uW1RlN4pLYTza6'
        'cP/dstIfSDMtpjFLWuZewWg8jBbuL2eyELQ==',
        asset_dir='package/img/twitter/64', suffix='.png',
        licence='CC-BY-4.0',
        attribution='Twemoji graphics, Copyright 2019 Twitter, Inc and other '
        'contributors (jdecked/twemoji), licensed under CC-BY 4.0; PNGs as '
        'packaged by emoji-datasource-twitter 16.0.0 (MIT, Cal Henderson). '
        'Modified: cropped, composited on white and resized.'),
    EmojiSet(
        name='fluent3d', package='@lobehub/fluent-emoji-3d', version='1.1.0',
        integrity='sha512-Wlq2lVStTnr8BDpIJ0pEnTKO4LuDxxqTEhTvRtD1DLRF0me7og'
        'eRQjKoehDHXuVJ2Qaecgl5wRBv60lUAG3h7g==',
        asset_dir='package/assets', suffix='.webp', licence='MIT',
        attribution='Fluent Emoji (3D), Copyright (c) Microsoft Corporation, '
        'MIT License; WebP files as packaged by @lobehub/fluent-emoji-3d '
        '1.1.0 (MIT, LobeHub).'),
    EmojiSet(
        name='openmoji', package='openmoji', version='17.0.0',
        integrity='sha512-EBnYrNGdcdw+OSXmENeNE1yBNRu6tOraTmoOyUbJkTmvT/+XETp'
        '8RZLSJFzD3lrPc5N9CzsyPnRTk0Vp4UaI9w==',
        asset_dir='package/color/svg', suffix='.svg', licence='CC-BY-SA-4.0',
        attribution='OpenMoji, the open-source emoji and icon project, '
        'License: CC BY-SA 4.0.'),
)
SET_NAMES = tuple(s.name for s in SETS)
DEFAULT_SETS = ('noto', 'twemoji', 'fluent3d')
NUM_CLASSES = len(SETS) * NUM_GROUPS


def get_set(name: str) -> EmojiSet:
  """The set called `name`; ValueError naming the valid ones otherwise."""
  for s in SETS:
    if s.name == name:
      return s
  raise ValueError(f'Unknown emoji set {name!r}; choose from '
                   f'{", ".join(SET_NAMES)}.')


def class_names() -> tuple[str, ...]:
  """'<set>/<group>' for every label, index = set_index * 9 + group."""
  return tuple(f'{s.name}/{g}' for s in SETS for g in emoji_lib.EMOJI_GROUPS)


def class_names_for(num_classes: int) -> tuple[str, ...] | None:
  """Names of an emoji model's labels: v1's 9 groups, the 36 style/group
  classes, or None (numbers) for any other class count."""
  if num_classes == NUM_GROUPS:
    return tuple(emoji_lib.EMOJI_GROUPS)
  if num_classes == NUM_CLASSES:
    return class_names()
  return None


def label_for(set_name: str, group: int) -> int:
  """Composite label of an emoji of `group` drawn in style `set_name`."""
  if not 0 <= group < NUM_GROUPS:
    raise ValueError(f'group must be in [0, {NUM_GROUPS}), got {group}.')
  return SET_NAMES.index(get_set(set_name).name) * NUM_GROUPS + group


def match_key(codepoints: Sequence[int]) -> tuple[int, ...]:
  """Code points with U+FE0F dropped: the key matching files across sets."""
  return tuple(c for c in codepoints if c != VARIATION_SELECTOR)


def parse_stem(stem: str) -> tuple[int, ...] | None:
  """'1F468-200D-1f469' -> (0x1f468, 0x200d, 0x1f469); None if not hex."""
  try:
    codes = tuple(int(p, 16) for p in stem.replace('_', '-').split('-'))
  except ValueError:
    return None
  if not codes or any(not 0 < c <= 0x10FFFF for c in codes):
    return None
  return codes


def emoji_index(emoji_test_path: str | os.PathLike[str] | None = None
                ) -> dict[tuple[int, ...], emoji_lib.EmojiInfo]:
  """{match_key: EmojiInfo} of every fully-qualified emoji with a group."""
  return {match_key([ord(c) for c in info.text]): info
          for info in emoji_lib.list_emoji(emoji_test_path)}


def _integrity(path: pathlib.Path) -> str:
  digest = hashlib.sha512(path.read_bytes()).digest()
  return 'sha512-' + base64.b64encode(digest).decode('ascii')


def fetch_set(emoji_set: EmojiSet, cache_dir: str | os.PathLike[str],
              npm: str = 'npm') -> pathlib.Path:
  """Fetches (npm pack) and unpacks a registry set; returns its asset dir.

  Args:
    emoji_set: a set with a `package`.
    cache_dir: where '<package>-<version>.tgz' and its unpacked files live.
    npm: the npm executable.

  Raises:
    ValueError: the set has no package, or the tarball's integrity differs
      from the pinned one.
    RuntimeError: npm failed.
  """
  if not emoji_set.package:
    raise ValueError(f'Set {emoji_set.name!r} is not a registry package.')
  cache = pathlib.Path(cache_dir).expanduser().resolve()
  stem = f'{emoji_set.package.lstrip("@").replace("/", "-")}-' \
         f'{emoji_set.version}'
  tgz = cache / f'{stem}.tgz'
  unpacked = cache / stem
  assets = unpacked / emoji_set.asset_dir
  if assets.is_dir() and tgz.is_file():
    return assets
  cache.mkdir(parents=True, exist_ok=True)
  if not tgz.is_file():
    spec = f'{emoji_set.package}@{emoji_set.version}'
    _log.info('npm pack %s -> %s', spec, cache)
    with tempfile.TemporaryDirectory(dir=cache) as tmp:
      proc = subprocess.run(
          [npm, 'pack', spec, '--pack-destination', tmp, '--silent'],
          capture_output=True, text=True, check=False)
      if proc.returncode:
        raise RuntimeError(f'npm pack {spec} failed ({proc.returncode}): '
                           f'{proc.stderr.strip()[-500:]}')
      packed = list(pathlib.Path(tmp).glob('*.tgz'))
      if len(packed) != 1:
        raise RuntimeError(f'npm pack {spec} wrote {packed}, not one .tgz.')
      shutil.move(str(packed[0]), tgz)
  got = _integrity(tgz)
  if got != emoji_set.integrity:
    raise ValueError(f'{tgz}: integrity {got} differs from the pinned '
                     f'{emoji_set.integrity}; delete the file and refetch.')
  if unpacked.exists():
    shutil.rmtree(unpacked)
  prefix = emoji_set.asset_dir.rstrip('/') + '/'
  with tarfile.open(tgz) as tar:
    members = [m for m in tar.getmembers()
               if m.isfile() and (m.name.startswith(prefix) or
                                  m.name in ('package/LICENSE',
                                             'package/package.json'))]
    tar.extractall(unpacked, members=members, filter='data')
  return assets


def to_square_on_white(image: Image.Image, resolution: int) -> np.ndarray:
  """RGBA/RGB image -> uint8 [R, R, 3]: on white, alpha-cropped, squared.

  Raises:
    ValueError: the image is fully transparent.
  """
  rgba = image.convert('RGBA')
  box = rgba.getchannel('A').getbbox()
  if box is None:
    raise ValueError('Image is fully transparent.')
  rgba = rgba.crop(box)
  w, h = rgba.size
  side = max(w, h)
  square = Image.new('RGBA', (side, side), (255, 255, 255, 255))
  square.alpha_composite(rgba, ((side - w) // 2, (side - h) // 2))
  square = square.convert('RGB').resize((resolution, resolution),
                                        Image.Resampling.LANCZOS)
  return np.asarray(square, dtype=np.uint8)


def _open_asset(path: pathlib.Path) -> Image.Image:
  if path.suffix.lower() == '.svg':
    try:
      import cairosvg  # pylint: disable=g-import-not-at-top
    except ImportError as e:
      raise ImportError('SVG sets (openmoji) need `pip install cairosvg` '
                        '(and the system libcairo2).') from e
    png = cairosvg.svg2png(url=str(path), output_width=256,
                           output_height=256)
    return Image.open(io.BytesIO(png))
  return Image.open(path)


def iter_set(emoji_set: EmojiSet, asset_dir: str | os.PathLike[str],
             index: dict[tuple[int, ...], emoji_lib.EmojiInfo],
             resolution: int = 64, limit: int | None = None,
             ) -> Iterator[tuple[emoji_lib.EmojiInfo, np.ndarray]]:
  """Yields (info, uint8 [R, R, 3]) for each asset naming a known emoji.

  Files are read in sorted order; files whose name is not code points, names
  no emoji of `index`, repeats an emoji already read (e.g. with and without
  U+FE0F) or is fully transparent are skipped (counted in the log).
  """
  files = sorted(p for p in pathlib.Path(asset_dir).iterdir()
                 if p.suffix.lower() == emoji_set.suffix)
  seen, skipped, n = set(), collections.Counter(), 0
  for path in files:
    if limit is not None and n >= limit:
      break
    codes = parse_stem(path.stem)
    if codes is None:
      skipped['name'] += 1
      continue
    info = index.get(match_key(codes))
    if info is None:
      skipped['unknown emoji'] += 1
      continue
    if info.id in seen:
      skipped['duplicate'] += 1
      continue
    try:
      image = to_square_on_white(_open_asset(path), resolution)
    except ValueError:
      skipped['transparent'] += 1
      continue
    seen.add(info.id)
    n += 1
    yield info, image
  _log.info('%s: %d images from %d files; skipped %s', emoji_set.name, n,
            len(files), dict(skipped))


def build_sets_dataset(
    out_dir: str | os.PathLike[str],
    *,
    sets: Sequence[str] = DEFAULT_SETS,
    cache_dir: str | os.PathLike[str] = 'data/npm',
    asset_dirs: dict[str, str | os.PathLike[str]] | None = None,
    resolution: int = 64,
    test_fraction: float = 0.1,
    name: str = DATASET_NAME,
    font_path: str | os.PathLike[str] = emoji_lib.FONT_PATH,
    emoji_test_path: str | os.PathLike[str] | None = None,
    limit: int | None = None,
    overwrite: bool = False,
) -> tuple[pathlib.Path, dict[str, collections.Counter[int]]]:
  """Builds the multi-set dataset with `folder.write_dataset`.

  Args:
    out_dir: TFDS data_dir; the dataset lands in `<out_dir>/<name>/1.0.0`.
    sets: names of the sets to include (see `SETS`).
    cache_dir: npm tarball cache (see `fetch_set`).
    asset_dirs: optional {set name: directory of asset files} used instead of
      fetching (tests, offline copies).
    resolution: side R of the stored uint8 [R, R, 3] images.
    test_fraction: fraction of emoji (by hash of the fully-qualified id) in
      'test', the same emoji in every set.
    name: dataset name.
    font_path: the Noto Color Emoji font (set 'noto').
    emoji_test_path: optional emoji-test.txt (see `emoji.find_emoji_test_file`).
    limit: at most this many images per set (tests).
    overwrite: replace an existing dataset.

  Returns:
    (dataset directory, {split: Counter of labels}).
  """
  if not sets:
    raise ValueError('No emoji sets selected.')
  chosen = [get_set(s) for s in sets]
  if len({s.name for s in chosen}) != len(chosen):
    raise ValueError(f'Repeated set in {list(sets)}.')
  asset_dirs = dict(asset_dirs or {})
  index = emoji_index(emoji_test_path)

  def items():
    for s in chosen:
      if s.name == 'noto':
        got = emoji_lib.iter_rendered(resolution, font_path, emoji_test_path,
                                      limit)
      else:
        assets = asset_dirs.get(s.name) or fetch_set(s, cache_dir)
        got = iter_set(s, assets, index, resolution, limit)
      for info, image in got:
        yield (f'{s.name}/{info.id}', info.id, label_for(s.name, info.label),
               image)

  sources = '; '.join(
      f'{s.name}: {s.package or font_path}@{s.version} ({s.licence})'
      for s in chosen)
  return emoji_lib.write_split_dataset(
      out_dir, name, items(), resolution=resolution,
      class_names=class_names(), emoji_test_path=emoji_test_path,
      test_fraction=test_fraction, overwrite=overwrite,
      describe=lambda test: (
          f'Emoji sets [{sources}] at {resolution}x{resolution} on white; '
          f'label = set_index * {NUM_GROUPS} + Unicode emoji group from '
          f'{test}'))


def format_counts(counts: dict[str, collections.Counter[int]]) -> str:
  """Images per split and per set (sets without images left out)."""
  splits = sorted(counts)
  rows = [(s.name, [sum(c for lab, c in counts[sp].items()
                        if lab // NUM_GROUPS == i) for sp in splits])
          for i, s in enumerate(SETS)]
  return builder_cli.count_table('set', [r for r in rows if sum(r[1])],
                                 splits, width=10)


def _define_flags() -> None:
  flags.DEFINE_list('sets', list(DEFAULT_SETS),
                    f'Sets to include, from {", ".join(SET_NAMES)}.')
  flags.DEFINE_string('cache_dir', 'data/npm', 'npm tarball cache.')
  builder_cli.define_emoji_flags('At most this many images per set.')


def _build(f) -> str:
  dataset_dir, counts = build_sets_dataset(
      f.out_dir, sets=f.sets, cache_dir=f.cache_dir,
      resolution=f.resolution, test_fraction=f.test_fraction,
      font_path=f.font, emoji_test_path=f.emoji_test, limit=f.limit,
      overwrite=f.overwrite)
  return f'Wrote {dataset_dir}\n{format_counts(counts)}'


def main() -> None:
  """Command-line entry point: python -m maskgit.data.emoji_sets ..."""
  builder_cli.main(_build, _define_flags, resolution=64)


if __name__ == '__main__':
  main()
