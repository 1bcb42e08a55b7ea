"""End to end in a real headless browser: open the editor, draw a stroke with
mouse events, press Edit, check that a sample appears and differs from the
input where the stroke was (and nowhere far from it).

Needs Debian's Chromium and its driver; skips with the reason otherwise:

  apt-get install -y chromium chromium-driver && \
    .venv/bin/python -m pytest -q tests/test_app_browser.py
"""

import os

import numpy as np
import pytest

from tests import browser

pytestmark = pytest.mark.skipif(bool(browser.missing()),
                                reason=browser.missing() or "ok")


@pytest.fixture(scope="module")
def server(tiny_model, tmp_path_factory):
  os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
  # pylint: disable=g-import-not-at-top
  from configs import edit as edit_config
  from maskgit_edit import app_ui
  from maskgit_edit import editor as editor_lib
  # pylint: enable=g-import-not-at-top
  config = edit_config.get_config("tiny")
  config.num_iter, config.start_iter, config.feather = 6, 1, 2
  config.num_samples = 2
  out = str(tmp_path_factory.mktemp("out"))
  ui = app_ui.App(editor_lib.Editor(tiny_model), config, output_dir=out)
  ui.warmup()
  demo = ui.build()
  demo.queue(default_concurrency_limit=1)
  demo.launch(server_name="127.0.0.1", prevent_thread_lock=True,
              allowed_paths=[out], quiet=True)
  yield ui, demo.local_url
  demo.close()


def test_stroke_edit_in_browser(server):
  ui, url = server
  from maskgit import image_io  # pylint: disable=g-import-not-at-top
  image = image_io.load_image(ui.examples[0].image, ui.size, resize=True)
  driver = browser.start()
  try:
    driver.get(url)
    # The page loads the first example into the canvas.
    browser.wait_for(lambda: "Loaded example" in driver.page_source, 60,
                     "the example to load")
    el = browser.wait_for(lambda: browser.canvas(driver), 30, "the canvas")
    assert el.size["width"] > 100
    browser.draw_stroke(driver, -30, 30)  # Through the canvas centre.
    browser.click(driver, "edit-btn")
    urls = browser.wait_for(lambda: browser.sample_urls(driver), 120,
                            "the samples")
    assert len(urls) == 2
    sample = browser.fetch_image(urls[0])
  finally:
    driver.quit()
  k = ui.scale
  assert sample.shape == (ui.size * k, ui.size * k, 3)
  sample = sample[::k, ::k]  # Shown enlarged (nearest neighbour).
  changed = np.any(image_io.to_uint8(sample) != image_io.to_uint8(image), -1)
  assert changed.any(), "the edit changed nothing"
  rows, cols = np.nonzero(changed)
  c = ui.size / 2
  # The stroke crossed the centre: the change is there, not far away.
  assert changed[int(c) - 4:int(c) + 4, int(c) - 4:int(c) + 4].any()
  assert abs(rows.mean() - c) < ui.size / 4
  assert abs(cols.mean() - c) < ui.size / 4
  far = np.ones_like(changed)
  far[int(c) - 12:int(c) + 12, int(c) - 14:int(c) + 14] = False
  assert not changed[far].any()
