"""Tests for maskgit.data: folder/emoji builders and the grain pipeline."""

import collections
import os
import sys

import numpy as np
from PIL import Image
import pytest

from maskgit.data import emoji as emoji_data
from maskgit.data import folder
from maskgit.data import pipeline

RES = 16


def _save(path, array):
  path.parent.mkdir(parents=True, exist_ok=True)
  Image.fromarray(array).save(path)  # Mode from shape: L, RGB or RGBA.


@pytest.fixture(scope='module')
def image_folder(tmp_path_factory):
  """Class sub-folders with random PNGs, an RGBA, a greyscale, a broken file."""
  root = tmp_path_factory.mktemp('images')
  rng = np.random.default_rng(0)
  for cls, n in (('cats', 12), ('dogs', 10)):
    for i in range(n):
      h, w = rng.integers(12, 40, size=2)
      _save(root / cls / f'{i}.png',
            rng.integers(0, 256, (h, w, 3), dtype=np.uint8))
  rgba = rng.integers(0, 256, (20, 20, 4), dtype=np.uint8)
  rgba[..., 3] = 0  # Fully transparent: must come out white.
  _save(root / 'dogs' / 'nested' / 'rgba.png', rgba)
  _save(root / 'cats' / 'grey.png',
        rng.integers(0, 256, (24, 18), dtype=np.uint8))
  (root / 'cats' / 'broken.png').write_bytes(b'not a png')
  (root / 'empty_class').mkdir()
  (root / 'cats' / 'notes.txt').write_text('ignored')
  return root


@pytest.fixture(scope='module')
def built(image_folder, tmp_path_factory):
  out = tmp_path_factory.mktemp('tfds')
  path = folder.build_folder_dataset(image_folder, out, name='toy',
                                     resolution=RES, test_fraction=0.3)
  return path


def _read_all(path, split):
  source = pipeline.open_split(path, split)
  return {r['id'].decode(): r for r in (source[i] for i in range(len(source)))}


def test_folder_roundtrip(image_folder, built):
  files, class_names = folder.scan_folder(image_folder)
  assert class_names == ['cats', 'dogs']
  records = {s: _read_all(built, s) for s in ('train', 'test')}
  expected = {rel: label for rel, label in files if rel != 'cats/broken.png'}
  got = {i: (s, int(r['label'])) for s, rs in records.items()
         for i, r in rs.items()}
  # Every readable image once, in the split its hash says, with its label.
  assert got == {rel: (folder.split_for_key(rel, 0.3), label)
                 for rel, label in expected.items()}
  assert records['test'] and records['train']
  for rs in records.values():
    for rel, r in rs.items():
      assert r['image'].dtype == np.uint8 and r['image'].shape == (RES, RES, 3)
      with Image.open(image_folder / rel) as im:
        np.testing.assert_array_equal(r['image'],
                                      folder.to_square_rgb(im, RES))
  everything = {**records['train'], **records['test']}
  assert np.all(everything['dogs/nested/rgba.png']['image'] == 255)
  grey = everything['cats/grey.png']['image']
  assert np.all(grey[..., 0] == grey[..., 1]) and np.all(
      grey[..., 1] == grey[..., 2])
  assert 'tensorflow' not in sys.modules


def test_flat_folder_and_errors(tmp_path):
  flat = tmp_path / 'flat'
  for i in range(3):
    _save(flat / f'{i}.jpg', np.full((8, 10, 3), 40 * i, np.uint8))
  files, names = folder.scan_folder(flat)
  assert [label for _, label in files] == [0, 0, 0] and names == ['flat']

  with pytest.raises(FileNotFoundError, match='not found'):
    folder.build_folder_dataset(tmp_path / 'missing', tmp_path / 'out')
  (tmp_path / 'empty').mkdir()
  with pytest.raises(ValueError, match='No image files'):
    folder.build_folder_dataset(tmp_path / 'empty', tmp_path / 'out')
  _save(flat / 'sub' / 'x.png', np.zeros((4, 4, 3), np.uint8))
  with pytest.raises(ValueError, match='both at the top level'):
    folder.scan_folder(flat)

  bad = tmp_path / 'bad'
  bad.mkdir()
  (bad / 'a.png').write_bytes(b'garbage')
  with pytest.raises(ValueError, match='None of the 1 image files'):
    folder.build_folder_dataset(bad, tmp_path / 'out', name='bad')
  with pytest.raises(ValueError, match='Cannot read image'):
    folder.build_folder_dataset(bad, tmp_path / 'out', name='bad', strict=True)


def test_existing_dataset_needs_overwrite(image_folder, built):
  with pytest.raises(FileExistsError):
    folder.build_folder_dataset(image_folder, built.parent.parent, name='toy',
                                resolution=RES)


