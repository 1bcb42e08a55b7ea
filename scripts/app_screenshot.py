r"""Screenshot of the browser editor after one edit (docs/images/app.png).

  python app.py --port=7860 &          # wait for "Serving the editor on"
  python scripts/app_screenshot.py --url=http://127.0.0.1:7860
  python scripts/app_screenshot.py --url=http://127.0.0.1:7860 \
    --outpaint=left:16,right:16 --example=hat --out=docs/images/app_outpaint.png

Paints one stroke across the bundled example's eyes and brushes a small mask
in headless Chromium, presses Edit, waits for the samples and saves the page.
With --outpaint it loads --example, presses Outpaint with those sides
instead, waits for the samples and saves the page.
"""

import sys
import time

from absl import app
from absl import flags

from maskgit_edit.app import browser

_URL = flags.DEFINE_string("url", "http://127.0.0.1:7860", "Editor URL.")
_OUT = flags.DEFINE_string("out", "docs/images/app.png", "PNG to write.")
_OUTPAINT = flags.DEFINE_string("outpaint", "", "Sides to outpaint instead "
                                "of editing, e.g. left:16,right:16.")
_EXAMPLE = flags.DEFINE_string("example", "", "Bundled example to load "
                               "first ('' = the page's first).")


def main(argv):
  del argv
  browser.require()
  driver = browser.start(1400, 800)
  try:
    browser.open_editor(driver, _URL.value)
    if _EXAMPLE.value:
      v = browser.version(driver)
      driver.execute_script("document.getElementById('example').value = "
                            "arguments[0]", _EXAMPLE.value)
      browser.click(driver, "load-btn")
      browser.wait_for(lambda: browser.idle(driver) and
                       browser.version(driver) > v, 60, "the example")
    if _OUTPAINT.value:
      driver.execute_script("document.getElementById('outpaint-sides')"
                            ".value = arguments[0]", _OUTPAINT.value)
      browser.click(driver, "outpaint-btn")
    else:
      browser.draw_stroke(driver, -110, 110, dy=-45)
      browser.click(driver, "tool-mask")
      browser.draw_stroke(driver, -30, 30, dy=80)
      browser.click(driver, "tool-paint")
      browser.click(driver, "edit-btn")
    browser.wait_for(lambda: browser.idle(driver) and
                     browser.sample_images(driver), 120, "the samples")
    time.sleep(0.5)  # The progress bar hides 0.3 s after the samples.
    if browser.message(driver):
      sys.exit(f"error: the page says {browser.message(driver)!r}")
    driver.save_screenshot(_OUT.value)
  finally:
    driver.quit()
  print(f"saved {_OUT.value}")


if __name__ == "__main__":
  app.run(main)
