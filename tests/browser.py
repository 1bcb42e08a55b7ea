"""Driving the browser editor in Debian's headless Chromium (Selenium).

Used by tests/test_app_browser.py and scripts/app_screenshot.py. Needs
`apt-get install -y chromium chromium-driver` and the `selenium` package.
"""

from __future__ import annotations

import io
import os
import shutil
import time
import urllib.request

import numpy as np
from PIL import Image

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
CHROME_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu",
                "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync")


def missing() -> str:
  """Why the browser cannot run here ('' if it can)."""
  try:
    import selenium  # pylint: disable=g-import-not-at-top,unused-import
  except ImportError:
    return "selenium is not installed"
  for path in (CHROMIUM, CHROMEDRIVER):
    if not (os.path.exists(path) or shutil.which(os.path.basename(path))):
      return (f"{path} not found (apt-get install -y chromium "
              "chromium-driver)")
  return ""


def start(width: int = 1400, height: int = 1000):
  """A headless Chromium WebDriver."""
  # pylint: disable=g-import-not-at-top
  from selenium import webdriver
  from selenium.webdriver.chrome.service import Service
  # pylint: enable=g-import-not-at-top
  opts = webdriver.ChromeOptions()
  opts.binary_location = (CHROMIUM if os.path.exists(CHROMIUM)
                          else shutil.which("chromium"))
  for flag in CHROME_FLAGS + (f"--window-size={width},{height}",):
    opts.add_argument(flag)
  driver_path = (CHROMEDRIVER if os.path.exists(CHROMEDRIVER)
                 else shutil.which("chromedriver"))
  return webdriver.Chrome(service=Service(driver_path), options=opts)


def wait_for(fn, timeout: float, what: str):
  """Polls `fn()` until truthy; returns its value or raises TimeoutError."""
  end = time.time() + timeout
  while time.time() < end:
    try:
      value = fn()
    except Exception:  # pylint: disable=broad-except
      value = None
    if value:
      return value
    time.sleep(0.25)
  raise TimeoutError(f"Timed out after {timeout} s waiting for {what}.")


def canvas(driver):
  """The editor's drawing canvas element (visible, largest)."""
  from selenium.webdriver.common.by import By  # pylint: disable=g-import-not-at-top
  els = [e for e in driver.find_elements(By.CSS_SELECTOR, "#canvas canvas")
         if e.is_displayed() and e.size["width"] > 50]
  return max(els, key=lambda e: e.size["width"] * e.size["height"])


def draw_stroke(driver, dx0: int, dx1: int, dy: int = 0, steps: int = 12):
  """Drags the mouse horizontally from (dx0, dy) to (dx1, dy), offsets in
  CSS pixels from the canvas centre (brush is the default tool)."""
  from selenium.webdriver.common.action_chains import ActionChains  # pylint: disable=g-import-not-at-top
  el = canvas(driver)
  ActionChains(driver).move_to_element_with_offset(el, dx0, dy).pause(
      0.2).perform()
  chain = ActionChains(driver).click_and_hold().pause(0.1)
  step = (dx1 - dx0) / steps
  for _ in range(steps):
    chain.move_by_offset(int(round(step)), 0)
  chain.release().perform()


def click(driver, elem_id: str):
  from selenium.webdriver.common.by import By  # pylint: disable=g-import-not-at-top
  btn = driver.find_element(By.ID, elem_id)
  if btn.tag_name != "button":
    btn = btn.find_element(By.CSS_SELECTOR, "button")
  btn.click()


def sample_urls(driver) -> list[str]:
  from selenium.webdriver.common.by import By  # pylint: disable=g-import-not-at-top
  return [e.get_attribute("src")
          for e in driver.find_elements(By.CSS_SELECTOR, "#samples img")
          if e.get_attribute("src")]


def fetch_image(url: str) -> np.ndarray:
  """float32 [H, W, 3] in [0, 1] from an http(s) URL served by the app."""
  with urllib.request.urlopen(url, timeout=30) as r:
    data = r.read()
  return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"),
                    np.float32) / 255.0
