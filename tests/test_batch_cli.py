"""Batch CLI hardening (issue 16): one clear error per bad run or input.

In-process runs of `batch.run` on the tiny random model; inputs that are too
large are PNG headers (a few bytes; never decoded).
"""

import json
import os
import stat
import struct
import zlib

import numpy as np
from PIL import Image
import pytest

from configs import edit as edit_config
from maskgit import image_io
from maskgit_edit import batch
from maskgit_edit import editor as editor_lib

SIZE = 32  # The tiny preset's image size.


def _config(tmp_path, inputs, **overrides):
  c = edit_config.get_config("tiny")
  c.inputs, c.output_dir = str(inputs), str(tmp_path / "out")
  c.progress, c.compilation_cache = False, ""
  c.num_samples, c.num_iter, c.start_iter = 2, 4, 1
  c.method, c.strength = "sdedit", 0.5
  for k, v in overrides.items():
    c[k] = v
  return c


def _write_item(folder, name, size=SIZE, guide_size=None):
  folder.mkdir(parents=True, exist_ok=True)
  a = (np.random.default_rng(0).random((size, size, 3)) * 255).astype(
      np.uint8)
  g = a.copy()
  g[4:10, 3:20] = (255, 0, 0)
  Image.fromarray(a).save(folder / f"{name}.png")
  gs = guide_size or size
  Image.fromarray(g).resize((gs, gs)).save(folder / f"{name}.guide.png")


def _png_header(path, width, height):
  """A 1-bit PNG whose header says width x height; its data is one byte.

  Cheap to write; decoding it would allocate width * height bytes and fail.
  """
  def chunk(kind, data):
    return (struct.pack(">I", len(data)) + kind + data +
            struct.pack(">I", zlib.crc32(kind + data)))
  ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
  path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) +
                   chunk(b"IDAT", zlib.compress(b"\0")) + chunk(b"IEND", b""))


@pytest.mark.parametrize("side,resize,message", [
    (14000, False, "too large"),       # Past PIL's decompression-bomb limit.
    (10000, True, "10000x10000"),      # Past ours: refused before decoding.
    # Any size is edited in windows now: the header passes, and this
    # header-only file fails to decode, in one line.
    (5000, False, "Cannot read image"),
])
def test_huge_image_one_line_before_decoding(tmp_path, capsys, side, resize,
                                             message):
  d = tmp_path / "in"
  d.mkdir()
  _png_header(d / "huge.png", side, side)
  _png_header(d / "huge.guide.png", side, side)
  c = _config(tmp_path, d, resize=resize)
  assert batch.run(c) == 1
  err = capsys.readouterr().err
  assert message in err and "huge.png" in err, err
  assert "Traceback" not in err
  assert not os.path.exists(c.output_dir)


def test_guide_and_mask_must_match_image_even_with_resize(tmp_path):
  _write_item(tmp_path, "a", size=48, guide_size=40)
  item = batch.Item("a", str(tmp_path / "a.png"), str(tmp_path / "a.guide.png"))
  with pytest.raises(batch.ItemError, match="guide is 40x40, image is 48x48"):
    batch.load_item(item, SIZE, resize=True)
  _write_item(tmp_path, "b", size=48)
  Image.fromarray(np.full((40, 40), 255, np.uint8)).save(tmp_path / "m.png")
  item = batch.Item("b", str(tmp_path / "b.png"), str(tmp_path / "b.guide.png"),
                    str(tmp_path / "m.png"))
  with pytest.raises(batch.ItemError, match="mask is 40x40, image is 48x48"):
    batch.load_item(item, SIZE, resize=True)
  Image.fromarray(np.full((48, 48), 255, np.uint8)).save(tmp_path / "m.png")
  image, guide, mask = batch.load_item(item, SIZE, resize=True)
  assert image.shape == guide.shape == (SIZE, SIZE, 3)
  assert mask.shape == (SIZE, SIZE)


def test_bad_checkpoint_fails_once_with_keep_going(tmp_path, capsys):
  for i in range(3):
    _write_item(tmp_path / "in", f"item{i}")
  c = _config(tmp_path, tmp_path / "in", keep_going=True,
              tokenizer_path="/nonexistent/tok",
              transformer_path="/nonexistent/tr")
  with pytest.raises(ValueError, match="not found: /nonexistent/tok"):
    batch.run(c)
  err = capsys.readouterr().err
  assert "Traceback" not in err and "/nonexistent" not in err, err


@pytest.mark.parametrize("keep_going", [False, True])
def test_unwritable_output_dir_fails_before_any_work(tmp_path, capsys,
                                                     monkeypatch, keep_going):
  _write_item(tmp_path / "in", "item0")
  (tmp_path / "file").write_text("not a folder")
  c = _config(tmp_path, tmp_path / "in", keep_going=keep_going,
              output_dir=str(tmp_path / "file" / "out"))
  def no_work(*args, **kwargs):
    raise AssertionError("an item was loaded")
  monkeypatch.setattr(batch.inputs, "load_item", no_work)
  with pytest.raises(OSError, match="Output folder .*file/out"):
    batch.run(c)
  assert "Traceback" not in capsys.readouterr().err


