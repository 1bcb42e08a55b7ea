"""sample_edit.py on two processes on localhost (CPU, like two hosts).

Pins: two processes (2 devices each, started as train.py is: JAX_* env)
write the same files, bit for bit, as one process on one device (records
equal but for timings, batch size and output folder); after kill -9 of one
process mid-run (the other is stopped too), a restart of both finishes with
every item written once: the items done before the kill are untouched and
the restart writes exactly the others.
"""

import json
import os
import pathlib
import re
import signal
import socket
import subprocess
import sys
import time

import numpy as np
from PIL import Image
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
N = 12
# Record fields that may differ: timings, and settings that do not change
# the outputs (batch size, output folder).
VOLATILE = ("time", "seconds_per_item", "compiled_this_call", "batch_size")
VOLATILE_SETTINGS = ("batch_size", "output_dir")


def _port() -> int:
  with socket.socket() as s:
    s.bind(("localhost", 0))
    return s.getsockname()[1]


def _write_items(folder: pathlib.Path):
  folder.mkdir(parents=True)
  rng = np.random.default_rng(3)
  for i in range(N):
    a = (rng.random((32, 32, 3)) * 255).astype(np.uint8)
    g = a.copy()
    g[2 + 2 * (i % 8):8 + 2 * (i % 8), 3:12 + i] = (255, 40 * (i % 6), 0)
    Image.fromarray(a).save(folder / f"item{i:02d}.png")
    Image.fromarray(g).save(folder / f"item{i:02d}.guide.png")


def _cmd(inputs, out, cache, batch_size):
  return [sys.executable, str(ROOT / "sample_edit.py"),
          "--config=configs/edit.py:tiny", f"--config.inputs={inputs}",
          f"--config.output_dir={out}", "--config.num_samples=2",
          "--config.num_iter=4", "--config.start_iter=1",
          f"--config.batch_size={batch_size}", "--config.progress=False",
          f"--config.compilation_cache={cache}"]


def _launch(tmp, out, processes, batch_size=2):
  """Starts the job's processes; returns [(Popen, log path)]."""
  port, procs = _port(), []
  for i in range(processes):
    env = {**os.environ, "JAX_PLATFORMS": "cpu", "XLA_FLAGS": ""}
    if processes > 1:
      env.update(XLA_FLAGS="--xla_force_host_platform_device_count=2",
                 JAX_COORDINATOR_ADDRESS=f"localhost:{port}",
                 JAX_NUM_PROCESSES=str(processes), JAX_PROCESS_ID=str(i))
    log = tmp / f"{out.name}.{len(list(tmp.glob('*.log')))}.log"
    with open(log, "w") as f:
      procs.append((subprocess.Popen(
          _cmd(tmp / "in", out, tmp / "cache", batch_size), cwd=ROOT,
          env=env, stdout=f, stderr=subprocess.STDOUT), log))
  return procs


def _wait(procs, timeout=900):
  texts = []
  for p, log in procs:
    p.wait(timeout=timeout)
    text = log.read_text()
    assert p.returncode == 0, text[-3000:]
    texts.append(text)
  return texts


def _files(out: pathlib.Path) -> dict[str, bytes]:
  return {str(p.relative_to(out)): p.read_bytes()
          for p in sorted(out.rglob("*")) if p.is_file()}


def _same_outputs(got: pathlib.Path, want: pathlib.Path):
  a, b = _files(got), _files(want)
  assert sorted(a) == sorted(b)
  for name in a:
    if name.endswith("record.json"):
      ra, rb = json.loads(a[name]), json.loads(b[name])
      for k in VOLATILE:
        ra.pop(k), rb.pop(k)
      for k in VOLATILE_SETTINGS:
        ra["settings"].pop(k), rb["settings"].pop(k)
      assert ra == rb, name
    else:
      assert a[name] == b[name], name  # PNGs: bit for bit.


def _written(texts) -> int:
  return sum(int(re.search(r"Done: (\d+) written", t).group(1))
             for t in texts)


@pytest.mark.slow
def test_two_processes_equal_one_and_resume_after_kill(tmp_path):
  _write_items(tmp_path / "in")
  one = tmp_path / "one"
  _wait(_launch(tmp_path, one, 1, batch_size=3))
  records = sorted(one.glob("*/*/record.json"))
  assert len(records) == N

  two = tmp_path / "two"
  texts = _wait(_launch(tmp_path, two, 2))
  assert _written(texts) == N
  assert f"Job (2 processes): {N} of {N} edits done" in texts[0]
  _same_outputs(two, one)

  # kill -9 of process 1 once it wrote its first item; then process 0.
  run = tmp_path / "run"
  procs = _launch(tmp_path, run, 2, batch_size=1)
  first = next(iter(sorted(one.glob("*")))).name  # The run folder.
  marker = run / first / "item01" / "record.json"
  deadline = time.time() + 600
  while not marker.exists() and time.time() < deadline:
    assert procs[1][0].poll() is None, procs[1][1].read_text()[-3000:]
    time.sleep(0.005)
  procs[1][0].send_signal(signal.SIGKILL)
  procs[0][0].send_signal(signal.SIGKILL)
  for p, _ in procs:
    p.wait()
  done = {p: (p.stat().st_ino, p.stat().st_mtime_ns)
          for p in run.glob("*/*/record.json")}
  assert marker in done and 0 < len(done) < N, sorted(done)
  texts = _wait(_launch(tmp_path, run, 2))
  assert _written(texts) == N - len(done)  # Each item written once.
  assert all(p.exists() and (p.stat().st_ino, p.stat().st_mtime_ns) == v
             for p, v in done.items())
  _same_outputs(run, one)
