"""Tests for maskgit.data.emoji_sets: offline, with a few fake set images."""

import base64
import dataclasses
import hashlib
import io
import json
import pathlib
import tarfile

import numpy as np
from PIL import Image
from PIL import ImageDraw
import pytest

pytest.importorskip('emoji', reason='pip install emoji')

from maskgit.data import arrays  # pylint: disable=g-import-not-at-top
from maskgit.data import emoji as emoji_lib  # pylint: disable=g-import-not-at-top
from maskgit.data import emoji_sets  # pylint: disable=g-import-not-at-top
from maskgit.data import folder  # pylint: disable=g-import-not-at-top

# A small emoji-test.txt: (code points, group) of fully-qualified emoji.
_EMOJI = (
    ('1F600', 'Smileys & Emotion'), ('1F431', 'Animals & Nature'),
    ('1F436', 'Animals & Nature'), ('1F34E', 'Food & Drink'),
    ('1F697', 'Travel & Places'), ('1F680', 'Travel & Places'),
    ('26BD', 'Activities'), ('1F3B8', 'Objects'), ('1F4A1', 'Objects'),
    ('2764 FE0F', 'Symbols'), ('1F1EB 1F1F7', 'Flags'),
    ('1F44D', 'People & Body'),
)


def _emoji_test(tmp_path: pathlib.Path) -> pathlib.Path:
  lines = ['# Version: 15.0']
  for group in dict.fromkeys(g for _, g in _EMOJI):
    lines.append(f'# group: {group}')
    for codes, g in _EMOJI:
      if g == group:
        lines.append(f'{codes} ; fully-qualified # x E1.0 name')
  path = tmp_path / 'emoji-test.txt'
  path.write_text('\n'.join(lines) + '\n', encoding='utf-8')
  return path


def _fake_image(color, size=32, transparent=False) -> Image.Image:
  im = Image.new('RGBA', (size, size), (0, 0, 0, 0))
  if not transparent:
    ImageDraw.Draw(im).ellipse((4, 6, size - 4, size - 8), fill=color)
  return im


def _fake_set(root: pathlib.Path, suffix: str, stems, color) -> pathlib.Path:
  root.mkdir(parents=True)
  for stem in stems:
    _fake_image(color).save(root / f'{stem}{suffix}')
  return root


# Twemoji-style names (lower case, fe0f kept) and Fluent-style (fe0f dropped
# for the heart; upper case), plus files that must be skipped.
_TWEMOJI = ['1f600', '1f431', '1f436', '1f34e', '1f697', '1f680', '26bd',
            '2764-fe0f', '1f1eb-1f1f7', 'e000', 'not-hex']
_FLUENT = ['1F600', '1F431', '1f436', '1f3b8', '1f4a1', '2764', '1f44d']


@pytest.fixture(name='fake')
def _fake(tmp_path):
  tw = _fake_set(tmp_path / 'tw', '.png', _TWEMOJI, (30, 120, 220, 255))
  _fake_image(0, transparent=True).save(tw / '1f3b8.png')  # Skipped.
  fl = _fake_set(tmp_path / 'fl', '.webp', _FLUENT, (240, 180, 20, 255))
  # The heart again, with U+FE0F: a duplicate of '2764' (skipped).
  _fake_image((1, 2, 3, 255)).save(fl / '2764-fe0f.webp')
  return dict(emoji_test=_emoji_test(tmp_path), twemoji=tw, fluent3d=fl,
              tmp=tmp_path)


def test_units():
  assert emoji_sets.parse_stem('1F468-200D-1f469') == (0x1f468, 0x200d,
                                                       0x1f469)
  assert emoji_sets.parse_stem('0023-fe0f-20e3') == (0x23, 0xfe0f, 0x20e3)
  assert emoji_sets.parse_stem('flag_x') is None
  assert emoji_sets.match_key((0x2764, 0xfe0f)) == (0x2764,)
  assert emoji_sets.label_for('noto', 3) == 3  # Noto labels = v1 labels.
  assert emoji_sets.label_for('twemoji', 0) == 9
  assert emoji_sets.label_for('openmoji', 8) == emoji_sets.NUM_CLASSES - 1
  names = emoji_sets.class_names()
  assert len(names) == emoji_sets.NUM_CLASSES == 36
  assert names[emoji_sets.label_for('fluent3d', 2)] == (
      'fluent3d/Animals & Nature')
  # The app's labels: v1's 9 groups, the 36 style/group classes, else None.
  assert emoji_sets.class_names_for(9)[8] == 'Flags'
  assert emoji_sets.class_names_for(36) == names
  assert emoji_sets.class_names_for(10) is None
  with pytest.raises(ValueError, match='Unknown emoji set .*choose from'):
    emoji_sets.get_set('apple')
  with pytest.raises(ValueError, match='group must be in'):
    emoji_sets.label_for('noto', 9)
  for s in emoji_sets.SETS[1:]:
    assert s.package and s.version[0].isdigit() and s.licence
    assert s.integrity.startswith('sha512-')
  # OpenMoji (share-alike) is not in the default (shipped) build.
  assert 'openmoji' not in emoji_sets.DEFAULT_SETS


def test_to_square_on_white():
  im = Image.new('RGBA', (40, 20), (0, 0, 0, 0))
  ImageDraw.Draw(im).rectangle((10, 5, 29, 14), fill=(255, 0, 0, 255))
  out = emoji_sets.to_square_on_white(im, 16)
  assert out.shape == (16, 16, 3) and out.dtype == np.uint8
  # Cropped to the 20x10 box, padded to 20x20: red band in the middle rows.
  assert tuple(out[8, 8]) == (255, 0, 0)
  assert tuple(out[0, 8]) == (255, 255, 255)
  with pytest.raises(ValueError, match='transparent'):
    emoji_sets.to_square_on_white(Image.new('RGBA', (8, 8)), 4)


