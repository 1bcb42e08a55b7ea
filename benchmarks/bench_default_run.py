r"""Times the first README command's job: `python sample_edit.py`, no arguments.

  python benchmarks/bench_default_run.py

Runs it in a fresh temporary directory (outputs/ there) three times:
  cold  - empty persistent compilation cache (a user's very first run);
  warm  - the cache filled by the cold run, outputs redone (overwrite);
and parses the per-edit latency the CLI prints (median over the compiled
edits of one run, 4 samples per edit). Writes
benchmarks/results/default_run.json.
"""

import os
import re
import subprocess
import sys
import tempfile
import time

from maskgit import io_utils

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _run(cwd: str, cache: str, *extra: str) -> dict:
  env = {**os.environ, "JAX_PLATFORMS": "cpu"}
  t0 = time.perf_counter()
  r = subprocess.run([sys.executable, os.path.join(ROOT, "sample_edit.py"),
                      f"--config.compilation_cache={cache}",
                      "--config.progress=False", *extra],
                     cwd=cwd, env=env, capture_output=True, text=True,
                     check=False)
  wall = time.perf_counter() - t0
  if r.returncode:
    raise SystemExit(r.stderr[-2000:])
  m = re.search(r"median ([0-9.]+) s, max ([0-9.]+) s per edit over the "
                r"(\d+) edit",
                r.stderr)
  return {"wall_s": round(wall, 2), "edit_median_s": float(m.group(1)),
          "edit_max_s": float(m.group(2)), "edits_timed": int(m.group(3))}


def main() -> None:
  with tempfile.TemporaryDirectory() as d:
    cache = os.path.join(d, "jax_cache")
    cold = _run(d, cache)
    warm = _run(d, cache, "--config.overwrite=True")
  result = {"command": "python sample_edit.py", "cold": cold, "warm": warm,
            "machine": f"{os.cpu_count()} CPU cores", "python": sys.version,
            "date": time.strftime("%Y-%m-%d")}
  out = os.path.join(ROOT, "benchmarks", "results", "default_run.json")
  io_utils.write_json(out, result)
  print(f"cold cache: whole command {cold['wall_s']:.1f} s, per edit "
        f"{cold['edit_median_s']:.3f} s median ({cold['edit_max_s']:.3f} max)")
  print(f"warm cache: whole command {warm['wall_s']:.1f} s, per edit "
        f"{warm['edit_median_s']:.3f} s median ({warm['edit_max_s']:.3f} max)")
  print(f"Wrote {out}.")


if __name__ == "__main__":
  main()
