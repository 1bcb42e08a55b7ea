r"""Edit latency on this machine: full-image vs patch-local vs box editing.

  python benchmarks/bench_edit.py [--presets=tiny,imagenet256] \
    [--out=benchmarks/results/edit_latency.json]

Modes: `full` and `patch_local` edit a new image on every call (the
editor's token cache is emptied first, so the image is encoded in the call);
`session` is an image edited again (`session.Session`, or a sweep): its
tokens come from the editor's cache, only the guide's window is encoded,
patch-local transformer and decode.

Random weights (latency only; the quality comparison between patch-local and
full-image compute is reported as pixel/token differences, which with random
weights measure only how much the output depends on the far context). A disc
stroke covers ~10% / ~25% of the image. Each setting: one warm-up call
(compilation) then `--repeats` timed calls; the median wall time is
reported, and the median process CPU time (all threads), which depends
less on other load of a shared machine.
"""

import json
import os
import platform
import time

from absl import app
from absl import flags
import jax
import numpy as np

import bench_common
from configs import models
from maskgit import io_utils
from maskgit import model as model_lib
from maskgit_edit import editor as editor_lib

_PRESETS = flags.DEFINE_list("presets", ["tiny", "imagenet256"], "Models.")
_FRACTIONS = flags.DEFINE_list("fractions", ["0.1", "0.25"], "Stroke areas.")
_REPEATS = flags.DEFINE_integer("repeats", 2, "Timed calls per setting.")
_METHOD = flags.DEFINE_string("method", "sdedit", "Edit method.")
_WINDOW_MARGIN = flags.DEFINE_integer(
    "window_margin", 1, "Patch-local: transformer context tokens around E.")
_DECODER_MARGIN = flags.DEFINE_integer(
    "decoder_margin", 1, "Patch-local: tokenizer context tokens.")
_BOX = flags.DEFINE_bool("box_edit", True,
                         "Also time the release's box editing.")
_OUT = flags.DEFINE_string("out", "benchmarks/results/edit_latency.json",
                           "Output JSON.")


def _timed(fn, repeats, cpu=None):
  """Median wall seconds (and, into `cpu`, process CPU seconds) per call."""
  out = fn()  # Warm-up / compile.
  times, cpus = [], []
  for _ in range(repeats):
    t, c = time.perf_counter(), time.process_time()
    out = fn()
    times.append(time.perf_counter() - t)
    cpus.append(time.process_time() - c)
  if cpu is not None:
    cpu.append(float(np.median(cpus)))
  return float(np.median(times)), out


def _inputs(size, frac, seed=0):
  image, guide, disc = bench_common.stroke_inputs(size, frac, seed)
  rows, cols = np.flatnonzero(disc.any(1)), np.flatnonzero(disc.any(0))
  box = (int(rows[0]), int(cols[0]), int(rows[-1] - rows[0] + 1),
         int(cols[-1] - cols[0] + 1))
  return image, guide, disc, box


def main(argv):
  del argv
  results = dict(machine=dict(platform=platform.platform(),
                              cpus=os.cpu_count(),
                              backend=jax.default_backend(),
                              loadavg_1min_start=os.getloadavg()[0]),
                 date=time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                 method=_METHOD.value, strength=0.5, num_iter=12,
                 start_iter=2, repeats=_REPEATS.value,
                 window_margin=_WINDOW_MARGIN.value,
                 decoder_margin=_DECODER_MARGIN.value, rows=[])
  for preset in _PRESETS.value:
    m = model_lib.MaskGIT.random(models.get_config(preset), seed=0)
    ed = editor_lib.Editor(m)
    for frac in map(float, _FRACTIONS.value):
      image, guide, disc, box = _inputs(m.image_size, frac)
      row = dict(preset=preset, stroke_fraction=float(disc.mean()), box=box)
      outs = {}
      for mode, local in (("full", False), ("patch_local", True),
                          ("session", True)):
        opts = editor_lib.EditOptions(
            method=_METHOD.value, patch_local=local, feather=m.factor // 2,
            window_margin=_WINDOW_MARGIN.value,
            decoder_margin=_DECODER_MARGIN.value)
        fresh = mode != "session"
        cpu = []

        def call(o=opts, fresh=fresh):
          if fresh:
            ed.forget_tokens()  # A new image: encoded in the call.
          return ed.edit(image, guide, labels=1, strength=0.5, seed=0,
                         options=o)
        t, res = _timed(call, _REPEATS.value, cpu)
        row[f"{mode}_s"] = t
        row[f"{mode}_cpu_s"] = cpu[0]
        row[f"{mode}_window_tokens"] = int(res.tokens.samples.shape[-1])
        row[f"{mode}_timings"] = res.timings
        outs[mode] = res
        print(preset, frac, mode, f"{t:.3f}s", flush=True)
      row["speedup_patch_local_vs_full"] = row["full_s"] / row["patch_local_s"]
      row["speedup_session_vs_full"] = row["full_s"] / row["session_s"]
      row["cpu_speedup_session_vs_full"] = (row["full_cpu_s"] /
                                            row["session_cpu_s"])
      if _BOX.value:
        t, _ = _timed(lambda: m.box_edit(image, box, 1, seed=0),
                      _REPEATS.value)
        row["box_edit_official_s"] = t
        print(preset, frac, "box_edit", f"{t:.3f}s", flush=True)
        row["speedup_patch_local_vs_box_edit"] = (
            row["box_edit_official_s"] / row["patch_local_s"])
        row["full_vs_box_edit_ratio"] = (
            row["full_s"] / row["box_edit_official_s"])
      band = outs["full"].feather_weights[0] > 0
      diff = np.abs(outs["full"].images[0, 0] - outs["patch_local"].images[
          0, 0])[band]
      row["band_mean_abs_pixel_diff_full_vs_local"] = float(diff.mean())
      row["outside_band_identical_both"] = bool(all(
          np.array_equal(o.images[0, 0][~band], image[~band])
          for o in outs.values()))
      results["rows"].append(row)
  results["machine"]["loadavg_1min_end"] = os.getloadavg()[0]
  io_utils.write_json(_OUT.value, results)
  print(json.dumps(results, indent=1))


if __name__ == "__main__":
  app.run(main)
