r"""Accelerator benchmark of the ImageNet-256 architecture (random weights).

One command for a lent GPU (rewrites the JSON after every measured row, so
a timeout keeps what was measured; a file without `total_s` is from a run
that was stopped; `scripts/gpu_run.py` runs it with a short budget):

  PYTHONPATH=. timeout 540 python benchmarks/bench_gpu.py \
      --out=benchmarks/results/gpu_imagenet256.json

and the same code paths in seconds on a CPU (tests use this):

  JAX_PLATFORMS=cpu python benchmarks/bench_gpu.py --preset=tiny \
      --out=/tmp/gpu_tiny.json

Sections (each row records its variant):
  edit_latency: batch 1, one sample, sdedit strength 0.5, 12 steps entered at
    step 2 (10 transformer calls); 10% and 25% disc strokes; full-image and
    patch-local; per variant. `first_s` = first call (compile + run),
    `median_s` = steady state wall time of `Editor.edit` (host prepare +
    device + host composite), `device_median_s` = its device part.
  edit_throughput: edits/s with N edits in one call (batch 8/32/64).
  generate: class-conditional generation, 16 steps, batch 1 and 8.
  components: encode (image + guide), one transformer call, decode at batch 1
    (where an edit's time goes); `--trace_dir` also writes a jax.profiler
    trace of three steady-state edits of the first edit_latency setting
    (open with TensorBoard or Perfetto).
  train: transformer and selfcond train steps on a prepared batch (synthetic
    images, and painted guides for selfcond, tokenized ONCE by the recipe's
    `prepare`; the timed device step has no host data, strokes or
    tokenization), batch 64 and 256,
    bf16 compute with f32 parameters; step time, examples/s, model TFLOP/s,
    MFU (model FLOPs: 3x forward per trained pass, + 1 forward for the
    selfcond round 1; no remat recompute), compiled and device peak memory.

Levers (`--combos` = VARIANT:ATTENTION; "f32:reference" is today's default,
and the default list adds one lever at a time):
  f32   - float32 compute and parameters;
  bf16  - bfloat16 compute, float32 parameters;
  bf16p - bfloat16 compute and bfloat16 parameters (bf16 end to end);
  attention = reference (flax einsum) / auto (jax.nn.dot_product_attention;
  cuDNN flash attention on NVIDIA GPUs where it applies) / xla / cudnn
  (forced; fails on CPU). Training with fused attention also sets
  attention_dropout_rate=0 (the fused kernels have no attention dropout).
Static window buckets (`maskgit_edit.editor.bucket`) and donated train state
are always on; `compiles` counts the distinct compiled edit shapes.
"""

from __future__ import annotations

import datetime
import json
import os
import platform
import time
from typing import Any, Callable

from absl import app
from absl import flags
import jax
import jax.numpy as jnp
import numpy as np

import bench_common
from configs import models
from configs import selfcond as selfcond_cfg
from configs import transformer as transformer_cfg
from maskgit import io_utils
from maskgit import model as model_lib
from maskgit.nets import vqgan
from maskgit.nets.transformer import ATTENTION_IMPLS
from maskgit.training import loop
from maskgit.training import sharding
from maskgit_edit import editor as editor_lib

VARIANTS = ("f32", "bf16", "bf16p")
# Dense bf16 peak TFLOP/s per chip (vendor figures, no sparsity).
PEAK_TFLOPS = (("H200", 989.4), ("H100", 989.4), ("A100", 312.0),
               ("L40S", 362.0), ("L4", 121.0), ("TPU v5 lite", 197.0),
               ("TPU v5p", 459.0), ("TPU v4", 275.0), ("TPU v6", 918.0))

_PRESET = flags.DEFINE_string("preset", "imagenet256", "Model preset.")
_OUT = flags.DEFINE_string("out", "benchmarks/results/gpu_imagenet256.json",
                           "Output JSON (rewritten after every row).")
_SECTIONS = flags.DEFINE_list(
    "sections", ["edit_latency", "edit_throughput", "train", "components",
                 "generate"],
    "Sections to run, in this order (the goals' figures first).")
_COMBOS = flags.DEFINE_list(
    "combos", ["f32:reference", "bf16:reference", "bf16p:reference",
               "bf16p:auto"],
    "variant:attention settings of edit_latency, one lever added at a time; "
    "edit_throughput, generate and components run the first and the last.")