@pytest.mark.parametrize("name", ["missing.jsonl", "missing_folder"])
def test_missing_inputs_say_so(tmp_path, name):
  with pytest.raises(ValueError, match="missing.* do not exist"):
    batch.run(_config(tmp_path, tmp_path / name))


@pytest.mark.parametrize("kind", ["folder", "manifest", "blank_manifest"])
def test_no_inputs_is_an_error(tmp_path, kind):
  inputs = tmp_path / "in"
  if kind == "folder":
    inputs.mkdir()
    (inputs / "notes.txt").write_text("no images here")
  else:
    inputs = tmp_path / "edits.jsonl"
    inputs.write_text("" if kind == "manifest" else "\n  \n")
  with pytest.raises(ValueError, match="No edits found in"):
    batch.run(_config(tmp_path, inputs))


@pytest.mark.parametrize("umask,want", [(0o022, 0o644), (0o077, 0o600)])
def test_outputs_respect_umask(tmp_path, umask, want):
  from maskgit import io_utils  # pylint: disable=g-import-not-at-top
  old = os.umask(umask)
  try:
    image_io.save_png(tmp_path / "a.png", np.zeros((2, 2, 3), np.float32))
    io_utils.write_json(tmp_path / "a.json", {"a": 1})
    io_utils.write_bytes(tmp_path / "a.bin", b"x")
  finally:
    os.umask(old)
  for name in ("a.png", "a.json", "a.bin"):
    assert stat.S_IMODE(os.stat(tmp_path / name).st_mode) == want, name
  assert sorted(os.listdir(tmp_path)) == ["a.bin", "a.json", "a.png"]


def test_atomic_write_failure_leaves_old_file(tmp_path):
  from maskgit import io_utils  # pylint: disable=g-import-not-at-top
  io_utils.write_json(tmp_path / "r.json", {"v": 1})
  with pytest.raises(RuntimeError):
    with io_utils.atomic_write(tmp_path / "r.json", "w") as f:
      f.write("{partial")
      raise RuntimeError("killed")
  assert json.loads((tmp_path / "r.json").read_text()) == {"v": 1}
  assert os.listdir(tmp_path) == ["r.json"]


def test_rerun_cleans_run_folder_and_stale_samples(tmp_path):
  _write_item(tmp_path / "in", "item0")
  c = _config(tmp_path, tmp_path / "in")
  run_dir = tmp_path / "out" / "sdedit_s0.500"
  run_dir.mkdir(parents=True)
  (run_dir / ".tmp-grid.png.1234").write_bytes(b"partial")  # A killed write.
  old = os.umask(0o022)
  try:
    assert batch.run(c) == 0
  finally:
    os.umask(old)
  item = run_dir / "item0"
  assert sorted(os.listdir(run_dir)) == ["grid.png", "item0"]
  for name in os.listdir(item):
    assert stat.S_IMODE(os.stat(item / name).st_mode) == 0o644, name
  c.overwrite, c.num_samples = True, 1
  assert batch.run(c) == 0
  assert sorted(os.listdir(item)) == ["grid.png", "record.json",
                                      "sample_00.png"]
  assert json.loads((item / "record.json").read_text())["samples"] == [
      "sample_00.png"]


def test_api_rejects_integer_images(tiny_model):
  u8 = np.zeros((SIZE, SIZE, 3), np.uint8)
  with pytest.raises(ValueError, match="uint8.*divide by 255"):
    tiny_model.encode(u8)
  guide = u8.copy()
  guide[:8] = 255
  ed = editor_lib.Editor(tiny_model)
  with pytest.raises(ValueError, match="uint8.*divide by 255"):
    ed.edit(u8 / 255.0, guide)  # float image, uint8 guide
  with pytest.raises(ValueError, match="uint8.*divide by 255"):
    ed.edit(u8, guide / 255.0)
  assert tiny_model.encode(u8.astype(np.float32)).shape == (1, 8, 8)


def test_resume_never_mixes_runs_with_other_settings(tmp_path):
  _write_item(tmp_path / "in", "item0")
  c = _config(tmp_path, tmp_path / "in")
  assert batch.run(c) == 0
  record = tmp_path / "out" / "sdedit_s0.500" / "item0" / "record.json"
  before = record.read_text()
  # Settings that do not change outputs: the done item is skipped.
  c.batch_size, c.progress = 3, True
  assert batch.run(c) == 0
  assert record.read_text() == before
  # One that does: a clear error before any work, nothing rewritten.
  c.seed = 1
  with pytest.raises(ValueError, match=r"done with other settings \(seed: 0 "
                     r"-> 1\).*overwrite=True"):
    batch.run(c)
  assert record.read_text() == before
  c.overwrite = True
  assert batch.run(c) == 0
  assert json.loads(record.read_text())["settings"]["seed"] == 1
  # Best-of-N gets its own run folder (no clash with the plain run's).
  c.overwrite, c.rerank.num_candidates = False, 2
  assert batch.run(c) == 0
  assert sorted(os.listdir(tmp_path / "out")) == ["sdedit_rerank2_s0.500",
                                                  "sdedit_s0.500"]
