"""sample_edit.py end to end on the tiny random model (subprocess + in-process)."""

import json
import os
import subprocess
import sys
import time

import numpy as np
from PIL import Image
import pytest

from configs import edit as edit_config
from maskgit_edit import batch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _write_items(folder, n, size=32, seed=0):
  os.makedirs(folder, exist_ok=True)
  rng = np.random.default_rng(seed)
  for i in range(n):
    a = (rng.random((size, size, 3)) * 255).astype(np.uint8)
    g = a.copy()
    g[4 + 2 * i:10 + 2 * i, 3:20] = (255, 0, 0)
    Image.fromarray(a).save(os.path.join(folder, f"item{i}.png"))
    Image.fromarray(g).save(os.path.join(folder, f"item{i}.guide.png"))


def _cmd(inputs, out, cache, *extra):
  return [sys.executable, "sample_edit.py", "--config=configs/edit.py:tiny",
          f"--config.inputs={inputs}", f"--config.output_dir={out}",
          "--config.num_samples=2", "--config.num_iter=4",
          "--config.start_iter=1", f"--config.compilation_cache={cache}",
          "--config.progress=False", *extra]


def _env():
  return {**os.environ, "JAX_PLATFORMS": "cpu", "XLA_FLAGS": ""}


def test_cli_kill_resume_sweep(tmp_path):
  inputs, out, cache = (str(tmp_path / d) for d in ("in", "out", "cache"))
  _write_items(inputs, 4)
  sweep = ["--config.sweep.methods=sdedit,inpaint",
           "--config.sweep.strengths=0.3,0.7"]
  proc = subprocess.Popen(_cmd(inputs, out, cache, *sweep), cwd=ROOT,
                          env=_env(), stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE)
  first = os.path.join(out, "sdedit_s0.300", "item0", "record.json")
  deadline = time.time() + 300  # Start-up + compile on a loaded machine.
  while not os.path.exists(first) and time.time() < deadline:
    time.sleep(0.05)
  proc.kill()
  proc.wait()
  assert os.path.exists(first)
  t_first = os.path.getmtime(first)
  # What a kill during a PNG write leaves behind in an unfinished item.
  stale_dir = os.path.join(out, "inpaint_s1.000", "item3")
  os.makedirs(stale_dir, exist_ok=True)
  open(os.path.join(stale_dir, ".tmp-stale.png"), "wb").close()
  done = subprocess.run(_cmd(inputs, out, cache, *sweep), cwd=ROOT,
                        env=_env(), capture_output=True, text=True)
  assert done.returncode == 0, done.stderr
  assert "skipped" in done.stderr
  assert os.path.getmtime(first) == t_first  # not redone
  runs = ["sdedit_s0.300", "sdedit_s0.700", "inpaint_s1.000"]
  for run in runs:
    for i in range(4):
      d = os.path.join(out, run, f"item{i}")
      names = sorted(os.listdir(d))
      assert names == ["grid.png", "record.json", "sample_00.png",
                       "sample_01.png"], names
      rec = json.load(open(os.path.join(d, "record.json")))
      assert rec["random_weights"] and rec["settings"]["num_iter"] == 4
      assert "seconds_per_item" in rec
      for png in names[:1] + names[2:]:
        Image.open(os.path.join(d, png)).load()
  leftovers = [f for _, _, fs in os.walk(out) for f in fs if ".tmp" in f]
  assert not leftovers
  again = subprocess.run(_cmd(inputs, out, cache, *sweep), cwd=ROOT,
                         env=_env(), capture_output=True, text=True)
  assert again.returncode == 0 and "12 skipped" in again.stderr


@pytest.mark.parametrize("extra,code,msg", [
    (["--config.method=nope"], 1, "Unknown method"),
    (["--config.strength=1.5"], 1, "strength must be in"),
    (["--config.nosuchfield=1"], 2, "bad command line"),
])
def test_cli_bad_settings(tmp_path, extra, code, msg):
  _write_items(str(tmp_path / "in"), 1)
  r = subprocess.run(_cmd(str(tmp_path / "in"), str(tmp_path / "out"), "",
                          *extra), cwd=ROOT, env=_env(), capture_output=True,
                     text=True)
  assert r.returncode == code and msg in r.stderr, r.stderr
  assert not os.path.exists(tmp_path / "out")


