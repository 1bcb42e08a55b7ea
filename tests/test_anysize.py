"""Images of any size and outpainting (maskgit_edit/anysize.py), tiny model."""

import json
import os
import subprocess
import sys
import time

import numpy as np
from PIL import Image
import pytest
from scipy import ndimage

from configs import edit as edit_config
from maskgit_edit import anysize
from maskgit_edit import batch
from maskgit_edit import editor as editor_lib
from maskgit_edit.batch import loop

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
S = 32  # The tiny preset's image size.
FEATHER = 3


@pytest.fixture(scope="module")
def editor(tiny_model):
  return editor_lib.Editor(tiny_model)


@pytest.fixture(scope="module")
def opts():
  return editor_lib.EditOptions(method="sdedit", num_iter=4, start_iter=1,
                                feather=FEATHER).validate()


class _Spy:
  """Counts the editor calls (and their batch sizes) of a wrapped editor."""

  def __init__(self, ed):
    self._ed, self.calls = ed, []

  def __getattr__(self, name):
    return getattr(self._ed, name)

  def edit(self, images, *args, **kwargs):
    self.calls.append(len(images))
    return self._ed.edit(images, *args, **kwargs)


def _image(h, w, seed=0):
  return np.random.default_rng(seed).random((h, w, 3)).astype(np.float32)


def _far(e, radius=FEATHER):
  return ndimage.distance_transform_edt(~e) > radius


def test_wide_image_native_window(editor, opts):
  img = _image(48, 80)
  guide = img.copy()
  guide[20:24, 40:46] = (1.0, 0.0, 0.0)
  spy = _Spy(editor)
  out = anysize.edit(spy, opts, img, guide, strength=0.5, num_samples=2,
                     context=2)
  assert out.images.shape == (2, 48, 80, 3)
  assert out.layout["mode"] == "native" and len(out.layout["windows"]) == 1
  e = out.pixel_mask
  assert e.sum() == 24 and e[20:24, 40:46].all()
  far = _far(e)
  for s in out.images:
    assert np.array_equal(s[far], img[far])
    assert not np.array_equal(s[e], img[e])  # Something was edited.
  assert np.all(out.weights[far] == 0) and np.all(out.weights[e] == 1)
  w = out.layout["windows"][0]
  assert w["height"] == w["width"] == S
  assert w["top"] <= 20 and w["top"] + S >= 24
  assert w["left"] <= 40 and w["left"] + S >= 46
  assert spy.calls == [8]  # One batch (padded to batch_size).


def test_two_strokes_two_windows_one_batch(editor, opts):
  img = _image(40, 120, seed=1)
  guide = img.copy()
  guide[5:9, 4:10] = (1.0, 0.0, 0.0)
  guide[30:34, 100:112] = (0.0, 0.0, 1.0)
  spy = _Spy(editor)
  out = anysize.edit(spy, opts, img, guide, strength=0.5, num_samples=1,
                     batch_size=2, context=2)
  wins = out.layout["windows"]
  assert len(wins) == 2 and spy.calls == [2]  # Both windows, one call.
  e = out.pixel_mask
  covered = np.zeros_like(e)
  for w in wins:
    covered[w["top"]:w["top"] + w["height"],
            w["left"]:w["left"] + w["width"]] = True
  assert covered[e].all()  # The windows cover E.
  far = _far(e)
  assert np.array_equal(out.images[0][far], img[far])
  assert not np.array_equal(out.images[0][5:9, 4:10], img[5:9, 4:10])
  assert not np.array_equal(out.images[0][30:34, 100:112],
                            img[30:34, 100:112])


def test_plan_partitions_e_with_disjoint_bands():
  e = np.zeros((70, 90), bool)
  e[2:4, 2:5] = True
  e[2:4, 9:12] = True     # Close to the first: bands touch, one cluster.
  e[60:66, 80:88] = True  # Far: its own window.
  planned = anysize.plan(e, S, feather=4, context=0)
  masks = []
  for w, crop in planned:  # Each cluster's mask lies in its window.
    full = np.zeros_like(e)
    full[w.top:w.top + w.height, w.left:w.left + w.width] = crop
    masks.append(full)
  assert np.array_equal(np.sum(masks, 0), e.astype(int))  # A partition.
  assert len(planned) == 2
  bands = [anysize.compositing.feather_mask(m, 4) > 0 for m in masks]
  assert not (bands[0] & bands[1]).any()


