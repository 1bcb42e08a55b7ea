r"""Batch editing throughput: edits/s by batch size and processes, one run.

  python benchmarks/bench_batch.py [--edits=64] [--batch_sizes=1,8,32] \
    [--out=benchmarks/results/bench_batch.json]
  python benchmarks/bench_batch.py \
    --components=benchmarks/results/bench_batch_components.json

The embedded model (weights/emoji) with configs/edit.py's default method,
strength and samples per edit, on the bundled examples (examples/edits.jsonl)
repeated with a new seed each up to `--edits`. Every setting edits the same
items through the one editing loop (`maskgit_edit.batch.loop.edit_items`,
what sample_edit.py runs, minus the PNG writes): one untimed pass over a
batch compiles, then `--edits` edits are timed.

Settings: batch 1, 8, 32 in this process (all its local devices), then
`--processes` processes on localhost at `--multi_batch`, started like
train.py / sample_edit.py (JAX_COORDINATOR_ADDRESS, JAX_NUM_PROCESSES,
JAX_PROCESS_ID), each editing its shard (items i % P == its index); their
time is from a barrier after every process compiled to a barrier after every
process is done.

On a shared machine the numbers depend on the other load: the JSON records
`os.getloadavg()` before and after each setting, the CPU count, this
process's niceness, and the process CPU seconds per edit (all threads and
processes), which measure the work itself rather than the CPU share a
setting got.
"""

from __future__ import annotations

import json
import os
import platform
import socket
import subprocess
import sys
import time

from absl import app
from absl import flags

_EDITS = flags.DEFINE_integer("edits", 64, "Timed edits per setting.")
_BATCHES = flags.DEFINE_list("batch_sizes", ["1", "8", "32"],
                             "One-process batch sizes.")
_PROCESSES = flags.DEFINE_integer("processes", 2,
                                  "Processes of the multi-process setting "
                                  "(0 = skip it).")
_MULTI_BATCH = flags.DEFINE_integer("multi_batch", 8,
                                    "Batch size of the multi-process setting.")
_OUT = flags.DEFINE_string("out", "benchmarks/results/bench_batch.json",
                           "Output JSON.")
_COMPONENTS = flags.DEFINE_string(
    "components", "", "Instead: CPU seconds per edit of the model's parts "
    "(guide encode, one transformer call, tokenizer decode of the samples) "
    "at 1 and 8 edits per call, written to this JSON.")
_WORKER = flags.DEFINE_bool("worker", False,
                            "Internal: one process of the multi-process "
                            "setting (prints its JSON line).")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)  # This checkout's packages, not another install's.


def _setup():
  """(editor, options, config, items): the embedded model and the edits."""
  from configs import edit as edit_config  # pylint: disable=g-import-not-at-top
  from maskgit_edit.batch import inputs  # pylint: disable=g-import-not-at-top
  from maskgit_edit.batch import loop  # pylint: disable=g-import-not-at-top
  from maskgit_edit.methods import pool as pool_lib  # pylint: disable=g-import-not-at-top
  config = edit_config.get_config()
  pool = pool_lib.EditorPool()
  editor = pool.editor(config, config.method)
  options = pool.options(config, config.method)
  found, errors = inputs.discover(config.inputs)
  assert not errors, errors
  size = int(config.model.image_size)
  loaded = [inputs.ItemLoader(it, size, config.resize, config.label, 0)()
            for it in found]
  items = [loop.EditItem(name=f"e{i:04d}", image=x.image, guide=x.guide,
                         mask=x.mask, label=x.label, seed=i)
           for i, x in enumerate(loaded[i % len(loaded)]
                                 for i in range(_EDITS.value))]
  return editor, options, config, items


def _edit(editor, options, config, items, batch_size: int) -> int:
  from maskgit_edit.batch import loop  # pylint: disable=g-import-not-at-top
  n = 0
  for out in loop.edit_items(editor, options, items,
                             strength=float(config.strength),
                             num_samples=int(config.num_samples),
                             batch_size=batch_size):
    assert isinstance(out, loop.ItemOutput), out
    n += 1
  return n


def _one_process(editor, options, config, items, batch_size: int) -> dict:
  load0 = os.getloadavg()
  _edit(editor, options, config, items[:batch_size], batch_size)  # Compile.
  t, c = time.perf_counter(), time.process_time()
  n = _edit(editor, options, config, items, batch_size)
  wall, cpu = time.perf_counter() - t, time.process_time() - c
  return dict(setting=f"1 process, batch {batch_size}", processes=1,
              batch_size=batch_size, edits=n, seconds=wall,
              edits_per_s=n / wall, process_cpu_seconds=cpu,
              loadavg_before=load0, loadavg_after=os.getloadavg())


def _worker() -> None:
  """One process of the multi-process setting."""
  from maskgit_edit.batch import parallel  # pylint: disable=g-import-not-at-top
  assert parallel.initialize("auto")
  editor, options, config, items = _setup()
  mine = parallel.shard(items)
  b = _MULTI_BATCH.value
  _edit(editor, options, config, mine[:b], b)  # Compile.
  parallel.wait_for_all("bench_batch_start")
  t, c = time.perf_counter(), time.process_time()
  n = _edit(editor, options, config, mine, b)
  mine_s, cpu = time.perf_counter() - t, time.process_time() - c
  parallel.wait_for_all("bench_batch_end")
  print("RESULT " + json.dumps(dict(edits=n, seconds_own=mine_s, cpu=cpu,
                                    seconds=time.perf_counter() - t)),
        flush=True)


