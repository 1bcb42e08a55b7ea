r"""Screenshot of the browser editor after one edit (docs/images/app.png).

  python app.py --port=7860 &          # wait for "Serving the editor on"
  python scripts/app_screenshot.py --url=http://127.0.0.1:7860

Paints one stroke across the bundled example's eyes and brushes a small mask
in headless Chromium, presses Edit, waits for the samples and saves the page.
"""

import sys
import time

from absl import app
from absl import flags

from maskgit_edit.app import browser

_URL = flags.DEFINE_string("url", "http://127.0.0.1:7860", "Editor URL.")
_OUT = flags.DEFINE_string("out", "docs/images/app.png", "PNG to write.")


def main(argv):
  del argv
  why = browser.missing()
  if why:
    sys.exit(f"error: {why}")
  driver = browser.start(1400, 800)
  try:
    browser.open_editor(driver, _URL.value)
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
