r"""Screenshot of the browser editor after one edit (docs/images/app.png).

  python app.py --port=7860 &          # wait for "Running on local URL"
  python scripts/app_screenshot.py --url=http://127.0.0.1:7860

Draws one stroke across the bundled example's eyes in headless Chromium,
presses Edit, waits for the samples and saves the page.
"""

import os
import sys
import time

from absl import app
from absl import flags

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from tests import browser  # pylint: disable=g-import-not-at-top

_URL = flags.DEFINE_string("url", "http://127.0.0.1:7860", "Editor URL.")
_OUT = flags.DEFINE_string("out", "docs/images/app.png", "PNG to write.")


def main(argv):
  del argv
  why = browser.missing()
  if why:
    sys.exit(f"error: {why}")
  driver = browser.start(1400, 900)
  try:
    driver.get(_URL.value)
    browser.wait_for(lambda: "Loaded example" in driver.page_source, 60,
                     "the example to load")
    browser.draw_stroke(driver, -110, 110, dy=-40)
    browser.click(driver, "edit-btn")
    browser.wait_for(lambda: browser.sample_urls(driver), 120, "samples")
    browser.wait_for(lambda: "Click a sample" in driver.page_source, 30,
                     "the status line")
    browser.wait_for(lambda: driver.execute_script(
        "const a = document.querySelectorAll('#samples img, #overlay img');"
        "return a.length > 1 && [...a].every("
        "i => i.complete && i.naturalWidth > 0);"), 60, "images to show")
    time.sleep(1)
    driver.save_screenshot(_OUT.value)
  finally:
    driver.quit()
  print(f"saved {_OUT.value}")


if __name__ == "__main__":
  app.run(main)