def _multi_process(processes: int, batch_size: int) -> dict:
  with socket.socket() as s:
    s.bind(("localhost", 0))
    port = s.getsockname()[1]
  load0 = os.getloadavg()
  procs = []
  for i in range(processes):
    env = {**os.environ, "JAX_COORDINATOR_ADDRESS": f"localhost:{port}",
           "JAX_NUM_PROCESSES": str(processes), "JAX_PROCESS_ID": str(i)}
    procs.append(subprocess.Popen(
        [sys.executable, os.path.abspath(__file__), "--worker",
         f"--edits={_EDITS.value}", f"--multi_batch={batch_size}"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True))
  results = []
  for p in procs:
    text, _ = p.communicate(timeout=1800)
    if p.returncode != 0:
      raise RuntimeError(f"worker failed:\n{text[-3000:]}")
    line = [l for l in text.splitlines() if l.startswith("RESULT ")][-1]
    results.append(json.loads(line[len("RESULT "):]))
  n = sum(r["edits"] for r in results)
  wall = max(r["seconds"] for r in results)
  return dict(setting=f"{processes} processes, batch {batch_size}",
              processes=processes, batch_size=batch_size, edits=n,
              seconds=wall, edits_per_s=n / wall,
              per_process_seconds=[r["seconds_own"] for r in results],
              process_cpu_seconds=sum(r["cpu"] for r in results),
              loadavg_before=load0, loadavg_after=os.getloadavg())


def _components(path: str) -> None:
  """Why batching does (not) pay: the parts' CPU time per edit by batch."""
  import jax  # pylint: disable=g-import-not-at-top
  import jax.numpy as jnp  # pylint: disable=g-import-not-at-top
  from maskgit import io_utils  # pylint: disable=g-import-not-at-top
  editor, _, config, _ = _setup()
  m, s = editor.model, int(config.num_samples)
  side, size, seq_len = m.side, m.image_size, m.side * m.side + 1

  def cpu(fn, reps=20):
    jax.block_until_ready(fn())  # Compile.
    t = time.process_time()
    for _ in range(reps):
      jax.block_until_ready(fn())
    return (time.process_time() - t) / reps
  encode = jax.jit(lambda x: m.encode_ids(x, m.tokenizer_params))
  decode = jax.jit(lambda i: m.decode_ids(i, m.tokenizer_params))
  rows = []
  for n in (1, 8):
    ids = jnp.zeros((n * s, side, side), jnp.int32)
    seq = jnp.zeros((n * s, seq_len), jnp.int32)
    pos = jnp.broadcast_to(jnp.arange(seq_len), (n * s, seq_len))
    logits = jax.jit(lambda q, h, p=pos: m.logits(
        q, h, p, params=m.transformer_params))
    hints = jnp.full((n * s, seq_len), -1, jnp.int32)
    rows.append(dict(
        edits_per_call=n, samples_per_edit=s,
        encode_guide_s=cpu(lambda: encode(jnp.zeros((n, size, size, 3))))
        / n,
        transformer_call_s=cpu(lambda: logits(seq, hints)) / n,
        transformer_calls_per_edit=int(config.num_iter - config.start_iter),
        decode_samples_s=cpu(lambda: decode(ids)) / n))
    print(rows[-1], flush=True)
  io_utils.write_json(path, dict(
      command="python " + " ".join(sys.argv), niceness=os.nice(0),
      unit="process CPU seconds per edit", rows=rows,
      loadavg=os.getloadavg(), cpu_count=os.cpu_count(),
      date=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())))


def _print(row: dict) -> None:
  print(f"{row['setting']}: {row['edits_per_s']:.2f} edits/s, "
        f"{row['process_cpu_seconds'] / row['edits']:.3f} CPU s/edit "
        f"(load {row['loadavg_before'][0]:.2f})", flush=True)


def main(argv):
  del argv
  if _WORKER.value:
    _worker()
    return
  if _COMPONENTS.value:
    _components(_COMPONENTS.value)
    return
  import jax  # pylint: disable=g-import-not-at-top
  from maskgit import io_utils  # pylint: disable=g-import-not-at-top
  from maskgit_edit.batch import parallel  # pylint: disable=g-import-not-at-top
  editor, options, config, items = _setup()
  parallel.use_mesh(editor, parallel.local_mesh())
  rows = []
  for b in (int(x) for x in _BATCHES.value):
    rows.append(_one_process(editor, options, config, items, b))
    _print(rows[-1])
  if _PROCESSES.value > 1:
    rows.append(_multi_process(_PROCESSES.value, _MULTI_BATCH.value))
    _print(rows[-1])
  base = next((r["edits_per_s"] for r in rows
               if r["processes"] == 1 and r["batch_size"] == 1), None)
  for r in rows:
    r["speedup_vs_batch1"] = r["edits_per_s"] / base if base else None
    # CPU time per edit (all threads, all processes): the work itself, less
    # dependent on how much of a shared CPU the setting got.
    r["cpu_seconds_per_edit"] = r["process_cpu_seconds"] / r["edits"]
  result = dict(
      command="python " + " ".join(sys.argv), niceness=os.nice(0),
      model="weights/emoji",
      method=config.method, strength=float(config.strength),
      num_samples=int(config.num_samples), num_iter=int(config.num_iter),
      image_size=int(config.model.image_size), rows=rows,
      backend=jax.default_backend(), local_devices=len(jax.local_devices()),
      cpu_count=os.cpu_count(), machine=platform.platform(),
      processor=platform.processor(), jax=jax.__version__,
      date=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
      note=("CPU shared with other jobs (see loadavg_*); edits/s exclude "
            "PNG writes; the first pass of each setting (compile) is not "
            "timed."))
  io_utils.write_json(_OUT.value, result)
  print(f"Wrote {_OUT.value}")


if __name__ == "__main__":
  app.run(main)