_TRAIN_ATTENTION = flags.DEFINE_list(
    "train_attention", ["reference", "auto"],
    "attention_impl values of the train section.")
_FRACTIONS = flags.DEFINE_list("fractions", ["0.1", "0.25"], "Stroke areas.")
_MODES = flags.DEFINE_list("modes", ["full", "patch_local"], "Edit modes.")
_EDIT_BATCHES = flags.DEFINE_list("edit_batches", ["8", "32", "64"],
                                  "Edits per call for throughput.")
_GEN_BATCHES = flags.DEFINE_list("gen_batches", ["1", "8"],
                                 "Generation batches.")
_TRAIN_BATCHES = flags.DEFINE_list("train_batches", ["64", "256"],
                                   "Train step batches.")
_TRAIN_RECIPES = flags.DEFINE_list("train_recipes",
                                   ["transformer", "selfcond"], "Recipes.")
_TRAIN_STEPS = flags.DEFINE_integer("train_steps", 20, "Timed train steps.")
_REPEATS = flags.DEFINE_integer("repeats", 10, "Timed calls per setting.")
_PEAK = flags.DEFINE_float("peak_tflops", 0.0,
                           "Peak bf16 TFLOP/s per device (0: by name).")
_TRACE_DIR = flags.DEFINE_string(
    "trace_dir", "", "Write a jax.profiler trace of 3 steady-state edits (the "
    "first edit_latency setting) here.")
_SIDES = flags.DEFINE_list(
    "component_sides", [], "Window sides (tokens) for the components section "
    "(default: the full grid and a 5/8 bucketed window).")
_BUDGET = flags.DEFINE_float(
    "time_budget_s", 0.0, "After this many seconds, start no new setting: "
    "later sections are listed in 'skipped', cut ones in 'truncated' "
    "(0 = no budget).")


_CLOCK = {"start": time.perf_counter(), "truncated": set()}


def over_budget(section: str) -> bool:
  """True (and `section` marked truncated) once --time_budget_s is spent."""
  budget = _BUDGET.value
  if budget and time.perf_counter() - _CLOCK["start"] > budget:
    _CLOCK["truncated"].add(section)
    return True
  return False


# The results being written and the section running (set by main), so that
# every row reaches --out at once: a run killed mid-section (a device
# command's time limit) keeps its finished rows.
_LIVE: dict[str, Any] = {}


def _emit(rows: list[dict], row: dict) -> None:
  """Prints `row`, appends it to `rows` and rewrites --out with it."""
  print(json.dumps(row), flush=True)
  rows.append(row)
  if _LIVE:
    _LIVE["results"]["sections"][_LIVE["section"]] = rows
    _write(_LIVE["results"], _OUT.value)


def environment() -> dict[str, Any]:
  dev = jax.devices()[0]
  return dict(backend=jax.default_backend(), device_kind=dev.device_kind,
              device=str(dev), num_devices=jax.device_count(),
              jax=jax.__version__, platform=platform.platform(),
              cpus=os.cpu_count(),
              date=datetime.datetime.now(datetime.timezone.utc).isoformat(
                  timespec="seconds"))


def peak_flops() -> float | None:
  """Peak bf16 FLOP/s of one device (flag, else by device kind, else None)."""
  if _PEAK.value > 0:
    return _PEAK.value * 1e12
  kind = jax.devices()[0].device_kind
  for name, tf in PEAK_TFLOPS:
    if name.lower() in kind.lower():
      return tf * 1e12
  return None


def device_peak_bytes() -> int | None:
  stats = jax.devices()[0].memory_stats() or {}
  return stats.get("peak_bytes_in_use")


def model_config(preset: str, variant: str, attention: str):
  """Model ConfigDict of `preset` with the variant's compute dtype."""
  if variant not in VARIANTS:
    raise ValueError(f"Unknown variant {variant!r}; choose from {VARIANTS}.")
  c = models.get_config(preset)
  dtype = "float32" if variant == "f32" else "bfloat16"
  c.tokenizer.dtype = dtype
  c.transformer.dtype = dtype
  with c.transformer.unlocked():
    c.transformer.attention_impl = attention
  return c


