"""In-memory .npz datasets: determinism, exact resume, sharding, errors."""

import numpy as np
import pytest

from configs import transformer as transformer_config
from maskgit.data import arrays
from maskgit.training import ConfigError
from maskgit.training import data as data_lib
from maskgit.training import loop


def _arrays(n=10, size=8):
  rng = np.random.default_rng(0)
  images = rng.integers(0, 256, (n, size, size, 3), np.uint8)
  return images, np.arange(n, dtype=np.int32)


def _take(it, k):
  return [next(it) for _ in range(k)]


@pytest.mark.parametrize("crop", [None, (0.5, 1.0)])
def test_deterministic_and_resumable(crop):
  images, labels = _arrays()
  make = lambda: arrays.ArrayIterator(images, labels, global_batch=4, seed=3,
                                      crop_area_range=crop, random_flip=True)
  a, b = make(), make()
  first = _take(a, 5)
  for x, y in zip(first, _take(b, 5)):
    np.testing.assert_array_equal(x["image"], y["image"])
  state = a.get_state()
  after = _take(a, 3)
  c = make()
  c.set_state(state)
  for x, y in zip(after, _take(c, 3)):
    np.testing.assert_array_equal(x["image"], y["image"])
    np.testing.assert_array_equal(x["label"], y["label"])
  assert first[0]["image"].dtype == np.float32
  assert first[0]["image"].shape == (4, 8, 8, 3)
  other = arrays.ArrayIterator(images, labels, global_batch=8, seed=3)
  with pytest.raises(ValueError, match="batch"):
    other.set_state(state)


def test_every_example_once_per_epoch_and_flips():
  images, labels = _arrays(n=12)
  it = arrays.ArrayIterator(images, labels, global_batch=4, seed=0,
                            random_flip=True)
  seen = np.concatenate([b["label"] for b in _take(it, 3)])
  assert sorted(seen.tolist()) == list(range(12))
  flipped = kept = 0
  for b in _take(it, 6):
    for img, lab in zip(b["image"], b["label"]):
      ref = images[lab].astype(np.float32) / 255
      if np.allclose(img, ref):
        kept += 1
      else:
        np.testing.assert_allclose(img, ref[:, ::-1], atol=1e-6)
        flipped += 1
  assert flipped and kept


def test_processes_read_slices_of_the_global_batch():
  images, labels = _arrays()
  whole = next(arrays.ArrayIterator(images, labels, global_batch=4, seed=1))
  parts = [next(arrays.ArrayIterator(images, labels, global_batch=4, seed=1,
                                     process_index=p, process_count=2))
           for p in (0, 1)]
  np.testing.assert_array_equal(
      np.concatenate([p["label"] for p in parts]), whole["label"])


def test_npz_files_and_errors(tmp_path):
  images, labels = _arrays()
  path = tmp_path / "d.npz"
  np.savez(path, train_image=images, train_label=labels,
           test_image=images[:3], test_label=labels[:3])
  got, lab = arrays.load_split(path, "test")
  np.testing.assert_array_equal(got, images[:3])
  with pytest.raises(ValueError, match="Split 'val' not in .*'test', 'train'"):
    arrays.load_split(path, "val")
  with pytest.raises(FileNotFoundError, match="No .npz dataset"):
    arrays.load_split(tmp_path / "missing.npz", "train")
  np.savez(tmp_path / "bad.npz", train_image=images.astype(np.float32),
           train_label=labels)
  with pytest.raises(ValueError, match="must be uint8"):
    arrays.load_split(tmp_path / "bad.npz", "train")
  c = transformer_config.get_config("tiny")
  c.data.source, c.data.dataset = "npz", str(tmp_path / "missing.npz")
  with pytest.raises(ConfigError, match="Dataset problem: No .npz"):
    data_lib.train_iterator(c, 8, 10)


def test_trains_from_npz_and_stops_at_time_limit(tmp_path):
  rng = np.random.default_rng(0)
  images = rng.integers(0, 256, (20, 32, 32, 3), np.uint8)
  labels = rng.integers(0, 10, 20).astype(np.int32)
  path = tmp_path / "d.npz"
  np.savez(path, train_image=images, train_label=labels,
           test_image=images[:8], test_label=labels[:8])
  c = transformer_config.get_config("tiny")
  c.data.source, c.data.dataset = "npz", str(path)
  c.num_steps, c.eval_every, c.sample_every = 50, 0, 0
  c.time_limit_s = 1e-6  # Reached after the first step.
  out = loop.train_and_evaluate(c, str(tmp_path / "run"))
  assert out["stopped"] == "time_limit" and out["step"] == 1
  assert out["export"] and (tmp_path / "run" / "checkpoints" / "1").is_dir()
  batches = list(data_lib.eval_batches(c, 32, 10, 5))
  assert len(batches) == 1 and batches[0]["image"].shape == (8, 32, 32, 3)
