"""Training benchmarks: compiled memory of the ImageNet-256 self-cond step, and
CPU throughput of the tiny recipes.

  python benchmarks/bench_train.py memory   # -> results/train_memory.json
  python benchmarks/bench_train.py speed    # -> results/train_speed.json

Memory: `jit(...).lower(ShapeDtypeStructs).compile().memory_analysis()` of the
whole ImageNet-256 self-conditioning loop step (tokenization of image and
guide by the frozen VQGAN, 24-layer transformer with scan + remat, both
rounds, AdamW update, donated state) on one device of the current backend,
at batch 64 and 256, before (separate whole-batch tokenization jit, the old
loop) and after (one program, chunked tokenization); nothing big is
allocated. "peak_estimate" = arguments + outputs + temporaries - aliased
(donated) bytes.

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

import bench_common
from configs import guidance_kernel
from configs import selfcond
from configs import tokenizer
from configs import transformer
from maskgit import io_utils
from maskgit.nets import vqgan
from maskgit.training import checkpointing
from maskgit.training import data as data_lib
from maskgit.training import loop
from maskgit.training import sharding

RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")
GB = 1e9


def _env():
  return {"backend": jax.default_backend(), "device": str(jax.devices()[0]),
          "jax": jax.__version__, "cpu_count": os.cpu_count(),
          "machine": platform.machine()}


def _analysis(compiled) -> dict[str, float]:
  m = compiled.memory_analysis()
  row = {"argument_gb": m.argument_size_in_bytes / GB,
         "output_gb": m.output_size_in_bytes / GB,
         "temp_gb": m.temp_size_in_bytes / GB,
         "alias_gb": m.alias_size_in_bytes / GB}
  row["peak_estimate_gb"] = (row["argument_gb"] + row["output_gb"]
                             + row["temp_gb"] - row["alias_gb"])
  return row


def _abstract(tree, sharding_):
  return jax.tree.map(
      lambda a: jax.ShapeDtypeStruct(a.shape, a.dtype, sharding=sharding_),
      tree)


def memory(batches=(64, 256), dtype="float32", prepare_batch=16):
  """Whole-loop compiled memory, ImageNet-256 selfcond, one device.

  'after' (this loop): ONE jitted program per step = chunked tokenization of
  image and guide (prepare_batch images per device at a time) + both
  self-conditioning rounds + AdamW. Its peak is the loop's device peak
  (the host batch in flight is its argument).
  'before' (the old loop): a separate jit tokenized the whole global batch,
  then the train step ran on tokens. Its device peak is the larger of
  (tokenization peak + the resident train state) and the step's peak.
  """
  rows = []
  mesh = sharding.make_mesh((("data", 1), ("fsdp", 1)), jax.devices()[:1])
  repl = sharding.replicated(mesh)
  for b in batches:
    c = selfcond.get_config("imagenet256")
    c.batch_size = b
    c.prepare_batch = prepare_batch
    c.model.transformer.dtype = dtype
    trainer = loop.Trainer(c, mesh=mesh)
    state = checkpointing.abstract_with_shardings(trainer.abstract_state,
                                                  trainer.state_shardings)
    state_gb = sum(x.size * x.dtype.itemsize
                   for x in jax.tree.leaves(trainer.abstract_state)) / GB
    tok_cfg = trainer.recipe.tok_cfg
    frozen = {"tokenizer": _abstract(jax.eval_shape(
        lambda k: vqgan.init_params(tok_cfg, k, 256)["params"],
        jax.random.key(0)), repl)}
    frozen_sh = jax.tree.map(lambda x: x.sharding, frozen)
    bs = trainer.batch_sharding
    raw = {"image": jax.ShapeDtypeStruct((b, 256, 256, 3), jnp.float32,
                                         sharding=bs),
           "guide": jax.ShapeDtypeStruct((b, 256, 256, 3), jnp.float32,
                                         sharding=bs),
           "label": jax.ShapeDtypeStruct((b,), jnp.int32, sharding=bs)}
    seq = trainer.recipe.tr_cfg.seq_len
    tokens = {k: jax.ShapeDtypeStruct((b, seq), jnp.int32, sharding=bs)
              for k in ("tokens", "guide_tokens")}
    # Before: whole-batch tokenization jit + the step on tokens.
    t0 = time.perf_counter()
    prep = _analysis(jax.jit(trainer.recipe.prepare, out_shardings=bs).lower(
        frozen, raw).compile())
    step = _analysis(jax.jit(
        bench_common.step_on_prepared(trainer),
        in_shardings=(trainer.state_shardings, frozen_sh, bs),
        donate_argnums=(0,)).lower(state, frozen, tokens).compile())
    before = {"tokenize": prep, "step": step,
              "loop_peak_gb": max(prep["peak_estimate_gb"] + state_gb,
                                  step["peak_estimate_gb"]),
              "compile_s": time.perf_counter() - t0}
    # After: one program.
    t0 = time.perf_counter()
    after = _analysis(trainer.train_step_fn(frozen_shardings=frozen_sh).lower(
        state, frozen, raw).compile())
    after["loop_peak_gb"] = after["peak_estimate_gb"]
    after["compile_s"] = time.perf_counter() - t0
    row = {"batch": b, "dtype": dtype, "prepare_batch": prepare_batch,
           "state_gb": state_gb, "before": before, "after": after}
    print(json.dumps(row), flush=True)
    rows.append(row)
  return {"what": "ImageNet-256 selfcond training loop (tokenize image + "
                  "guide, 24 layers scan+remat, two rounds, AdamW), compiled "
                  "memory_analysis, 1 device; before = separate whole-batch "
                  "tokenization jit + step, after = one fused step with "
                  "chunked tokenization",
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
      io_utils.write_json(os.path.join(RESULTS, f"train_{name}.json"), out)


if __name__ == "__main__":
  main()