def test_plan_many_strokes_is_fast_and_partitions_e():
  e = np.zeros((512, 512), bool)
  e[::20, ::20] = True  # 676 specks, bands apart: merged into windows.
  t0 = time.perf_counter()
  planned = anysize.plan(e, 64, feather=8, context=8)
  assert time.perf_counter() - t0 < 5.0  # Was 16 s with pairwise merging.
  covered = np.zeros(e.shape, int)
  for w, crop in planned:
    assert w.mode == "native" and crop.any()
    covered[w.top:w.top + w.height, w.left:w.left + w.width] += crop
  assert np.array_equal(covered, e.astype(int))


def test_large_edit_downscaled_window(editor, opts):
  img = _image(60, 100, seed=2)
  guide = img.copy()
  guide[10:50, 10:90] = (0.0, 1.0, 0.0)  # Larger than one 32 px window.
  out = anysize.edit(editor, opts, img, guide, strength=0.5, num_samples=1,
                     context=2)
  assert out.layout["mode"] == "downscaled"
  (w,) = out.layout["windows"]
  assert w["side"] > S
  assert out.images.shape == (1, 60, 100, 3)
  far = _far(out.pixel_mask)
  assert far.any() and np.array_equal(out.images[0][far], img[far])


def test_model_size_image_same_as_the_editor(editor, opts):
  img = _image(S, S, seed=3)
  guide = img.copy()
  guide[4:10, 3:20] = (1.0, 0.0, 0.0)
  a = anysize.edit(editor, opts, img, guide, strength=0.5, seed=5,
                   num_samples=2)
  b = editor.edit(img, guide, strength=0.5, seed=5, num_samples=2,
                  options=opts)
  assert np.array_equal(a.images, b.images[0])


def test_small_image_is_padded_and_cropped(editor, opts):
  img = _image(20, 24, seed=4)
  guide = img.copy()
  guide[8:11, 8:12] = 1.0
  out = anysize.edit(editor, opts, img, guide, num_samples=1, context=2)
  assert out.images.shape == (1, 20, 24, 3)
  assert out.layout["padded"] == [S, S]
  far = _far(out.pixel_mask)
  assert np.array_equal(out.images[0][far], img[far])


def test_stream_mixes_sizes_and_keeps_model_size_outputs(editor, opts):
  items = []
  for k, (h, w) in enumerate([(S, S), (40, 64), (S, S)]):
    img = _image(h, w, seed=10 + k)
    g = img.copy()
    g[6:10, 6:12] = (1.0, 0.0, 1.0)
    items.append(loop.EditItem(f"i{k}", img, g, seed=k))
  outs = {o.item.name: o for o in anysize.edit_items(
      editor, opts, items, strength=0.5, num_samples=1, batch_size=4,
      context=2)}
  assert sorted(outs) == ["i0", "i1", "i2"]
  assert outs["i1"].images.shape == (1, 40, 64, 3)
  plain = {o.item.name: o for o in loop.edit_items(
      editor, opts, [items[0], items[2]], strength=0.5, num_samples=1,
      batch_size=4)}
  for name in ("i0", "i2"):
    assert np.array_equal(outs[name].images, plain[name].images)


def test_outpaint_keeps_known_pixels(editor, opts):
  img = _image(S, S, seed=5)
  res = anysize.outpaint(editor, opts, np.stack([img, img]),
                         "left:16,right:20,top:5", seed=1)
  assert res.images.shape == (2, S + 5, S + 36, 3)
  assert res.known.sum() == S * S and res.known[5:5 + S, 16:16 + S].all()
  for s in res.images:
    assert np.array_equal(s[5:5 + S, 16:16 + S], img)
  new = ~res.known
  assert np.all(res.weights[new] > 0)  # Every new pixel came from a window.
  assert not np.array_equal(res.images[0][new], res.canvas[new])
  assert len(res.layout["windows"]) >= 2


def test_outpaint_through_edit_items_after_an_edit(editor, opts):
  img = _image(36, 40, seed=6)
  guide = img.copy()
  guide[10:14, 10:16] = (1.0, 1.0, 0.0)
  only = loop.EditItem("only", img, img)  # Nothing painted: outpaint only.
  both = loop.EditItem("both", img, guide)
  outs = {o.item.name: o for o in anysize.edit_items(
      editor, opts, [only, both], strength=0.5, num_samples=2, context=2,
      outpaint="right:24")}
  for name in ("only", "both"):
    o = outs[name]
    assert isinstance(o, anysize.Output), o
    assert o.images.shape == (2, 36, 64, 3)
    assert o.item.image.shape == (36, 64, 3)
    assert o.layout["outpaint"]["sides"] == {"right": 24}
  far = _far(outs["both"].pixel_mask[:, :40])
  for s in outs["both"].images:
    assert np.array_equal(s[:, :40][far], img[far])
  for s in outs["only"].images:
    assert np.array_equal(s[:, :40], img)