def test_bad_items_keep_going(tmp_path, capsys):
  d = tmp_path / "in"
  d.mkdir()
  rng = np.random.default_rng(0)
  a = (rng.random((32, 32, 3)) * 255).astype(np.uint8)
  g = a.copy()
  g[:4] = 0
  Image.fromarray(a).save(d / "size.png")
  Image.fromarray(g[:16]).save(d / "size.guide.png")        # mismatched
  (d / "junk.png").write_text("not an image")                 # unreadable
  Image.fromarray(g).save(d / "junk.guide.png")
  Image.fromarray(a).save(d / "same.png")
  Image.fromarray(a).save(d / "same.guide.png")              # identical
  Image.fromarray(a).save(d / "empty.png")
  Image.fromarray(g).save(d / "empty.guide.png")
  Image.fromarray(np.zeros((32, 32), np.uint8)).save(d / "empty.mask.png")
  Image.fromarray(a).save(d / "big.png")                     # wrong size
  Image.fromarray(np.zeros((64, 64, 3), np.uint8)).save(d / "big.png")
  Image.fromarray(np.zeros((64, 64, 3), np.uint8)).save(d / "big.guide.png")
  Image.fromarray(a).save(d / "orphan.png")                  # no guide
  manifest = tmp_path / "m.jsonl"
  Image.fromarray(a).save(tmp_path / "ok.png")
  Image.fromarray(g).save(tmp_path / "ok.guide.png")
  manifest.write_text(json.dumps(dict(image="ok.png", guide="ok.guide.png",
                                      label=99)) + "\n{broken\n")
  for inputs, n_fail in ((str(d), 6), (str(manifest), 2)):
    c = edit_config.get_config("tiny")
    c.inputs, c.output_dir = inputs, str(tmp_path / "out")
    c.keep_going, c.progress, c.compilation_cache = True, False, ""
    capsys.readouterr()
    assert batch.run(c) == 1
    assert f"{n_fail} failed" in capsys.readouterr().err
    assert not os.path.exists(tmp_path / "out")
  c.keep_going = False
  assert batch.run(c) == 1
  items, errors = batch.discover(str(d))
  assert sorted(i.name for i in items) == ["big", "empty", "junk", "same",
                                           "size"]
  assert len(errors) == 1 and "orphan" in errors[0]


def test_sweep_encodes_each_image_once_with_identical_outputs(
    tmp_path, monkeypatch):
  from maskgit import model as model_lib  # pylint: disable=g-import-not-at-top
  from maskgit_edit import editor as editor_lib  # pylint: disable=g-import-not-at-top
  inputs = str(tmp_path / "in")
  _write_items(inputs, 2)
  calls = []
  encode = model_lib.MaskGIT.encode
  monkeypatch.setattr(model_lib.MaskGIT, "encode",
                      lambda self, x: calls.append(len(x)) or encode(self, x))

  def run(out):
    c = edit_config.get_config("tiny")
    c.inputs, c.output_dir = inputs, str(tmp_path / out)
    c.num_samples, c.num_iter, c.start_iter, c.progress = 2, 4, 1, False
    c.compilation_cache = ""
    c.sweep.methods, c.sweep.strengths = ("sdedit", "self_fixed"), (0.3, 0.7)
    assert batch.run(c) == 0
    return {p.relative_to(tmp_path / out): np.asarray(Image.open(p))
            for p in (tmp_path / out).rglob("sample_*.png")}

  cached = run("cached")
  assert sum(calls) == 2  # Two images, 2 methods x 2 strengths each.
  monkeypatch.setattr(editor_lib, "TOKEN_CACHE_SIZE", 0)  # No cache.
  plain = run("plain")
  assert sum(calls) == 2 + 8
  assert len(cached) == 16 and cached.keys() == plain.keys()
  for k, v in cached.items():
    np.testing.assert_array_equal(v, plain[k], err_msg=str(k))