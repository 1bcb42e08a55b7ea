"""Browser editor without a browser, on the tiny model: the actions
(maskgit_edit/app/core.py), the fitting and paste-back of any-size uploads,
and the HTTP server's routes, limits, errors and logging."""

import base64
import io
import json
import logging
import urllib.error
import urllib.request

import numpy as np
from PIL import Image
import pytest

from configs import edit as edit_config
from maskgit import image_io
from maskgit_edit.app import core
from maskgit_edit.app import methods
from maskgit_edit.app import server as server_lib


@pytest.fixture(scope="module")
def app():
  config = edit_config.get_config("tiny")
  config.num_iter, config.start_iter, config.feather = 6, 1, 2
  config.num_samples = 2
  config.diffusion.num_steps = 2
  return core.App(config, class_names=["a", "b"])


def _layer(app, rows, cols, rgba=(255, 0, 0, 255)) -> str:
  """A display-size RGBA layer (data URL) with a rectangle in model pixels."""
  k = app.scale
  layer = np.zeros((app.display, app.display, 4), np.uint8)
  layer[rows.start * k:rows.stop * k, cols.start * k:cols.stop * k] = rgba
  return core.png_data_url(layer)


def _png_url(image_u8: np.ndarray) -> str:
  return core.png_data_url(image_u8)


def _far(size, rows, cols, margin):
  far = np.ones((size, size), bool)
  far[max(rows.start - margin, 0):rows.stop + margin,
      max(cols.start - margin, 0):cols.stop + margin] = False
  return far


def test_flow_example_edit_keep_undo_redo(app):
  assert app.size == 32 and app.scale == 12 and app.display == 384
  tab = app.load_example(app.examples[0].name)
  image = tab.session.image
  assert image.shape == (32, 32, 3)
  rows, cols = slice(8, 12), slice(8, 16)
  out = app.edit(tab, _layer(app, rows, cols), None, "sdedit", 0.5, 2, 0)
  assert len(out["samples"]) == 2 and "2 sample(s)" in out["status"]
  sample1 = tab.last.samples[1]
  # Only pixels within the feather band (2 px) + token rounding may change.
  far = _far(32, rows, cols, 6)
  np.testing.assert_array_equal(sample1[far], image[far])
  view = app.keep(tab, 1)
  np.testing.assert_array_equal(tab.session.image, sample1)
  assert view["can_undo"] and not view["can_redo"] and tab.last is None
  shown = np.asarray(Image.open(io.BytesIO(base64.b64decode(
      view["image"].split(",")[1]))))
  np.testing.assert_array_equal(shown, image_io.to_uint8(sample1))
  app.undo(tab)
  np.testing.assert_array_equal(tab.session.image, image)
  app.redo(tab)
  np.testing.assert_array_equal(tab.session.image, sample1)


