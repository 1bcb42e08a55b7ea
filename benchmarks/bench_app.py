r"""Browser editor latency as the user sees it: click Edit -> samples shown.

  python benchmarks/bench_app.py            # embedded model, 20 edits
  python benchmarks/bench_app.py --edits=20 --out=benchmarks/results/app_latency.json

Serves `python app.py`'s page in this process (embedded emoji model, the
edit config's defaults: sdedit 0.3, 4 samples; warmed up as app.py does),
opens it in headless Chromium and, for each edit, loads the next bundled
example, paints one stroke with the mouse and presses Edit. The page records
the time from the click handler to the decoded samples being in the page
(after the next animation frame): `window.editTimings`. Prints median and
max and the server's own time per edit, and saves JSON.
"""

import os
import platform
import statistics
import sys
import time

from absl import app
from absl import flags

from configs import edit as edit_config
from maskgit import embedded
from maskgit import io_utils
from maskgit import runtime
from maskgit_edit.app import core
from maskgit_edit.app import server as server_lib
from maskgit_edit.app import browser

_EDITS = flags.DEFINE_integer("edits", 20, "Edits to time.")
_OUT = flags.DEFINE_string("out", "benchmarks/results/app_latency.json",
                           "JSON record.")


def main(argv):
  del argv
  browser.require()
  config = edit_config.get_config("emoji")
  runtime.enable_compilation_cache(config.compilation_cache)
  ui = core.App(config, class_names=embedded.class_names())
  warm = ui.warmup()
  srv = server_lib.Server(ui, "127.0.0.1", 0)
  srv.start()
  load0 = os.getloadavg()
  driver = browser.start()
  try:
    browser.open_editor(driver, srv.url)
    names = [e.name for e in ui.examples]
    for i in range(_EDITS.value):
      v = browser.version(driver)
      driver.execute_script(
          "document.getElementById('example').value = arguments[0]",
          names[i % len(names)])
      browser.click(driver, "load-btn")
      browser.wait_for(lambda: browser.idle(driver) and
                       browser.version(driver) > v, 60, "the example")
      browser.draw_stroke(driver, -70, 70, -40 + 8 * (i % 10))
      browser.click(driver, "edit-btn")
      browser.wait_for(lambda: browser.idle(driver) and driver.execute_script(
          "return window.editTimings.length") == i + 1, 120, "the samples")
      if browser.message(driver):
        sys.exit(f"error: the page says {browser.message(driver)!r}")
    timings = driver.execute_script("return window.editTimings")
  finally:
    driver.quit()
    srv.shutdown()
    srv.server_close()
  load1 = os.getloadavg()
  ms = [t["click_to_shown_ms"] for t in timings]
  server_s = [t["server_s"] for t in timings]
  rec = {
      "what": "browser editor, click Edit -> samples shown (page timer)",
      "command": "python benchmarks/bench_app.py --edits=%d" % _EDITS.value,
      "machine": f"{platform.machine()} {platform.system()}, "
                 f"{os.cpu_count()} CPU cores, headless Chromium",
      "date": time.strftime("%Y-%m-%d"),
      "load_average_1min_before_after": [round(load0[0], 2),
                                         round(load1[0], 2)],
      "method": config.method, "strength": float(config.strength),
      "num_samples": int(config.num_samples), "warmup_s": round(warm, 2),
      "edits": len(ms),
      "click_to_shown_ms": {"median": round(statistics.median(ms), 1),
                            "max": round(max(ms), 1),
                            "all": [round(x, 1) for x in ms]},
      "server_edit_s": {"median": round(statistics.median(server_s), 3),
                        "max": round(max(server_s), 3)},
  }
  print(f"warm-up {warm:.1f} s; {len(ms)} edits: click -> samples shown "
        f"median {rec['click_to_shown_ms']['median']:.0f} ms, max "
        f"{rec['click_to_shown_ms']['max']:.0f} ms (server "
        f"{rec['server_edit_s']['median']:.3f} s median); load average "
        f"{load0[0]:.1f} -> {load1[0]:.1f}")
  io_utils.write_json(_OUT.value, rec)
  print(f"saved {_OUT.value}")


if __name__ == "__main__":
  app.run(main)
