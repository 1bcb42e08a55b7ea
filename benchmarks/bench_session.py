r"""Browser-editor latency: one edit of the embedded model after the warm-up.

  JAX_PLATFORMS=cpu python benchmarks/bench_session.py \
    [--out=benchmarks/results/session_latency.json]

Starts the editor's `App` exactly as `python app.py` does (embedded model,
configs/edit.py defaults: sdedit, strength 0.3, 4 samples, full image), warms
it up (timed: what the user waits for before the page opens), then sends the
14 bundled examples' paint as the page's paint layer through the Edit action
(`App.edit`: decode and read the layer, session edit with cached tokens,
samples and the E overlay encoded as PNG data URLs). The whole page, click to
samples shown, is timed by benchmarks/bench_app.py. Reports the warm-up, the median and the maximum
handler time, the session-edit time alone, the handler's process CPU time
(all threads; on an idle machine the wall time is at most about this) and the
machine's load average. Goal: < 0.5 s per edit.
"""

import json
import os
import platform
import time

from absl import app
from absl import flags
import jax
import numpy as np

from configs import edit as edit_config
from maskgit import io_utils
from maskgit import image_io
from maskgit_edit.app import core
from maskgit_edit.batch import inputs

_REPEATS = flags.DEFINE_integer("repeats", 2, "Passes over the examples.")
_OUT = flags.DEFINE_string("out", "benchmarks/results/session_latency.json",
                           "Output JSON.")


def main(argv):
  del argv
  load0 = os.getloadavg()
  config = edit_config.get_config("emoji")
  t = time.perf_counter()
  ui = core.App(config)
  load_s = time.perf_counter() - t
  warm_s = ui.warmup()
  items, _ = inputs.read_manifest(core.EXAMPLES_MANIFEST)
  handler, cpu, session_edit = [], [], []
  for rep in range(_REPEATS.value):
    for it in items:
      tab = ui.load_example(it.name)
      guide = image_io.to_uint8(image_io.load_image(it.guide, ui.size))
      # The paint layer: the guide's colours where it differs from the image.
      painted = np.any(guide != image_io.to_uint8(tab.session.image), -1)
      rgba = np.concatenate([guide, 255 * painted[..., None].astype(
          np.uint8)], -1)
      layer = np.repeat(np.repeat(rgba, ui.scale, 0), ui.scale, 1)
      paint = core.png_data_url(layer)
      t, c = time.perf_counter(), time.process_time()
      ui.edit(tab, paint, None, config.method, config.strength,
              config.num_samples, rep)
      handler.append(time.perf_counter() - t)
      cpu.append(time.process_time() - c)
      session_edit.append(tab.session.last_edit.result.timings["total"])
  res = dict(
      machine=dict(platform=platform.platform(), cpus=os.cpu_count(),
                   backend=jax.default_backend()),
      date=time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
      method=config.method, strength=config.strength,
      num_samples=config.num_samples, patch_local=config.patch_local,
      edits=len(handler), model_load_s=load_s, warmup_s=warm_s,
      handler_median_s=float(np.median(handler)),
      handler_max_s=float(np.max(handler)),
      handler_cpu_median_s=float(np.median(cpu)),
      session_edit_median_s=float(np.median(session_edit)),
      loadavg_1min_start=load0[0], loadavg_1min_end=os.getloadavg()[0])
  print(json.dumps(res, indent=1))
  io_utils.write_json(_OUT.value, res)
  print(f"saved {_OUT.value}")


if __name__ == "__main__":
  app.run(main)
