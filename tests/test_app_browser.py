"""The browser editor end to end in headless Chromium, as a user drives it.

One loop: paint a stroke with the mouse, Edit, keep a sample, paint again at
once (while the keep runs), Edit, Undo, Redo, then drop or paste an image
onto the canvas and press Edit with nothing painted (a message, the image
stays shown). Even loops click the buttons and samples, odd loops use the
keyboard shortcuts (Ctrl+Enter, 1-8, Ctrl+Z, Ctrl+Shift+Z). After every
step the canvas must show exactly the image the server holds (never blank),
the strokes painted must reach the edit (the samples change next to them and
nowhere far), and no console error may appear. The default tier runs 2
loops and 3 concurrent clients; the `slow` tier runs 20 loops.

Needs Debian's Chromium and its driver; skips with the reason otherwise
(.ci/run installs them):

  apt-get install -y chromium chromium-driver && \
    .venv/bin/python -m pytest -q tests/test_app_browser.py
"""

import io
import threading

import numpy as np
from PIL import Image
import pytest

from maskgit_edit.app import browser

pytestmark = pytest.mark.skipif(bool(browser.missing()),
                                reason=browser.missing() or "ok")

NUM_SAMPLES = 2
MARGIN = 8  # Model pixels: token (4) + feather (2) + brush edge.


@pytest.fixture(scope="module")
def server():
  # pylint: disable=g-import-not-at-top
  from configs import edit as edit_config
  from maskgit_edit.app import core
  from maskgit_edit.app import server as server_lib
  # pylint: enable=g-import-not-at-top
  config = edit_config.get_config("tiny")
  config.num_iter, config.start_iter, config.feather = 6, 1, 2
  config.num_samples = NUM_SAMPLES
  app = core.App(config)
  srv = server_lib.Server(app, "127.0.0.1", 0)
  srv.start()
  yield srv
  srv.shutdown()
  srv.server_close()


