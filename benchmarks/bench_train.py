"""Training benchmarks: compiled memory of the ImageNet-256 self-cond step, and
CPU throughput of the tiny recipes.

  python benchmarks/bench_train.py memory   # -> results/train_memory.json
  python benchmarks/bench_train.py speed    # -> results/train_speed.json

Memory: `jit(train_step).lower(ShapeDtypeStructs).compile().memory_analysis()`
of the 24-layer ImageNet-256 transformer self-conditioning step (scan + remat,
both rounds, AdamW update, donated state) on one device of the current backend;
nothing big is allocated. "peak_estimate" = arguments + outputs + temporaries
- aliased (donated) bytes.

Speed: full loop iterations (synthetic host batch, stroke simulation where the
recipe uses it, tokenization, train step) of the tiny presets on this CPU,
after 2 warm-up steps.
"""

from __future__ import annotations

import json
import os
import platform
import sys
import time

import jax
import jax.numpy as jnp

from configs import guidance_kernel
from configs import selfcond
from configs import tokenizer
from configs import transformer
from maskgit.training import data as data_lib
from maskgit.training import loop
from maskgit.training import sharding

RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")
GB = 1e9


def _env():
  return {"backend": jax.default_backend(), "device": str(jax.devices()[0]),
          "jax": jax.__version__, "cpu_count": os.cpu_count(),
          "machine": platform.machine()}


def memory(batches=(8, 32, 64, 256), dtypes=("float32", "bfloat16")):
  rows = []
  mesh = sharding.make_mesh((("data", 1), ("fsdp", 1)), jax.devices()[:1])
  # The grid, then one contrast row: batch 64 f32 with remat off.
  runs = [(d, b, True) for d in dtypes for b in batches]
  runs.append(("float32", 64, False))
  for dtype, b, remat in runs:
    c = selfcond.get_config("imagenet256")
    c.batch_size = b
    c.model.transformer.dtype = dtype
    c.model.transformer.remat = remat
    trainer = loop.Trainer(c, mesh=mesh)
    state = jax.tree.map(
        lambda a, s: jax.ShapeDtypeStruct(a.shape, a.dtype, sharding=s),
        trainer.abstract_state, trainer.state_shardings)
    seq = trainer.recipe.tr_cfg.seq_len
    bs = trainer.batch_sharding
    batch = {k: jax.ShapeDtypeStruct((b, seq), jnp.int32, sharding=bs)
             for k in ("tokens", "guide_tokens")}
    t0 = time.perf_counter()
    compiled = trainer.train_step_fn(frozen_shardings={}).lower(
        state, {}, batch).compile()
    secs = time.perf_counter() - t0
    m = compiled.memory_analysis()
    row = {"batch": b, "dtype": dtype, "remat": remat,
           "argument_gb": m.argument_size_in_bytes / GB,
           "output_gb": m.output_size_in_bytes / GB,
           "temp_gb": m.temp_size_in_bytes / GB,
           "alias_gb": m.alias_size_in_bytes / GB,
           "compile_s": secs}
    row["peak_estimate_gb"] = (row["argument_gb"] + row["output_gb"]
                               + row["temp_gb"] - row["alias_gb"])
    print(json.dumps(row), flush=True)
    rows.append(row)
  return {"what": "ImageNet-256 selfcond train step (24 layers, scan+remat, "
                  "two rounds, AdamW), compiled memory_analysis, 1 device",
          "targets_gb": {"64": 10, "256": 40}, "env": _env(), "rows": rows}


def speed(steps=10):
  rows = []
  for name, mod in (("tokenizer", tokenizer), ("transformer", transformer),
                    ("selfcond", selfcond),
                    ("guidance_kernel", guidance_kernel)):
    c = mod.get_config("tiny")
    trainer = loop.Trainer(c)
    info = trainer.recipe.model_info()
    it = data_lib.train_iterator(c, info["image_size"], info["num_classes"])
    state = trainer.init_state()
    fn = trainer.train_step_fn()
    with jax.set_mesh(trainer.mesh):
      for i in range(steps + 2):
        if i == 2:
          t0 = time.perf_counter()
        state, m = fn(state, trainer.frozen, trainer.batch(next(it), i))
        float(m["loss"])
    dt = time.perf_counter() - t0
    row = {"recipe": name, "batch": c.batch_size, "steps": steps,
           "steps_per_sec": steps / dt,
           "examples_per_sec": steps * c.batch_size / dt,
           "devices": len(jax.devices())}
    print(json.dumps(row), flush=True)
    rows.append(row)
  return {"what": "tiny presets, full loop iteration incl. host data, "
                  "strokes and tokenization", "env": _env(), "rows": rows}


def main():
  what = sys.argv[1] if len(sys.argv) > 1 else "all"
  os.makedirs(RESULTS, exist_ok=True)
  for name, fn in (("speed", speed), ("memory", memory)):
    if what in (name, "all"):
      out = fn()
      with open(os.path.join(RESULTS, f"train_{name}.json"), "w") as f:
        json.dump(out, f, indent=1)


if __name__ == "__main__":
  main()
