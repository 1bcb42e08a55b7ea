r"""Embedded model v2 candidates: CPU edit latency, parameters, weight size.

  JAX_PLATFORMS=cpu python benchmarks/bench_v2_candidates.py \
      [--presets=emoji,emoji_v2,emoji_v2_128] \
      [--out=benchmarks/results/v2_candidates.json]

Random weights (latency does not depend on them). Per preset: parameters and
float32 bytes of the tokenizer and of the hinted transformer (the shipped
files), tokens per image, and the README command's edit (sdedit, strength
0.3, 4 samples, 12 steps from step 2) on a ~10% and a ~25% disc stroke,
full-image and patch-local: first call (compile) and the median of
`--repeats` steady-state calls of `Editor.edit` (wall and process CPU time;
the load average is recorded: on a shared machine compare presets by their
ratio, measured in one process).
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

_PRESETS = flags.DEFINE_list("presets", ["emoji", "emoji_v2", "emoji_v2_128"],
                             "Model presets.")
_FRACTIONS = flags.DEFINE_list("fractions", ["0.1", "0.25"], "Stroke areas.")
_REPEATS = flags.DEFINE_integer("repeats", 3, "Timed calls per setting.")
_OUT = flags.DEFINE_string("out", "benchmarks/results/v2_candidates.json",
                           "Output JSON.")


def _count(tree) -> int:
  return int(sum(np.prod(x.shape) for x in jax.tree.leaves(tree)))


def main(argv):
  del argv
  rows, calls = [], []
  for preset in _PRESETS.value:
    cfg = models.get_config(preset)
    cfg.transformer.num_hint_codes = cfg.transformer.num_codes  # Shipped.
    m = model_lib.MaskGIT.random(cfg, 0)
    ed = editor_lib.Editor(m)
    tok_n, tr_n = _count(m.tokenizer_params), _count(m.transformer_params)
    row = dict(preset=preset, image_size=m.image_size,
               pixels_per_token=m.factor, tokens=m.side ** 2,
               tokenizer_params=tok_n, transformer_params=tr_n,
               weights_mb=4 * (tok_n + tr_n) / 1e6,
               num_codes=m.tokenizer_config.num_codes,
               code_bits_per_pixel=float(np.log2(m.tokenizer_config.num_codes)
                                         / m.factor ** 2))
    rows.append(row)
    for frac in map(float, _FRACTIONS.value):
      image, guide, _ = bench_common.stroke_inputs(m.image_size, frac,
                                                     block=m.image_size // 8)
      for mode in ("full", "patch_local"):
        opts = editor_lib.EditOptions(method="sdedit",
                                      patch_local=mode == "patch_local",
                                      feather=m.factor)
        call = (lambda o=opts, e=ed, i=image, g=guide: e.edit(
            i, g, labels=0, strength=0.3, seed=0, num_samples=4, options=o))
        key = f"{mode}_{int(round(frac * 100))}pct"
        t0 = time.perf_counter()
        res = call()
        row[f"{key}_first_s"] = time.perf_counter() - t0
        row[f"{key}_window"] = int(res.tokens.samples.shape[-1])
        calls.append((row, key, call, [], []))
        print(preset, key, "compiled", flush=True)
  # Interleaved repeats: every setting sees the same (shared) machine load.
  for _ in range(_REPEATS.value):
    for row, key, call, times, cpu in calls:
      t0, c0 = time.perf_counter(), time.process_time()
      call()
      times.append(time.perf_counter() - t0)
      cpu.append(time.process_time() - c0)
  for row, key, call, times, cpu in calls:
    row[f"{key}_s"] = float(np.median(times))
    row[f"{key}_cpu_s"] = float(np.median(cpu))  # All threads.
    print(row["preset"], key, f"{row[key + '_s']:.3f}s", flush=True)
  for row in rows:
    print(json.dumps(row), flush=True)
  out = dict(machine=dict(platform=platform.platform(), cpus=os.cpu_count(),
                          backend=jax.default_backend(), jax=jax.__version__,
                          load_average_at_end=os.getloadavg()),
             edit="sdedit strength 0.3, 4 samples, 12 steps from 2, batch 1",
             repeats=_REPEATS.value, rows=rows)
  io_utils.write_json(_OUT.value, out)
  print(f"Wrote {_OUT.value}")


if __name__ == "__main__":
  app.run(main)
