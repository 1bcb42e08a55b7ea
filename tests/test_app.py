"""Browser editor handlers (no browser) on the tiny model: the page's flow and
one clear gr.Error per bad input."""

import os

import numpy as np
import pytest

gr = pytest.importorskip("gradio")

from configs import edit as edit_config  # pylint: disable=g-import-not-at-top
from maskgit import image_io  # pylint: disable=g-import-not-at-top
from maskgit_edit import app_ui  # pylint: disable=g-import-not-at-top
from maskgit_edit import editor as editor_lib  # pylint: disable=g-import-not-at-top


@pytest.fixture(scope="module")
def ui(tiny_model, tmp_path_factory):
  config = edit_config.get_config("tiny")
  config.num_iter, config.start_iter, config.feather = 6, 1, 2
  config.num_samples = 2
  return app_ui.App(editor_lib.Editor(tiny_model), config,
                    class_names=["a", "b"],
                    output_dir=str(tmp_path_factory.mktemp("out")))


def _painted(ui, session, rows=slice(8, 12), cols=slice(8, 16)):
  """An editor value: the session image with a red stroke in a layer."""
  k = ui.scale
  bg = ui._up(session.image)  # pylint: disable=protected-access
  layer = np.zeros(bg.shape[:2] + (4,), np.uint8)
  r = slice(rows.start * k, rows.stop * k)
  c = slice(cols.start * k, cols.stop * k)
  layer[r, c] = (255, 0, 0, 255)
  comp = bg.copy()
  comp[r, c] = (255, 0, 0)
  return {"background": bg, "layers": [layer], "composite": comp}


def test_flow_example_edit_keep_undo(ui):
  assert ui.size == 32 and ui.scale == 8
  name = ui.examples[0].name
  session, canvas, gallery, overlay, path, status = ui.load_example(name)
  assert canvas["background"].shape == (256, 256, 3) and gallery == []
  assert overlay is None and os.path.isfile(path) and name in status
  image = session.image
  np.testing.assert_array_equal(image_io.load_image(path), image)
  value = _painted(ui, session)
  session, gallery, over, status = ui.edit(value, "sdedit", 0.5, 2, 0, False,
                                           session)
  assert len(gallery) == 2 and over.shape == (256, 256, 3)
  assert "2 sample(s)" in status
  sample1 = session.last_edit.samples[1]
  # Only pixels near the stroke may change.
  far = np.ones((32, 32), bool)
  far[6:14, 6:18] = False
  np.testing.assert_array_equal(sample1[far], image[far])
  session, canvas, gallery, _, path, _ = ui.keep(1, session)
  np.testing.assert_array_equal(session.image, sample1)
  np.testing.assert_array_equal(canvas["background"], ui._up(sample1))  # pylint: disable=protected-access
  assert gallery == []
  np.testing.assert_array_equal(image_io.load_image(path),
                                image_io.to_uint8(sample1) / np.float32(255))
  session = ui.undo(session)[0]
  np.testing.assert_array_equal(session.image, image)
  session = ui.redo(session)[0]
  np.testing.assert_array_equal(session.image, sample1)


def test_generate_and_upload(ui, tmp_path):
  session = ui.generate(1, 3)[0]
  assert session.label == 1 and session.image.shape == (32, 32, 3)
  good = tmp_path / "ok.png"
  image_io.save_png(str(good), np.full((32, 32, 3), 0.25))
  session = ui.load_upload(str(good), False, 0)[0]
  np.testing.assert_allclose(session.image, 64 / 255, atol=1e-6)
  big = tmp_path / "big.png"
  image_io.save_png(str(big), np.zeros((50, 40, 3)))
  assert ui.load_upload(str(big), True, 0)[0].image.shape == (32, 32, 3)


@pytest.mark.parametrize("case,match", [
    ("not_image", "Cannot read image"),
    ("wrong_size", "Resize uploads"),
    ("no_file", "Choose an image"),
])
def test_bad_upload(ui, tmp_path, case, match):
  path = tmp_path / "x.png"
  if case == "not_image":
    path.write_text("hello")
  elif case == "wrong_size":
    image_io.save_png(str(path), np.zeros((50, 40, 3)))
  with pytest.raises(gr.Error, match=match):
    ui.load_upload(None if case == "no_file" else str(path), False, 0)


def test_bad_edits(ui):
  session = ui.load_example(ui.examples[0].name)[0]
  plain = ui._canvas(session.image)  # pylint: disable=protected-access
  with pytest.raises(gr.Error, match="Nothing painted"):
    ui.edit(plain, "sdedit", 0.5, 1, 0, False, session)
  with pytest.raises(gr.Error, match="first"):
    ui.edit(_painted(ui, session), "sdedit", 0.5, 1, 0, False, None)
  small = {"background": None, "layers": [],
           "composite": np.zeros((100, 90, 4), np.uint8)}
  with pytest.raises(gr.Error, match="canvas is 90x100"):
    ui.edit(small, "sdedit", 0.5, 1, 0, False, session)
  with pytest.raises(gr.Error, match="Unknown method"):
    ui.edit(_painted(ui, session), "nope", 0.5, 1, 0, False, session)
  with pytest.raises(gr.Error, match="selfcond"):  # Model has no hints.
    ui.edit(_painted(ui, session), "selfcond", 0.5, 1, 0, False, session)
  with pytest.raises(gr.Error, match="Nothing to undo"):
    ui.undo(ui.load_example(ui.examples[0].name)[0])
  with pytest.raises(gr.Error, match="No edit"):
    ui.keep(0, session)


def test_page_builds(ui):
  demo = ui.build()
  assert isinstance(demo, gr.Blocks)