def _shown(driver, app) -> np.ndarray:
  """The canvas at the model's size (it is drawn enlarged, nearest)."""
  k = app.scale
  return browser.canvas_image(driver)[k // 2::k, k // 2::k]


def _stroke_box(app, dx0, dx1, dy):
  """Model-pixel rows/cols that a stroke (CSS px from the centre) covers,
  grown by MARGIN."""
  c, k = app.display / 2, app.scale
  half = 12  # Half the default brush size (24 CSS px).
  rows = (int((c + dy - half) / k) - MARGIN, int((c + dy + half) / k) + MARGIN)
  cols = (int((c + dx0 - half) / k) - MARGIN,
          int((c + dx1 + half) / k) + MARGIN)
  box = np.zeros((app.size, app.size), bool)
  box[max(rows[0], 0):rows[1] + 1, max(cols[0], 0):cols[1] + 1] = True
  return box


def _press(driver, what, by_key):
  """A button or its keyboard shortcut."""
  if not by_key:
    browser.click(driver, {"edit": "edit-btn", "undo": "undo-btn",
                           "redo": "redo-btn"}[what])
  else:
    browser.keys(driver, *{"edit": ("ctrl", "enter"), "undo": ("ctrl", "z"),
                           "redo": ("ctrl", "shift", "z")}[what])


def _samples(driver, what):
  """Waits for the page's samples after an action; checks no message."""
  samples = browser.wait_for(
      lambda: browser.idle(driver) and len(browser.sample_images(driver)) ==
      NUM_SAMPLES and browser.sample_images(driver), 120, what)
  assert not browser.message(driver), (what, browser.message(driver))
  return samples


def _edit(driver, app, box, where, by_key=False):
  """Presses Edit; checks that the samples change inside `box` only."""
  before = _shown(driver, app)
  _press(driver, "edit", by_key)
  samples = _samples(driver, f"samples {where}")
  changed = np.any(np.stack(samples) != before, -1).any(0)
  assert changed.any(), f"{where}: the edit changed nothing"
  assert not changed[~box].any(), f"{where}: pixels far from the stroke"
  return samples


def _wait_image(driver, app, expected, old_version, where):
  browser.wait_for(lambda: browser.idle(driver) and browser.version(driver)
                   > old_version, 60, f"the image after {where}")
  assert not browser.message(driver), (where, browser.message(driver))
  shown = _shown(driver, app)
  assert shown.std() > 0, f"{where}: blank canvas"
  np.testing.assert_array_equal(shown, expected, err_msg=where)


def _loop(driver, app, i: int):
  """One loop of the module docstring; `i` varies strokes and uploads."""
  dy = -90 + 30 * (i % 7)
  dx0 = -60 + 10 * (i % 5)
  by_key = i % 2 == 1
  browser.draw_stroke(driver, dx0, dx0 + 80, dy)
  samples = _edit(driver, app, _stroke_box(app, dx0, dx0 + 80, dy),
                  f"loop {i} edit 1", by_key)
  original = _shown(driver, app)
  kept = samples[i % NUM_SAMPLES]
  v = browser.version(driver)
  if by_key:
    browser.keys(driver, str(i % NUM_SAMPLES + 1))
  else:
    browser.click_sample(driver, i % NUM_SAMPLES)
  dy2 = -dy // 2  # Painted at once, while the keep may still run.
  browser.draw_stroke(driver, -40, 40, dy2)
  _wait_image(driver, app, kept, v, f"loop {i} keep")
  paint = browser.canvas_image(driver, "paint-layer")
  assert paint[..., 3].any(), f"loop {i}: the stroke after keep was lost"
  _edit(driver, app, _stroke_box(app, -40, 40, dy2), f"loop {i} edit 2",
        by_key)
  v = browser.version(driver)
  _press(driver, "undo", by_key)
  _wait_image(driver, app, original, v, f"loop {i} undo")
  v = browser.version(driver)
  _press(driver, "redo", by_key)
  _wait_image(driver, app, kept, v, f"loop {i} redo")
  # An image dropped or pasted onto the canvas becomes the image edited.
  from maskgit_edit.app import core  # pylint: disable=g-import-not-at-top
  rng = np.random.default_rng(i)
  src = rng.integers(0, 256, (40 + i, 56, 3), dtype=np.uint8)
  fit = ("pad", "crop", "stretch")[i % 3]
  driver.execute_script(f"document.getElementById('fit').value = '{fit}'")
  buf = io.BytesIO()
  Image.fromarray(src).save(buf, format="PNG")
  v = browser.version(driver)
  browser.drop_or_paste(driver, buf.getvalue(), ("drop", "paste")[i % 2])
  expected = (core.fit_image(src, app.size, fit)[0] * 255).round()
  _wait_image(driver, app, expected.astype(np.uint8), v, f"loop {i} upload")
  assert "Uploaded" in browser.status(driver)
  # A user error is a message beside the work, which stays shown.
  browser.click(driver, "edit-btn")
  browser.wait_for(lambda: browser.idle(driver) and browser.message(driver),
                   30, "the message")
  assert "Nothing painted" in browser.message(driver)
  np.testing.assert_array_equal(_shown(driver, app),
                                expected.astype(np.uint8))
  errors = [e for e in browser.console_errors(driver)
            if "/api/edit" not in e]  # The 400 answer itself is logged.
  assert not errors, f"loop {i}: console errors {errors}"


def _run_loops(server, loops):
  driver = browser.start()
  try:
    browser.open_editor(driver, server.url)
    for i in range(loops):
      _loop(driver, server.app, i)
  finally:
    driver.quit()


def test_editor_loop_in_browser(server):
  _run_loops(server, 2)


@pytest.mark.slow
def test_editor_loop_in_browser_20_times(server):
  _run_loops(server, 20)


def test_three_concurrent_clients_get_their_own_results(server):
  app = server.app
  barrier = threading.Barrier(3)
  errors, results = [], {}

  def client(j):
    driver = browser.start(1200, 900)
    try:
      browser.open_editor(driver, server.url)
      dy = (-100, 0, 100)[j]
      browser.draw_stroke(driver, -50, 50, dy)
      barrier.wait(timeout=120)  # Edit at the same time.
      samples = _edit(driver, app, _stroke_box(app, -50, 50, dy),
                      f"client {j}")
      v = browser.version(driver)
      browser.click_sample(driver, 1)
      _wait_image(driver, app, samples[1], v, f"client {j} keep")
      results[j] = samples[1]
    except Exception as e:  # pylint: disable=broad-except
      errors.append(f"client {j}: {e!r}")
    finally:
      driver.quit()

  threads = [threading.Thread(target=client, args=(j,)) for j in range(3)]
  for t in threads:
    t.start()
  for t in threads:
    t.join(timeout=600)
  assert not errors, errors
  assert len(results) == 3
  # Each kept its own edit: the three images differ where each painted.
  assert not np.array_equal(results[0], results[1])
  assert not np.array_equal(results[1], results[2])


def test_outpaint_keep_edit_undo_in_browser(server):
  """Outpaint left:8, keep a sample: the canvas grows to the larger image
  (original pixels unchanged); a stroke on it edits at that size; undo
  returns to the square canvas."""
  app = server.app
  k = app.scale
  driver = browser.start()
  try:
    browser.open_editor(driver, server.url)
    original = _shown(driver, app)
    driver.execute_script(
        "document.getElementById('outpaint-sides').value = 'left:8'")
    browser.click(driver, "outpaint-btn")
    samples = _samples(driver, "outpainted samples")
    for s in samples:
      assert s.shape == (app.size, app.size + 8, 3)
      np.testing.assert_array_equal(s[:, 8:], original)
    v = browser.version(driver)
    browser.click_sample(driver, 1)
    _wait_image(driver, app, samples[1], v, "keep outpainted")
    assert browser.canvas_image(driver).shape == (app.size * k,
                                                  (app.size + 8) * k, 3)
    browser.draw_stroke(driver, -30, 30, 0)
    browser.click(driver, "edit-btn")
    edited = _samples(driver, "samples of the larger image")
    assert all(s.shape == samples[1].shape for s in edited)
    changed = np.any(np.stack(edited) != samples[1], -1).any(0)
    assert changed.any() and not changed[:, :4].any()
    v = browser.version(driver)
    browser.click(driver, "undo-btn")
    _wait_image(driver, app, original, v, "undo outpaint")
    assert browser.canvas_image(driver).shape == (app.display, app.display, 3)
    assert not browser.console_errors(driver)
  finally:
    driver.quit()


def test_keep_size_upload_edits_at_its_size_in_browser(server):
  """An upload with fit 'keep size' (40x72, shown smaller than its canvas)
  is edited as it is: a stroke across its middle changes pixels near the
  stroke only, and the samples have the upload's size."""
  app = server.app
  driver = browser.start()
  try:
    browser.open_editor(driver, server.url)
    src = np.random.default_rng(7).integers(0, 256, (40, 72, 3),
                                            dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(src).save(buf, format="PNG")
    driver.execute_script("document.getElementById('fit').value = 'keep'")
    v = browser.version(driver)
    browser.drop_or_paste(driver, buf.getvalue(), "drop")
    _wait_image(driver, app, src, v, "keep-size upload")
    browser.draw_stroke(driver, -40, 40, 0)
    browser.click(driver, "edit-btn")
    samples = _samples(driver, "samples")
    changed = np.any(np.stack(samples) != src, -1).any(0)
    assert samples[0].shape == src.shape and changed.any()
    assert not changed[:, :12].any() and not changed[:, -12:].any()
    assert not changed[:8].any() and not changed[-8:].any()
    assert not browser.console_errors(driver)
  finally:
    driver.quit()