def test_read_canvas_paint_and_mask(app):
  tab = app.load_example(app.examples[0].name)
  image = tab.session.image
  k = app.scale
  # Paint covering half of one model pixel's block: painted, colour mixed.
  layer = np.zeros((app.display, app.display, 4), np.uint8)
  layer[0:k, 0:k // 2] = (0, 0, 255, 255)
  mask = _layer(app, slice(20, 24), slice(20, 24), (25, 180, 255, 255))
  guide, region, painted = app.read_canvas(tab, core.png_data_url(layer),
                                           mask)
  assert region[0, 0] and region[20:24, 20:24].all()
  assert region.sum() == 1 + 16 and painted == pytest.approx(1 / 1024)
  np.testing.assert_allclose(guide[0, 0], (image[0, 0] + [0, 0, 1]) / 2,
                             atol=1e-6)
  # The mask brush guides nothing: the guide is the image there.
  np.testing.assert_array_equal(guide[1:], image[1:])
  # A mask alone is an edit (the model fills the region).
  out = app.edit(tab, None, mask, "sdedit", 0.5, 2, 0)
  assert "0% painted" in out["status"]
  far = _far(32, slice(20, 24), slice(20, 24), 6)
  np.testing.assert_array_equal(tab.last.samples[0][far], image[far])


@pytest.mark.parametrize("mode,box", [
    ("crop", core.Fit("crop", 5, 0, 40, 40)),
    ("pad", core.Fit("pad", 0, -5, 50, 50)),
    ("stretch", core.Fit("stretch", 0, 0, 50, 40)),
])
def test_fit_box(mode, box):
  assert core.fit_box(50, 40, mode) == box
  assert core.fit_box(30, 30, mode) == core.Fit(mode, 0, 0, 30, 30)


def test_pad_is_white_and_paste_back_keeps_untouched_source():
  rng = np.random.default_rng(0)
  source = rng.integers(0, 255, (40, 80, 3), dtype=np.uint8)  # Wide.
  start, box = core.fit_image(source, 16, "pad")
  assert box == core.Fit("pad", 0, -20, 80, 80)
  np.testing.assert_array_equal(start[:3], 1.0)  # Padding rows: white.
  # Unedited: the source itself, bit for bit.
  np.testing.assert_array_equal(core.paste_back(source, start, start, box),
                                source)
  edited = start.copy()
  edited[8, 2] = (0.0, 1.0, 0.0)  # One model pixel = 5x5 source pixels.
  out = core.paste_back(source, start, edited, box)
  assert out.shape == source.shape
  changed = np.any(out != source, -1)
  rows, cols = np.nonzero(changed)
  # Model pixel (8, 2) is padded rows 40..44 = source rows 20..24 (20 pad
  # rows above) and cols 10..14; its centre is exact, a soft edge around.
  assert changed[22, 12] and out[22, 12, 1] > 200
  assert rows.min() >= 15 and rows.max() <= 29
  assert cols.min() >= 5 and cols.max() <= 19


def test_upload_any_size_and_download_at_source_size(app):
  src = np.zeros((50, 40, 3), np.uint8)
  src[:, :20] = 255
  tab = app.upload(_png_url(src), "crop", 1, "/some/dir/wide.png")
  assert tab.name == "wide.png" and tab.session.label == 1
  assert tab.source.shape == (50, 40, 3) and tab.fit.mode == "crop"
  out = Image.open(io.BytesIO(app.download(tab, at_source=True)))
  assert out.size == (40, 50)
  np.testing.assert_array_equal(np.asarray(out), src)  # No edit yet.
  small = Image.open(io.BytesIO(app.download(tab, at_source=False)))
  assert small.size == (32, 32)


def test_upload_keep_size_edits_in_windows_and_downloads_exactly(app):
  rng = np.random.default_rng(3)
  src = rng.integers(0, 256, (40, 72, 3), dtype=np.uint8)
  tab = app.upload(_png_url(src), "keep", 0, "wide.png")
  image = tab.session.image
  assert image.shape == (40, 72, 3) and app.view(tab, "")["image_size"] == [
      72, 40]
  np.testing.assert_array_equal(image_io.to_uint8(image), src)
  k = app.scale
  layer = np.zeros((40 * k, 72 * k, 4), np.uint8)
  layer[10 * k:14 * k, 50 * k:58 * k] = (255, 0, 0, 255)
  app.edit(tab, core.png_data_url(layer), None, "sdedit", 0.5, 2, 0)
  far = np.ones((40, 72), bool)
  far[10 - 3:14 + 3, 50 - 3:58 + 3] = False
  np.testing.assert_array_equal(tab.last.samples[0][far], image[far])
  app.keep(tab, 0)
  out = np.asarray(Image.open(io.BytesIO(app.download(tab, at_source=True))))
  np.testing.assert_array_equal(out, image_io.to_uint8(tab.session.image))
  np.testing.assert_array_equal(out[far], src[far])
  with pytest.raises(core.UserError, match="'keep' takes at most 128x128"):
    app.upload(_png_url(np.zeros((20, 200, 3), np.uint8)), "keep", 0)


@pytest.mark.parametrize("call,match", [
    (lambda a, t: a.upload(base64.b64encode(b"hello").decode(), "pad", 0),
     "not an image"),
    (lambda a, t: a.upload(None, "pad", 0), "No upload"),
    (lambda a, t: a.upload("data:image/png;base64,@@@", "pad", 0),
     "not valid base64"),
    (lambda a, t: a.upload(_png_url(np.zeros((4, 4, 3), np.uint8)), "fold",
                           0), "Unknown fit"),
    (lambda a, t: a.edit(t, None, None, "sdedit", 0.5, 2, 0),
     "Nothing painted"),
    (lambda a, t: a.edit(t, _layer(a, slice(0, 2), slice(0, 2)), None,
                         "nope", 0.5, 2, 0), "Unknown method"),
    (lambda a, t: a.edit(t, _layer(a, slice(0, 2), slice(0, 2)), None,
                         "sdedit", 1.5, 2, 0), r"Strength must be in \[0, 1\]"),
    (lambda a, t: a.edit(t, _layer(a, slice(0, 2), slice(0, 2)), None,
                         "sdedit", 0.5, 9, 0), "Number of samples"),
    (lambda a, t: a.edit(t, _png_url(np.zeros((10, 10, 4), np.uint8)), None,
                         "sdedit", 0.5, 2, 0), "canvas is 384x384"),
    (lambda a, t: a.keep(t, 0), "press Edit first"),
    (lambda a, t: a.undo(t), "Nothing to undo"),
    (lambda a, t: a.redo(t), "Nothing to redo"),
    (lambda a, t: a.load_example("nope"), "Unknown example"),
    (lambda a, t: a.generate(len(a.class_names), 0), "out of range"),
    (lambda a, t: a.generate("x", 0), "not a number"),
    (lambda a, t: a.outpaint(t, "lft:8", 2, 0), "Unknown outpaint side"),
    (lambda a, t: a.outpaint(t, "", 2, 0), "Give the sides"),
    (lambda a, t: a.outpaint(t, "left:200", 2, 0), "up to 128x128"),
    (lambda a, t: a.outpaint(t, "left:8", 0, 0), "Number of samples"),
])
def test_user_errors(app, call, match):
  tab = app.load_example(app.examples[0].name)
  with pytest.raises(core.UserError, match=match):
    call(app, tab)


def test_upload_side_limit():
  big = io.BytesIO()
  Image.new("RGB", (300, 20)).save(big, format="PNG")
  with pytest.raises(core.UserError, match="at most 256x256"):
    core.open_upload(big.getvalue(), max_side=256)


def test_every_method_listed_and_diffusion_keeps_through_session(app):
  names = methods.names(app.config)
  assert "sdedit" in names and "selfcond" in names
  assert "diffusion_ddim" in names and "diffusion_sdedit" in names
  tab = app.load_example(app.examples[0].name)
  image = tab.session.image
  app.edit(tab, _layer(app, slice(8, 12), slice(8, 12)), None,
           "diffusion_ddim", 0.5, 2, 0)
  sample = tab.last.samples[0]
  app.keep(tab, 0)
  np.testing.assert_array_equal(tab.session.image, sample)
  # A token edit of the kept image works (its tokens are encoded on use).
  app.edit(tab, _layer(app, slice(8, 12), slice(8, 12)), None, "sdedit",
           0.5, 1, 0)
  app.undo(tab)
  np.testing.assert_array_equal(tab.session.image, image)


def test_outpaint_keep_then_edit_the_larger_image(app):
  """Outpaint, keep: the image is the larger canvas (original pixels
  bit-identical), the canvas layers are its size, edits run in windows,
  undo returns to the square image, download gives the image's size."""
  tab = app.load_example(app.examples[0].name)
  image = tab.session.image
  out = app.outpaint(tab, "left:8,bottom:4", 2, 0)
  assert len(out["samples"]) == 2 and "40x36" in out["status"]
  view = app.keep(tab, 1)
  grown = tab.session.image
  assert grown.shape == (36, 40, 3) and view["image_size"] == [40, 36]
  assert view["source_size"] == [40, 36]
  np.testing.assert_array_equal(grown[:32, 8:], image)
  k = app.scale
  layer = np.zeros((36 * k, 40 * k, 4), np.uint8)
  layer[20 * k:24 * k, 10 * k:16 * k] = (255, 0, 0, 255)
  app.edit(tab, core.png_data_url(layer), None, "sdedit", 0.5, 2, 0)
  sample = tab.last.samples[0]
  assert sample.shape == (36, 40, 3)
  far = np.ones((36, 40), bool)
  far[20 - 3:24 + 3, 10 - 3:16 + 3] = False
  np.testing.assert_array_equal(sample[far], grown[far])
  with pytest.raises(core.UserError, match="canvas is 480x432"):
    app.edit(tab, _layer(app, slice(0, 2), slice(0, 2)), None, "sdedit",
             0.5, 2, 0)
  out = Image.open(io.BytesIO(app.download(tab, at_source=True)))
  assert out.size == (40, 36)
  app.undo(tab)
  assert tab.session.image.shape == (32, 32, 3)


def test_tabs_are_bounded():
  tabs = server_lib.Tabs(max_tabs=2)
  a, b, c = tabs.new(), tabs.new(), tabs.new()
  assert not tabs.known(a) and tabs.known(b) and tabs.known(c)
  with pytest.raises(core.UserError, match="expired"):
    tabs.get(a)
  with pytest.raises(core.UserError, match="Load, upload or generate"):
    tabs.get(b)


# ------------------------------------------------------------------ HTTP
@pytest.fixture(scope="module")
def server(app):
  srv = server_lib.Server(app, "127.0.0.1", 0, max_queue=4)
  srv.start()
  yield srv
  srv.shutdown()
  srv.server_close()


def _request(srv, path, body=None, headers=None):
  data = None if body is None else (
      body if isinstance(body, bytes) else json.dumps(body).encode())
  req = urllib.request.Request(srv.url + path, data=data,
                               headers=headers or {})
  try:
    with urllib.request.urlopen(req, timeout=60) as r:
      return r.status, r.headers, r.read()
  except urllib.error.HTTPError as e:
    return e.code, e.headers, e.read()


def _post(srv, route, **body):
  code, _, data = _request(srv, "/api/" + route, body)
  return code, json.loads(data)


def test_server_pages_and_file_routes(server):
  code, headers, page = _request(server, "/")
  assert code == 200 and b"paint-layer" in page
  assert headers["Content-Type"].startswith("text/html")
  for path in ("/static/app.js", "/static/app.css"):
    assert _request(server, path)[0] == 200
  # Nothing outside the fixed list is served.
  for path in ("/etc/passwd", "/static/../../../../etc/passwd",
               "/static/%2e%2e/%2e%2e/etc/passwd", "/static/core.py",
               "/file=/etc/passwd", "/api/../app.py"):
    code, _, data = _request(server, path)
    assert code == 404 and b"root:" not in data, path
  info = json.loads(_request(server, "/api/info")[2])
  assert info["size"] == 32 and "diffusion_ddim" in info["methods"]
  assert info["max_upload_mb"] == 10 and info["fits"] == ["crop", "pad",
                                                           "stretch", "keep"]


def test_server_flow_and_separate_tabs(server, app):
  sids = [_post(server, "session")[1]["sid"] for _ in range(2)]
  assert sids[0] != sids[1]
  for sid in sids:
    code, view = _post(server, "example", sid=sid, name=app.examples[0].name)
    assert code == 200 and view["image"].startswith("data:image/png")
  paint = _layer(app, slice(8, 12), slice(8, 16))
  code, res = _post(server, "edit", sid=sids[0], paint=paint, method="sdedit",
                    strength=0.5, num_samples=2, seed=0)
  assert code == 200 and len(res["samples"]) == 2
  assert _post(server, "keep", sid=sids[0], index=1)[1]["can_undo"]
  # The other tab did not change.
  code, res = _post(server, "undo", sid=sids[1])
  assert code == 400 and res["error"] == "Nothing to undo."
  code, _, png = _request(server, f"/api/download?sid={sids[0]}&at=model")
  assert code == 200 and Image.open(io.BytesIO(png)).size == (32, 32)
  src = core.png_data_url(np.zeros((20, 30, 3), np.uint8))
  assert _post(server, "upload", sid=sids[1], data=src, fit="pad",
               name="café \"x\".png")[0] == 200
  code, headers, png = _request(server, f"/api/download?sid={sids[1]}")
  assert code == 200 and Image.open(io.BytesIO(png)).size == (30, 20)
  assert headers["Content-Disposition"] == (
      'attachment; filename="caf_x__edited.png"')
  assert _post(server, "keep", sid="nope", index=0)[1]["error"].startswith(
      "This page's session has expired")


def test_server_logs_one_line_per_user_error_traceback_for_faults(
    server, app, caplog, monkeypatch):
  sid = _post(server, "session")[1]["sid"]
  _post(server, "example", sid=sid, name=app.examples[0].name)
  with caplog.at_level(logging.INFO, logger="maskgit_edit.app"):
    code, res = _post(server, "edit", sid=sid, method="sdedit", strength=0.5,
                      num_samples=2, seed=0)
    assert code == 400 and res["error"].startswith("Nothing painted")
    recs = [r for r in caplog.records if r.name == "maskgit_edit.app"]
    assert len(recs) == 1 and recs[0].exc_info is None
    assert "Nothing painted" in recs[0].getMessage()
    caplog.clear()

    def boom(*args):
      raise RuntimeError("a real fault")
    monkeypatch.setattr(app, "undo", boom)
    code, res = _post(server, "undo", sid=sid)
    assert code == 500 and "a real fault" not in res["error"]
    recs = [r for r in caplog.records if r.name == "maskgit_edit.app"]
    assert len(recs) == 1 and recs[0].exc_info is not None


def test_server_refuses_large_and_malformed_requests(server):
  code, _, data = _request(
      server, "/api/upload", b"{}",
      {"Content-Length": str(server_lib.MAX_BODY + 1)})
  assert code == 413 and b"10 MB" in data
  code, _, data = _request(server, "/api/edit", b"[1, 2]")
  assert code == 400 and b"JSON object" in data
  code, _, _ = _request(server, "/api/nothing", b"{}")
  assert code == 404


def test_server_queue_limit(server, monkeypatch):
  monkeypatch.setattr(server, "_waiting", server.max_queue)
  sid = _post(server, "session")[1]["sid"]
  code, res = _post(server, "generate", sid=sid, label=0, seed=0)
  assert code == 503 and "busy" in res["error"]
