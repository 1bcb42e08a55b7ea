"""Two processes on localhost (CPU, gloo) through train.py, like two hosts.

Pins: both processes finish; their losses equal a one-process run of the
same global batch (float tolerance); each process checkpoints its own data
position; a time limit hit by ONE process stops BOTH at the same step; after
kill -9 of both, a restart resumes both from the same step and every later
loss equals the uninterrupted two-process run's exactly (each step logged
once).
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
import pytest

from configs import transformer as transformer_config
from maskgit.training import loop

ROOT = pathlib.Path(__file__).resolve().parents[1]
STEPS = 12
ARGS = ["--config=configs/transformer.py:tiny", f"--config.num_steps={STEPS}",
        "--config.eval_every=0", "--config.sample_every=0",
        "--config.checkpoint.every_steps=2", "--config.log_every=1"]


def _port() -> int:
  with socket.socket() as s:
    s.bind(("localhost", 0))
    return s.getsockname()[1]


def _launch(workdir, extra=None):
  """Starts 2 train.py processes (2 CPU devices each); returns them."""
  port, procs = _port(), []
  # One compilation cache for every launch: restarts skip compiling.
  cache = pathlib.Path(workdir).parent / "jax_cache"
  for i in range(2):
    env = {**os.environ, "JAX_PLATFORMS": "cpu",
           "XLA_FLAGS": "--xla_force_host_platform_device_count=2",
           "JAX_COORDINATOR_ADDRESS": f"localhost:{port}",
           "JAX_NUM_PROCESSES": "2", "JAX_PROCESS_ID": str(i)}
    log = open(pathlib.Path(workdir).parent / f"{pathlib.Path(workdir).name}"
               f".{len(list(pathlib.Path(workdir).parent.glob('*.log')))}"
               ".log", "w")
    procs.append((subprocess.Popen(
        [sys.executable, str(ROOT / "train.py"), f"--workdir={workdir}",
         *ARGS, f"--config.compilation_cache={cache}",
         *(extra or {}).get(i, [])], cwd=ROOT, env=env,
        stdout=log, stderr=subprocess.STDOUT), log))
  return procs


def _wait(procs, timeout=900):
  out = []
  for p, log in procs:
    p.wait(timeout=timeout)
    log.close()
    text = pathlib.Path(log.name).read_text()
    assert p.returncode == 0, text[-3000:]
    out.append(text)
  return out


def _finished(text):
  return re.search(r"Finished at step (\d+) \((\w+)\)", text).groups()


def _losses(workdir):
  lines = (pathlib.Path(workdir) / "metrics.jsonl").read_text().splitlines()
  rows = [json.loads(l) for l in lines if "loss" in l]
  steps = [r["step"] for r in rows]
  assert len(steps) == len(set(steps)), steps  # Each step logged once.
  return {r["step"]: r["loss"] for r in rows}


@pytest.mark.slow
def test_two_processes_train_resume_and_stop_together(tmp_path):
  full = tmp_path / "full"
  texts = _wait(_launch(full))
  assert [_finished(t) for t in texts] == [(str(STEPS), "done")] * 2
  two = _losses(full)
  assert sorted(two) == list(range(1, STEPS + 1))
  # Each process wrote its own data position.
  data = full / "checkpoints" / str(STEPS) / "data"
  states = [json.loads((data / f"process_{i}-of-2.json").read_text())
            for i in range(2)]
  assert [s["process"] for s in states] == [[0, 2], [1, 2]]

  # One process, same global batch (8 devices here).
  c = transformer_config.get_config("tiny")
  c.num_steps, c.eval_every, c.sample_every = STEPS, 0, 0
  one = loop.train_and_evaluate(c, str(tmp_path / "one"))["losses"]
  np.testing.assert_allclose([two[s] for s in sorted(two)],
                             [one[s] for s in sorted(two)], rtol=2e-5)

  # kill -9 of both after step 3, then restarts.
  run = tmp_path / "run"
  procs = _launch(run)
  log0 = pathlib.Path(procs[0][1].name)
  deadline = time.time() + 900
  while "step 3/" not in log0.read_text() and time.time() < deadline:
    assert procs[0][0].poll() is None, log0.read_text()[-3000:]
    time.sleep(0.01)
  for p, _ in procs:
    p.send_signal(signal.SIGKILL)
  for p, log in procs:
    p.wait()
    log.close()
  killed_at = max(_losses(run))
  assert killed_at < STEPS
  # Restart with a time limit on process 1 only: both stop at one step.
  texts = _wait(_launch(run, extra={1: ["--config.time_limit_s=1e-9"]}))
  resumed = [re.search(r"Resumed from step (\d+)", t).group(1) for t in texts]
  assert resumed[0] == resumed[1]
  first = int(resumed[0])
  assert [_finished(t) for t in texts] == [(str(first + 1), "time_limit")] * 2
  texts = _wait(_launch(run))
  assert [_finished(t) for t in texts] == [(str(STEPS), "done")] * 2
  assert _losses(run) == two  # Bit-exact, each step once.


def test_distributed_arguments_from_flags_env_or_cluster():
  import pytest  # pylint: disable=g-import-not-at-top
  from maskgit.training import ConfigError  # pylint: disable=g-import-not-at-top
  from maskgit.training import distributed  # pylint: disable=g-import-not-at-top
  env = {"JAX_COORDINATOR_ADDRESS": "h0:1234", "JAX_NUM_PROCESSES": "4",
         "JAX_PROCESS_ID": "3"}
  want = {"coordinator_address": "h0:1234", "num_processes": 4,
          "process_id": 3}
  assert distributed.resolve("auto", env=env) == want
  assert distributed.resolve("auto", process_id=1, env=env) == {
      **want, "process_id": 1}  # Flags win.
  assert distributed.resolve("off", env=env) is None
  assert distributed.resolve("auto", env={}) is None  # One host.
  assert distributed.resolve("on", env={}) == {}  # JAX detects the cluster.
  slurm = {"SLURM_JOB_ID": "7", "SLURM_NTASKS": "2"}
  assert distributed.resolve("auto", env=slurm) == {}
  with pytest.raises(ConfigError, match="missing num_processes, process_id"):
    distributed.resolve("auto", env={"JAX_COORDINATOR_ADDRESS": "h0:1"})
  with pytest.raises(ConfigError, match=r"process_id 4 is not in \[0, 4\)"):
    distributed.resolve("auto", env={**env, "JAX_PROCESS_ID": "4"})