def build_model(preset: str, variant: str, attention: str
                ) -> model_lib.MaskGIT:
  m = model_lib.MaskGIT.random(model_config(preset, variant, attention), 0)
  if variant == "bf16p":
    cast = lambda t: jax.tree.map(lambda a: a.astype(jnp.bfloat16), t)
    m.tokenizer_params = cast(m.tokenizer_params)
    m.transformer_params = cast(m.transformer_params)
  return m


def timed(fn: Callable[[], Any], repeats: int) -> tuple[float, list[float],
                                                         Any]:
  """(first call seconds, steady-state times, last output); blocks."""
  t0 = time.perf_counter()
  out = jax.block_until_ready(fn())
  first = time.perf_counter() - t0
  times = []
  for _ in range(repeats):
    t0 = time.perf_counter()
    out = jax.block_until_ready(fn())
    times.append(time.perf_counter() - t0)
  return first, times, out


def _stats(prefix: str, first: float, times: list[float]) -> dict[str, float]:
  return {f"{prefix}first_s": first,
          f"{prefix}median_s": float(np.median(times)),
          f"{prefix}min_s": float(np.min(times))}


def _combos(ends_only: bool = False) -> list[tuple[str, str]]:
  """[(variant, attention)] from --combos (first and last if ends_only)."""
  out = []
  for item in _COMBOS.value:
    variant, _, attention = item.partition(":")
    if variant not in VARIANTS or attention not in ATTENTION_IMPLS:
      raise app.UsageError(f"Bad combo {item!r}: want VARIANT:ATTENTION with "
                           f"VARIANT in {VARIANTS}, ATTENTION in "
                           f"{ATTENTION_IMPLS}.")
    out.append((variant, attention))
  if ends_only and len(out) > 2:
    out = [out[0], out[-1]]
  return out


def edit_latency(preset: str, repeats: int) -> list[dict]:
  rows = []
  for variant, attention in _combos():
    if over_budget("edit_latency"):
      break
    m = build_model(preset, variant, attention)
    ed = editor_lib.Editor(m)
    for frac in map(float, _FRACTIONS.value):
      image, guide, _ = bench_common.stroke_inputs(m.image_size, frac)
      for mode in _MODES.value:
        if over_budget("edit_latency"):
          break
        opts = editor_lib.EditOptions(method="sdedit",
                                      patch_local=mode == "patch_local")
        results = []

        def run(o=opts):
          res = ed.edit(image, guide, labels=1, strength=0.5, seed=0,
                        options=o)
          results.append(res)
          return res.images
        first, times, _ = timed(run, repeats)
        device = [r.timings["device"] for r in results[1:]]
        if _TRACE_DIR.value and not rows:
          with jax.profiler.trace(_TRACE_DIR.value):
            for _ in range(3):
              run()
        row = dict(variant=variant, attention=attention, stroke_fraction=frac,
                   mode=mode, batch=1,
                   window_tokens=int(results[-1].tokens.samples.shape[-1]),
                   device_median_s=float(np.median(device)),
                   **_stats("", first, times))
        _emit(rows, row)
  return rows