@pytest.mark.parametrize("spec,message", [
    ("lft:32", "Unknown outpaint side 'lft'"),
    ("left:-3", "whole number of pixels"),
    ("left:3.5", "whole number of pixels"),
    ("left32", "expected SIDE:PIXELS"),
    ("left:4,left:5", "given twice"),
    ("left:0,top:0", "all 0"),
])
def test_bad_sides_one_clear_error(spec, message):
  with pytest.raises(ValueError, match=message):
    anysize.parse_sides(spec)


def test_bad_inputs_one_clear_error(editor, opts):
  img = _image(40, 50)
  with pytest.raises(ValueError, match="float in"):
    anysize.edit(editor, opts, (img * 255).astype(np.uint8), img)
  with pytest.raises(ValueError, match="one .H, W, 3. image"):
    anysize.edit(editor, opts, img[..., 0], img[..., 0])
  with pytest.raises(ValueError, match="same"):
    anysize.edit(editor, opts, img, img[:30])
  with pytest.raises(ValueError, match="nothing to edit"):
    anysize.edit(editor, opts, img, img)
  with pytest.raises(ValueError, match="at least one side"):
    anysize.outpaint(editor, opts, img, "")


def _write(folder, name, h, w):
  folder.mkdir(parents=True, exist_ok=True)
  a = (np.random.default_rng(0).random((h, w, 3)) * 255).astype(np.uint8)
  g = a.copy()
  g[h // 2:h // 2 + 3, w // 2:w // 2 + 5] = (255, 0, 0)
  Image.fromarray(a).save(folder / f"{name}.png")
  Image.fromarray(g).save(folder / f"{name}.guide.png")
  return a, g


def _config(tmp_path, inputs, **overrides):
  c = edit_config.get_config("tiny")
  c.inputs, c.output_dir = str(inputs), str(tmp_path / "out")
  c.progress, c.compilation_cache = False, ""
  c.num_samples, c.num_iter, c.start_iter = 2, 4, 1
  c.feather, c.window_context = FEATHER, 2
  for k, v in overrides.items():
    c[k] = v
  return c


def test_batch_run_any_size_and_outpaint(tmp_path):
  a, g = _write(tmp_path / "in", "wide", 48, 72)
  c = _config(tmp_path, tmp_path / "in")
  assert batch.run(c) == 0
  d = tmp_path / "out" / "sdedit_s0.500" / "wide"
  rec = json.load(open(d / "record.json"))
  assert rec["size"] == [48, 72] and rec["layout"]["mode"] == "native"
  far = _far((a != g).any(-1))
  for k in range(2):
    s = np.asarray(Image.open(d / f"sample_{k:02d}.png"))
    assert s.shape == (48, 72, 3)
    assert np.array_equal(s[far], a[far])
  c = _config(tmp_path, tmp_path / "in", outpaint="left:8,bottom:4",
              output_dir=str(tmp_path / "out2"))
  assert batch.run(c) == 0
  d = tmp_path / "out2" / "sdedit_s0.500" / "wide"
  s = np.asarray(Image.open(d / "sample_00.png"))
  assert s.shape == (52, 80, 3)
  assert np.array_equal(s[:48, 8:][far], a[far])


def test_cli_bad_outpaint_exits_nonzero(tmp_path):
  _write(tmp_path / "in", "x", 40, 40)
  r = subprocess.run(
      [sys.executable, "sample_edit.py", "--config=configs/edit.py:tiny",
       f"--config.inputs={tmp_path / 'in'}",
       f"--config.output_dir={tmp_path / 'out'}",
       "--config.outpaint=middle:8", "--config.compilation_cache="],
      cwd=ROOT, env={**os.environ, "JAX_PLATFORMS": "cpu", "XLA_FLAGS": ""},
      capture_output=True, text=True)
  assert r.returncode == 1
  assert "Unknown outpaint side 'middle'" in r.stderr
  assert "Traceback" not in r.stderr
  assert not os.path.exists(tmp_path / "out")
