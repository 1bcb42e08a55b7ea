r"""Reproduces the Gradio editor's blank canvas (issue 25) in headless Chromium.

  python app.py --port=7861 &         # the Gradio page (before issue 25)
  python scripts/repro_gradio_blank.py --url=http://127.0.0.1:7861 --tries=10

Each try paints a stroke, presses Edit, clicks the first sample (keep), then
Undo and Redo. After each of keep/undo/redo it waits for the status line and
then up to 5 s for the canvas to show an image, and counts a failure when the
canvas is still blank (near-uniform pixels) or its spinner still shows.
Prints the counts, the browser console's errors and writes a JSON record.
"""

import io
import json
import sys
import time

from absl import app
from absl import flags
import numpy as np
from PIL import Image

from tests import browser

_URL = flags.DEFINE_string("url", "http://127.0.0.1:7861", "Editor URL.")
_TRIES = flags.DEFINE_integer("tries", 10, "Loops.")
_OUT = flags.DEFINE_string("out", "", "JSON record (optional).")


def _driver():
  # pylint: disable=g-import-not-at-top
  from selenium import webdriver
  from selenium.webdriver.chrome.service import Service
  opts = webdriver.ChromeOptions()
  opts.binary_location = browser.CHROMIUM
  for flag in browser.CHROME_FLAGS + ("--window-size=1400,1000",):
    opts.add_argument(flag)
  opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
  return webdriver.Chrome(service=Service(browser.CHROMEDRIVER), options=opts)


def _canvas_state(d):
  """(blank, spinner): the editor canvas's pixels near-uniform; its status
  tracker visible."""
  el = browser.canvas(d)
  im = np.asarray(Image.open(io.BytesIO(el.screenshot_as_png)).convert("RGB"),
                  np.float32)
  spinner = d.execute_script(
      "const w = document.querySelector('#canvas [data-testid=status-tracker]');"
      "return !!w && !w.classList.contains('hide');")
  return float(im.std()) < 12.0, bool(spinner), float(im.std())


def _status(d):
  return d.execute_script(
      "const s = document.querySelector('#status'); return s ? "
      "s.innerText : '';")


def _wait_status(d, text, timeout=60):
  return browser.wait_for(lambda: text in _status(d), timeout, repr(text))


def _check(d, what, rec):
  end = time.time() + 5
  state = _canvas_state(d)
  while time.time() < end and (state[0] or state[1]):
    time.sleep(0.25)
    state = _canvas_state(d)
  rec.append({"step": what, "blank": state[0], "spinner": state[1],
              "std": state[2]})
  return state


def main(argv):
  del argv
  d = _driver()
  rec, errors = [], []
  try:
    d.get(_URL.value)
    _wait_status(d, "Loaded example")
    time.sleep(1)
    from selenium.webdriver.common.by import By  # pylint: disable=g-import-not-at-top
    for i in range(_TRIES.value):
      try:
        browser.draw_stroke(d, -40 + 3 * i, 40, dy=-30 + 6 * (i % 10))
        browser.click(d, "edit-btn")
        _wait_status(d, "Click a sample", 60)
        imgs = browser.wait_for(lambda: [
            e for e in d.find_elements(By.CSS_SELECTOR, "#samples button img")
            if e.is_displayed()], 30, "thumbnails")
        imgs[0].click()
        _wait_status(d, "Kept sample", 60)
        _check(d, "keep", rec)
        browser.click(d, "undo-btn")
        _wait_status(d, "Undone", 60)
        _check(d, "undo", rec)
        browser.click(d, "redo-btn")
        _wait_status(d, "Redone", 60)
        _check(d, "redo", rec)
      except TimeoutError as e:
        rec.append({"step": f"try {i}", "timeout": str(e),
                    "status": _status(d)})
        print(f"try {i}: {e} (status: {_status(d)!r})", flush=True)
        d.save_screenshot(f"/tmp/i25/try{i}.png")
        d.get(_URL.value)
        _wait_status(d, "Loaded example")
        time.sleep(1)
      errors += [e for e in d.get_log("browser")
                 if e["level"] in ("SEVERE", "WARNING")]
      print(i, rec[-3:] if "step" in rec[-1] else rec[-1], flush=True)
  finally:
    d.quit()
  fails = [r for r in rec if r.get("blank") or r.get("spinner")
           or "timeout" in r]
  summary = {"checks": len(rec), "failures": len(fails),
             "console": [e["message"][:300] for e in errors]}
  print(json.dumps(summary, indent=1))
  if _OUT.value:
    with open(_OUT.value, "w") as f:
      json.dump({"summary": summary, "checks": rec}, f, indent=1)


if __name__ == "__main__":
  app.run(main)