def test_iter_set_matches_and_skips(fake):
  index = emoji_sets.emoji_index(fake['emoji_test'])
  got = list(emoji_sets.iter_set(emoji_sets.get_set('fluent3d'),
                                 fake['fluent3d'], index, resolution=16))
  ids = [info.id for info, _ in got]
  # Fully-qualified ids whatever the file's case or U+FE0F; heart once.
  assert sorted(ids) == sorted(['1f600', '1f431', '1f436', '1f3b8', '1f4a1',
                                '2764-fe0f', '1f44d'])
  assert all(im.shape == (16, 16, 3) for _, im in got)
  tw = list(emoji_sets.iter_set(emoji_sets.get_set('twemoji'),
                                fake['twemoji'], index, resolution=16))
  # 'e000' (no such emoji), 'not-hex' and the transparent guitar skipped.
  assert len(tw) == 9
  assert '1f3b8' not in {info.id for info, _ in tw}


def test_build_splits_by_code_point_across_sets(fake):
  path, counts = emoji_sets.build_sets_dataset(
      fake['tmp'] / 'tfds', sets=('twemoji', 'fluent3d'),
      asset_dirs={'twemoji': fake['twemoji'], 'fluent3d': fake['fluent3d']},
      resolution=16, test_fraction=0.5, emoji_test_path=fake['emoji_test'])
  npz = fake['tmp'] / 'sets.npz'
  arrays.write_npz(path, npz)
  with np.load(npz) as f:
    data = {k: f[k] for k in f.files}
  assert sum(sum(c.values()) for c in counts.values()) == 9 + 7
  split_of = {}
  for split in ('train', 'test'):
    assert data[f'{split}_image'].shape[1:] == (16, 16, 3)
    for key, label in zip(data[f'{split}_id'], data[f'{split}_label']):
      set_name, fq_id = str(key).split('/')
      assert label // emoji_sets.NUM_GROUPS == emoji_sets.SET_NAMES.index(
          set_name)
      # The split is the hash of the code points alone, as in the Noto-only
      # dataset (maskgit.data.emoji), so it agrees across sets.
      assert folder.split_for_key(fq_id, 0.5) == split
      split_of.setdefault(fq_id, set()).add(split)
  assert all(len(s) == 1 for s in split_of.values())
  shared = {'1f600', '1f431', '1f436', '2764-fe0f'}  # In both fake sets.
  assert shared <= set(split_of)
  assert {s for ss in split_of.values() for s in ss} == {'train', 'test'}
  heart = emoji_lib.EMOJI_GROUPS.index('Symbols')
  labels = set(data['train_label'].tolist() + data['test_label'].tolist())
  assert {emoji_sets.label_for('twemoji', heart),
          emoji_sets.label_for('fluent3d', heart)} <= labels
  info = json.loads((path / 'dataset_info.json').read_text())
  assert 'split by emoji code point' in info['description']


def test_build_rejects_bad_sets(fake):
  with pytest.raises(ValueError, match='Unknown emoji set'):
    emoji_sets.build_sets_dataset(fake['tmp'] / 'x', sets=('apple',))
  with pytest.raises(ValueError, match='Repeated set'):
    emoji_sets.build_sets_dataset(fake['tmp'] / 'x',
                                  sets=('twemoji', 'twemoji'))
  with pytest.raises(ValueError, match='No emoji sets'):
    emoji_sets.build_sets_dataset(fake['tmp'] / 'x', sets=())


def _tgz(files: dict[str, bytes]) -> bytes:
  buf = io.BytesIO()
  with tarfile.open(fileobj=buf, mode='w:gz') as tar:
    for name, data in files.items():
      ti = tarfile.TarInfo(name)
      ti.size = len(data)
      tar.addfile(ti, io.BytesIO(data))
  return buf.getvalue()


def test_fetch_set_checks_integrity_and_unpacks(tmp_path):
  png = io.BytesIO()
  _fake_image((9, 9, 9, 255)).save(png, 'PNG')
  blob = _tgz({'package/img/1f600.png': png.getvalue(),
               'package/LICENSE': b'licence', 'package/other.js': b'x'})
  integrity = 'sha512-' + base64.b64encode(
      hashlib.sha512(blob).digest()).decode()
  fake_set = dataclasses.replace(
      emoji_sets.get_set('twemoji'), package='@fake/emoji', version='1.2.3',
      integrity=integrity, asset_dir='package/img')
  cache = tmp_path / 'cache'
  cache.mkdir()
  (cache / 'fake-emoji-1.2.3.tgz').write_bytes(blob)  # No npm call needed.
  assets = emoji_sets.fetch_set(fake_set, cache, npm='/nonexistent/npm')
  assert sorted(p.name for p in assets.iterdir()) == ['1f600.png']
  assert (cache / 'fake-emoji-1.2.3' / 'package' / 'LICENSE').is_file()
  assert not (cache / 'fake-emoji-1.2.3' / 'package' / 'other.js').exists()
  # A tarball that differs from the pin is refused.
  (cache / 'fake-emoji-1.2.3.tgz').write_bytes(blob + b'tampered')
  bad = dataclasses.replace(fake_set, version='1.2.3')
  import shutil  # pylint: disable=g-import-not-at-top
  shutil.rmtree(cache / 'fake-emoji-1.2.3')
  with pytest.raises(ValueError, match='integrity'):
    emoji_sets.fetch_set(bad, cache, npm='/nonexistent/npm')
  with pytest.raises(ValueError, match='not a registry package'):
    emoji_sets.fetch_set(emoji_sets.get_set('noto'), cache)
