"""Driving the browser editor in Debian's headless Chromium (Selenium).

Used by tests/test_app_browser.py, scripts/app_screenshot.py and
benchmarks/bench_app.py. Needs `apt-get install -y chromium chromium-driver`
and the `selenium` package. Every driver gets a fresh profile directory
(removed on `quit`) and the flags that keep Chromium off the network.
"""

from __future__ import annotations

import base64
import io
import os
import shutil
import sys
import tempfile
import time

import numpy as np
from PIL import Image

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
CHROME_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu",
                "--disable-quic", "--no-first-run",
                "--disable-background-networking",
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


def require() -> None:
  """Exits with one message when the browser cannot run here (scripts)."""
  why = missing()
  if why:
    sys.exit(f"error: {why}")


def start(width: int = 1400, height: int = 1000):
  """A headless Chromium WebDriver with a fresh profile (console logged)."""
  # pylint: disable=g-import-not-at-top
  from selenium import webdriver
  from selenium.webdriver.chrome.service import Service
  # pylint: enable=g-import-not-at-top
  profile = tempfile.mkdtemp(prefix="maskgit_chromium_")
  opts = webdriver.ChromeOptions()
  opts.binary_location = (CHROMIUM if os.path.exists(CHROMIUM)
                          else shutil.which("chromium"))
  for flag in CHROME_FLAGS + (f"--window-size={width},{height}",
                              f"--user-data-dir={profile}"):
    opts.add_argument(flag)
  opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
  driver_path = (CHROMEDRIVER if os.path.exists(CHROMEDRIVER)
                 else shutil.which("chromedriver"))
  driver = webdriver.Chrome(service=Service(driver_path), options=opts)
  quit_ = driver.quit

  def quit_and_clean():
    try:
      quit_()
    finally:
      shutil.rmtree(profile, ignore_errors=True)
  driver.quit = quit_and_clean
  return driver


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
    time.sleep(0.05)
  raise TimeoutError(f"Timed out after {timeout} s waiting for {what}.")


def open_editor(driver, url: str, timeout: float = 60):
  """Loads the page and waits until its first image is shown."""
  driver.get(url)
  wait_for(lambda: driver.execute_script(
      "return document.body.dataset.ready === '1'"), timeout, "the editor")


def idle(driver) -> bool:
  return driver.execute_script("return !document.body.dataset.busy")


def wait_idle(driver, timeout: float = 120):
  wait_for(lambda: idle(driver), timeout, "the request to finish")


def version(driver) -> int:
  """How many images the canvas has shown (one more per image change)."""
  return int(driver.execute_script(
      "return document.getElementById('canvas').dataset.version || 0"))


def message(driver) -> str:
  """The message bar's text ('' when hidden)."""
  return driver.execute_script(
      "const m = document.getElementById('message');"
      "return m.hidden ? '' : m.innerText;")


def status(driver) -> str:
  return driver.execute_script(
      "return document.getElementById('status').innerText")


def draw_stroke(driver, dx0: int, dx1: int, dy: int = 0, steps: int = 8):
  """Drags the mouse from (dx0, dy) to (dx1, dy), CSS pixels from the
  canvas centre, with the current tool."""
  # pylint: disable=g-import-not-at-top
  from selenium.webdriver.common.action_chains import ActionChains
  from selenium.webdriver.common.by import By
  # pylint: enable=g-import-not-at-top
  el = driver.find_element(By.ID, "paint-layer")
  chain = ActionChains(driver).move_to_element_with_offset(el, dx0, dy)
  chain.click_and_hold()
  step = (dx1 - dx0) / steps
  for _ in range(steps):
    chain.move_by_offset(int(round(step)), 0)
  chain.release().perform()


def keys(driver, *combo: str):
  """Presses a key combination on the page, e.g. keys(d, 'ctrl', 'z')."""
  # pylint: disable=g-import-not-at-top
  from selenium.webdriver.common.action_chains import ActionChains
  from selenium.webdriver.common.keys import Keys
  # pylint: enable=g-import-not-at-top
  mods = {"ctrl": Keys.CONTROL, "shift": Keys.SHIFT}
  held = [mods[k] for k in combo if k in mods]
  chain = ActionChains(driver)
  for k in held:
    chain.key_down(k)
  for k in combo:
    if k not in mods:
      chain.send_keys(Keys.ENTER if k == "enter" else k)
  for k in reversed(held):
    chain.key_up(k)
  chain.perform()


def click(driver, elem_id: str):
  from selenium.webdriver.common.by import By  # pylint: disable=g-import-not-at-top
  driver.find_element(By.ID, elem_id).click()


def decode_data_url(url: str) -> np.ndarray:
  """uint8 [H, W, 3] from a PNG data URL."""
  data = base64.b64decode(url.split(",", 1)[1])
  return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


def canvas_image(driver, layer: str = "image-layer") -> np.ndarray:
  """uint8 [D, D, 3] (or RGBA for paint/mask layers): a canvas's pixels."""
  url = driver.execute_script(
      f"return document.getElementById('{layer}').toDataURL('image/png')")
  data = base64.b64decode(url.split(",", 1)[1])
  im = Image.open(io.BytesIO(data))
  return np.asarray(im.convert("RGB" if layer == "image-layer" else "RGBA"))


def sample_images(driver) -> list[np.ndarray]:
  """The samples shown (uint8 [S, S, 3] each, the model's size)."""
  urls = driver.execute_script(
      "return [...document.querySelectorAll('#samples img')].map(i => i.src)")
  return [decode_data_url(u) for u in urls]


def click_sample(driver, index: int):
  from selenium.webdriver.common.by import By  # pylint: disable=g-import-not-at-top
  driver.find_elements(By.CSS_SELECTOR, "#samples img")[index].click()


def drop_or_paste(driver, png: bytes, how: str, name: str = "x.png"):
  """Drops a PNG onto the canvas, or pastes it (how = 'drop' | 'paste')."""
  driver.execute_script("""
    const [b64, how, name] = arguments;
    const bytes = Uint8Array.from(atob(b64), c => c.charCodeAt(0));
    const dt = new DataTransfer();
    dt.items.add(new File([bytes], name, {type: 'image/png'}));
    if (how === 'drop') {
      document.getElementById('canvas').dispatchEvent(new DragEvent('drop',
          {dataTransfer: dt, bubbles: true, cancelable: true}));
    } else {
      document.dispatchEvent(new ClipboardEvent('paste',
          {clipboardData: dt, bubbles: true, cancelable: true}));
    }""", base64.b64encode(png).decode(), how, name)


def console_errors(driver) -> list[str]:
  """SEVERE console entries since the last call."""
  return [e["message"] for e in driver.get_log("browser")
          if e["level"] == "SEVERE"]
