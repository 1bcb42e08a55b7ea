r"""Latency of class-conditional generation and box editing (random weights).

  python benchmarks/bench_generate.py --presets=tiny,imagenet256 --batches=1,8

Reports, per preset and batch: first call (compile + run) and steady-state
latency (median over --repeats), and for the tiny preset the first-call time of
a fresh process with a cold vs a warm persistent compilation cache. Prints a
table and writes JSON to --out.
"""

import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time

from absl import app
from absl import flags
from maskgit import io_utils

_PRESETS = flags.DEFINE_list("presets", ["tiny", "imagenet256"], "Models.")
_BATCHES = flags.DEFINE_list("batches", ["1", "8"], "Batch sizes.")
_REPEATS = flags.DEFINE_integer("repeats", 3, "Timed runs after the first.")
_BIG_REPEATS = flags.DEFINE_integer(
    "big_repeats", 1, "Timed runs for the ImageNet presets (slow on CPU).")
_OUT = flags.DEFINE_string("out", "benchmarks/results/generate_latency.json",
                           "Where to save the numbers.")
_CHILD = flags.DEFINE_string("child_cache", None, "Internal: cache probe.")


def _time(fn, repeats):
  t0 = time.perf_counter()
  fn()
  first = time.perf_counter() - t0
  runs = []
  for _ in range(repeats):
    t0 = time.perf_counter()
    fn()
    runs.append(time.perf_counter() - t0)
  return first, (statistics.median(runs) if runs else float("nan"))


def _bench_model(preset, batches, repeats):
  import numpy as np  # pylint: disable=g-import-not-at-top
  from configs import models  # pylint: disable=g-import-not-at-top
  from maskgit import model as model_lib  # pylint: disable=g-import-not-at-top
  m = model_lib.MaskGIT.random(models.get_config(preset), 0)
  size = m.image_size
  rows = []
  for b in batches:
    labels = list(range(b))
    first, steady = _time(lambda: m.generate(labels, seed=0), repeats)
    rows.append(dict(preset=preset, task="generate (16 steps)", batch=b,
                     first_call_s=first, steady_s=steady))
    images = np.random.default_rng(0).random((b, size, size, 3)).astype(
        np.float32)
    box = (size // 4, size // 4, size // 2, size // 2)
    first, steady = _time(lambda: m.box_edit(images, box, 1, seed=0),
                          repeats)
    rows.append(dict(preset=preset, task="box_edit (12 steps from 2)",
                     batch=b, first_call_s=first, steady_s=steady))
    print(rows[-2], rows[-1], flush=True)
  return rows


def _cache_probe(cache_dir):
  """Fresh-process time from start to first generated batch (tiny)."""
  t0 = time.perf_counter()
  from configs import models  # pylint: disable=g-import-not-at-top
  from maskgit import model as model_lib  # pylint: disable=g-import-not-at-top
  from maskgit import runtime  # pylint: disable=g-import-not-at-top
  runtime.enable_compilation_cache(cache_dir)
  m = model_lib.MaskGIT.random(models.get_config("tiny"), 0)
  t1 = time.perf_counter()
  m.generate([1], seed=0)
  t2 = time.perf_counter()
  print(json.dumps(dict(setup_s=t1 - t0, first_generate_s=t2 - t1)))


def main(argv):
  del argv
  if _CHILD.value is not None:
    _cache_probe(_CHILD.value)
    return
  import jax  # pylint: disable=g-import-not-at-top
  rows = []
  for preset in _PRESETS.value:
    repeats = _REPEATS.value if preset == "tiny" else _BIG_REPEATS.value
    rows += _bench_model(preset, [int(b) for b in _BATCHES.value], repeats)
  cache = []
  with tempfile.TemporaryDirectory() as d:
    for label in ("cold cache", "warm cache"):
      t0 = time.perf_counter()
      out = subprocess.run([sys.executable, __file__, f"--child_cache={d}"],
                           capture_output=True, text=True, check=True)
      probe = json.loads(out.stdout.strip().splitlines()[-1])
      probe.update(cache=label, process_s=time.perf_counter() - t0)
      cache.append(probe)
  result = dict(
      date=time.strftime("%Y-%m-%d"), machine=platform.processor() or
      platform.machine(), cpus=os.cpu_count(), backend=jax.default_backend(),
      jax=jax.__version__, weights="random", rows=rows,
      tiny_process_start_to_first_sample=cache)
  print(f"{'preset':12s} {'task':28s} {'batch':>5s} {'first(s)':>9s} "
        f"{'steady(s)':>9s}")
  for r in rows:
    print(f"{r['preset']:12s} {r['task']:28s} {r['batch']:5d} "
          f"{r['first_call_s']:9.3f} {r['steady_s']:9.3f}")
  for c in cache:
    print(f"tiny, fresh process, {c['cache']}: whole process "
          f"{c['process_s']:.2f} s, first generate {c['first_generate_s']:.3f}"
          " s")
  io_utils.write_json(_OUT.value, result)
  print(f"saved {_OUT.value}")


if __name__ == "__main__":
  app.run(main)