def test_split_is_stable_hash():
  # Pinned values: changing the hash would silently reshuffle the splits.
  assert folder.split_for_key('cats/0.png') == 'test'
  assert folder.split_for_key('dogs/1.jpg') == 'train'
  keys = [f'img_{i}.png' for i in range(5000)]
  splits = [folder.split_for_key(k, 0.1) for k in keys]
  assert splits == [folder.split_for_key(k, 0.1) for k in keys]
  assert 0.08 < splits.count('test') / len(keys) < 0.12
  assert all(folder.split_for_key(k, 0.0) == 'train' for k in keys[:100])


def _batches(it, n):
  return [next(it) for _ in range(n)]


def _assert_same(xs, ys):
  assert len(xs) == len(ys)
  for x, y in zip(xs, ys):
    assert x.keys() == y.keys() == {'image', 'label'}
    np.testing.assert_array_equal(x['image'], y['image'])
    np.testing.assert_array_equal(x['label'], y['label'])


def test_train_iterator_deterministic_and_resumable(built):
  kwargs = dict(global_batch_size=4, crop_area_range=(0.5, 1.0),
                random_flip=True, image_size=8)
  it = pipeline.train_iterator(built, seed=7, **kwargs)
  first = _batches(it, 3)
  assert first[0]['image'].shape == (4, 8, 8, 3)
  assert first[0]['image'].dtype == np.float32
  assert first[0]['label'].dtype == np.int32
  assert 0.0 <= first[0]['image'].min() and first[0]['image'].max() <= 1.0
  state = it.get_state()
  # Past the end of the first epoch (~16 train records): infinite.
  rest = _batches(it, 6)

  _assert_same(_batches(pipeline.train_iterator(built, seed=7, **kwargs), 9),
               first + rest)
  resumed = pipeline.train_iterator(built, seed=7, **kwargs)
  resumed.set_state(state)
  _assert_same(_batches(resumed, 6), rest)

  other = _batches(pipeline.train_iterator(built, seed=8, **kwargs), 3)
  assert any(not np.array_equal(a['image'], b['image'])
             for a, b in zip(first, other))


def test_train_iterator_shards_by_process(built):
  n = len(pipeline.open_split(built, 'train'))
  shards = []
  for index in range(2):
    it = pipeline.train_iterator(built, seed=0, global_batch_size=4,
                                 num_epochs=1, shard_index=index,
                                 shard_count=2)
    images = [im.tobytes() for b in it for im in b['image']]
    assert len(images) == n // 2 // 2 * 2  # Whole local batches of 2 only.
    shards.append(set(images))
  assert not shards[0] & shards[1]  # Each process reads its own records.


def test_eval_iterator(built):
  n = len(pipeline.open_split(built, 'train'))
  full = list(pipeline.eval_iterator(built, split='train',
                                     global_batch_size=5))
  assert sum(b['image'].shape[0] for b in full) == n
  assert full[-1]['image'].shape[0] == n % 5 or n % 5 == 0
  _assert_same(full, list(pipeline.eval_iterator(built, split='train',
                                                 global_batch_size=5)))
  dropped = list(pipeline.eval_iterator(built, split='train',
                                        global_batch_size=5,
                                        drop_remainder=True))
  assert len(dropped) == n // 5
  _assert_same(dropped, full[:n // 5])


def test_missing_dataset_errors(built, tmp_path):
  with pytest.raises(FileNotFoundError, match='No prepared dataset'):
    pipeline.train_iterator(tmp_path / 'nope', global_batch_size=2, seed=0)
  with pytest.raises(FileNotFoundError, match='neither a dataset directory'):
    pipeline.eval_iterator('no_such_dataset', data_dir=tmp_path,
                           global_batch_size=2)
  with pytest.raises(ValueError, match="Split 'validation' not in"):
    pipeline.open_split(built, 'validation')


def test_emoji_render_and_build(tmp_path):
  pytest.importorskip('emoji', reason='pip install emoji')
  if not os.path.isfile(emoji_data.FONT_PATH):
    pytest.skip(f'{emoji_data.FONT_PATH} missing '
                '(apt-get install fonts-noto-color-emoji)')
  try:
    emoji_data.find_emoji_test_file()
  except FileNotFoundError as e:
    pytest.skip(str(e))
  rendered = list(emoji_data.iter_rendered(resolution=24, limit=20))
  assert len(rendered) == 20
  for info, image in rendered:
    assert image.shape == (24, 24, 3) and image.dtype == np.uint8
    assert 0 <= info.label < len(emoji_data.EMOJI_GROUPS)
    # White background at the corners, and a visible glyph.
    assert np.all(image[[0, 0, -1, -1], [0, -1, 0, -1]] >= 250)
    assert image.min() < 200
  font = emoji_data.load_font()
  assert emoji_data.render_emoji('\U0001F600\U0001F600', font, 24) is None

  path, counts = emoji_data.build_emoji_dataset(tmp_path, resolution=24,
                                                limit=20)
  assert sum(sum(c.values()) for c in counts.values()) == 20
  for split, counter in counts.items():
    source = pipeline.open_split(path, split)
    assert len(source) == sum(counter.values())
    assert collections.Counter(int(source[i]['label'])
                               for i in range(len(source))) == counter