def edit_throughput(preset: str, repeats: int) -> list[dict]:
  rows = []
  for variant, attention in _combos(ends_only=True):
    m = build_model(preset, variant, attention)
    ed = editor_lib.Editor(m)
    image, guide, _ = bench_common.stroke_inputs(m.image_size, 0.1)
    for mode in _MODES.value:
      opts = editor_lib.EditOptions(method="sdedit",
                                    patch_local=mode == "patch_local")
      for n in map(int, _EDIT_BATCHES.value):
        if over_budget("edit_throughput"):
          break
        imgs = np.repeat(image[None], n, 0)
        gds = np.repeat(guide[None], n, 0)
        first, times, _ = timed(lambda o=opts, i=imgs, g=gds: ed.edit(
            i, g, labels=1, strength=0.5, seed=0, options=o).images,
                                max(1, repeats // 2))
        med = float(np.median(times))
        row = dict(variant=variant, attention=attention, mode=mode,
                   stroke_fraction=0.1, batch=n, edits_per_s=n / med,
                   **_stats("", first, times))
        _emit(rows, row)
  return rows


def generate(preset: str, repeats: int) -> list[dict]:
  rows = []
  for variant, attention in _combos(ends_only=True):
    m = build_model(preset, variant, attention)
    for n in map(int, _GEN_BATCHES.value):
      if over_budget("generate"):
        break
      labels = list(range(n))
      first, times, _ = timed(lambda l=labels: m.generate(l, seed=0),
                              max(1, repeats // 2))
      row = dict(variant=variant, attention=attention, batch=n, num_iter=16,
                 images_per_s=n / float(np.median(times)),
                 **_stats("", first, times))
      _emit(rows, row)
  return rows


def components(preset: str, repeats: int) -> list[dict]:
  """Encode / one transformer call / decode at batch 1, full and window."""
  rows = []
  for variant, attention in _combos(ends_only=True):
    m = build_model(preset, variant, attention)
    enc = jax.jit(lambda p, x: m.tokenizer.apply(
        {"params": p}, x, method=vqgan.VQGAN.encode_ids))
    dec = jax.jit(lambda p, x: m.tokenizer.apply(
        {"params": p}, x, method=vqgan.VQGAN.decode_ids))
    tr = jax.jit(lambda p, x: m.transformer.apply({"params": p}, x))
    sides = ([int(x) for x in _SIDES.value] or
             sorted({m.side, editor_lib.bucket(max(2, m.side * 5 // 8),
                                               m.side)}, reverse=True))
    for n in sides:
      if over_budget("components"):
        break
      px = n * m.factor
      row = dict(variant=variant, attention=attention, side_tokens=n)
      for name, fn, args in (
          ("encode_image_and_guide", enc,
           (m.tokenizer_params, jnp.zeros((2, px, px, 3)))),
          ("transformer_call", tr,
           (m.transformer_params, jnp.zeros((1, n * n + 1), jnp.int32))),
          ("decode", dec,
           (m.tokenizer_params, jnp.zeros((1, n, n), jnp.int32)))):
        first, times, _ = timed(lambda f=fn, a=args: f(*a), repeats)
        row.update(_stats(f"{name}_", first, times))
      row["edit_estimate_s"] = (row["encode_image_and_guide_median_s"] +
                                10 * row["transformer_call_median_s"] +
                                row["decode_median_s"])
      _emit(rows, row)
  return rows


def transformer_flops(tc, batch: int) -> float:
  """Forward FLOPs (2 per multiply-add) of the transformer on full sequences."""
  d, l, m_, v = tc.hidden_size, tc.seq_len, tc.mlp_dim, tc.vocab_size
  per_token_layer = 2 * (4 * d * d + 2 * d * m_) + 2 * 2 * l * d
  head = 2 * (d * d + d * v)
  return batch * l * (tc.num_layers * per_token_layer + head)


def train_config(recipe: str, preset: str, batch: int, attention: str):
  mod = {"transformer": transformer_cfg, "selfcond": selfcond_cfg}[recipe]
  c = mod.get_config(preset)
  c.batch_size = batch
  c.model.transformer.dtype = "bfloat16"
  with c.model.transformer.unlocked():
    c.model.transformer.attention_impl = attention
  if attention != "reference":
    c.model.transformer.attention_dropout_rate = 0.0
  return c


def synthetic_batch(trainer, recipe: str, b: int) -> dict:
  """A tokenized batch as the recipe's step sees it (prepared once, here).

  Random images (and, for selfcond, the images with a painted square as
  guides) go through the recipe's own `prepare` (the frozen VQGAN encode),
  so the timed step gets exactly the keys and shapes training feeds it.
  """
  size = trainer.recipe.model_info()["image_size"]
  rng = np.random.default_rng(0)
  raw = {"image": rng.random((b, size, size, 3), np.float32),
         "label": np.zeros((b,), np.int32)}
  if recipe == "selfcond":
    guide = raw["image"].copy()
    lo, hi = size // 4, size // 2
    guide[:, lo:hi, lo:hi] = rng.random((b, 1, 1, 3), np.float32)
    raw["guide"] = guide
  raw = jax.device_put(raw, trainer.batch_sharding)
  return jax.jit(trainer.prepare)(trainer.frozen, raw)


def train(preset: str, steps: int) -> list[dict]:
  rows = []
  peak = peak_flops()
  mesh = sharding.make_mesh((("data", 1), ("fsdp", 1)), jax.devices()[:1])
  for recipe in _TRAIN_RECIPES.value:
    for attention in _TRAIN_ATTENTION.value:
      for b in map(int, _TRAIN_BATCHES.value):
        if over_budget("train"):
          break
        c = train_config(recipe, preset, b, attention)
        trainer = loop.Trainer(c, mesh=mesh)
        tc = trainer.recipe.tr_cfg
        batch = jax.device_put(synthetic_batch(trainer, recipe, b),
                               trainer.batch_sharding)
        frozen = trainer.frozen
        step_fn = jax.jit(bench_common.step_on_prepared(trainer),
                          donate_argnums=(0,))
        state = trainer.init_state()
        t0 = time.perf_counter()
        compiled = step_fn.lower(state, frozen, batch).compile()
        compile_s = time.perf_counter() - t0
        mem = compiled.memory_analysis()
        state, metrics = compiled(state, frozen, batch)  # Warm-up.
        jax.block_until_ready(metrics)
        t0 = time.perf_counter()
        for _ in range(steps):
          state, metrics = compiled(state, frozen, batch)
        jax.block_until_ready(metrics)
        step_s = (time.perf_counter() - t0) / steps
        fwd = transformer_flops(tc, b)
        flops = fwd * (4 if recipe == "selfcond" else 3)
        row = dict(recipe=recipe, attention=attention, batch=b,
                   dtype="bfloat16 compute, float32 params",
                   compile_s=compile_s, step_s=step_s,
                   steps_per_s=1.0 / step_s, examples_per_s=b / step_s,
                   model_tflops_per_step=flops / 1e12,
                   achieved_tflops=flops / step_s / 1e12,
                   mfu=None if peak is None else flops / step_s / peak,
                   loss=float(metrics["loss"]))
        if mem is not None:
          row["compiled_peak_gb"] = (
              mem.argument_size_in_bytes + mem.output_size_in_bytes +
              mem.temp_size_in_bytes - mem.alias_size_in_bytes) / 1e9
        row["device_peak_gb_so_far"] = (
            None if device_peak_bytes() is None else device_peak_bytes() / 1e9)
        _emit(rows, row)
        del state, compiled
  return rows


def _write(results: dict, path: str) -> None:
  io_utils.write_json(path, results)


def main(argv):
  del argv
  start = _CLOCK["start"] = time.perf_counter()
  preset, repeats = _PRESET.value, _REPEATS.value
  peak = peak_flops()
  results = dict(
      what=f"{preset} architecture, random weights; see the docstring of "
      "benchmarks/bench_gpu.py", preset=preset, env=environment(),
      peak_tflops=None if peak is None else peak / 1e12,
      flags=dict(combos=_COMBOS.value,
                 train_attention=_TRAIN_ATTENTION.value, repeats=repeats,
                 train_steps=_TRAIN_STEPS.value),
      sections={}, skipped=[])
  fns = dict(edit_latency=lambda: edit_latency(preset, repeats),
             edit_throughput=lambda: edit_throughput(preset, repeats),
             generate=lambda: generate(preset, repeats),
             components=lambda: components(preset, repeats),
             train=lambda: train(preset, _TRAIN_STEPS.value))
  unknown = sorted(set(_SECTIONS.value) - set(fns))
  if unknown:
    raise app.UsageError(f"Unknown sections {unknown}; choose from "
                         f"{sorted(fns)}.")
  for name in _SECTIONS.value:
    elapsed = time.perf_counter() - start
    if _BUDGET.value and elapsed > _BUDGET.value:
      results["skipped"].append(name)
      continue
    t0 = time.perf_counter()
    _LIVE.update(results=results, section=name)
    results["sections"][name] = fns[name]()
    results.setdefault("section_s", {})[name] = time.perf_counter() - t0
    results["truncated"] = sorted(_CLOCK["truncated"])
    _write(results, _OUT.value)
  if _TRACE_DIR.value and "edit_latency" in results["sections"]:
    results["trace_dir"] = _TRACE_DIR.value
  results["device_peak_gb"] = (None if device_peak_bytes() is None
                               else device_peak_bytes() / 1e9)
  results["total_s"] = time.perf_counter() - start
  _write(results, _OUT.value)
  print(f"Wrote {_OUT.value} in {results['total_s']:.1f} s")


if __name__ == "__main__":
  app.run(main)
