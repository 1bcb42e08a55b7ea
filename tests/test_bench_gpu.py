"""benchmarks/bench_gpu.py runs end to end on the CPU with the tiny preset."""

import json
import os
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]


def test_bench_gpu_tiny_writes_every_section(tmp_path):
  out = tmp_path / "gpu_tiny.json"
  trace = tmp_path / "trace"
  cmd = [sys.executable, str(ROOT / "benchmarks" / "bench_gpu.py"),
         "--preset=tiny", f"--out={out}", "--combos=f32:auto",
         "--train_attention=auto", "--fractions=0.1", "--modes=patch_local",
         "--edit_batches=2", "--gen_batches=1", "--train_batches=8",
         "--repeats=1", "--train_steps=1", "--peak_tflops=1",
         "--component_sides=8",
         f"--trace_dir={trace}"]
  env = dict(os.environ, JAX_PLATFORMS="cpu")
  proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True,
                        text=True, timeout=1200, check=False)
  assert proc.returncode == 0, proc.stderr[-3000:]
  res = json.loads(out.read_text())
  assert res["env"]["backend"] == "cpu" and res["env"]["jax"]
  assert res["skipped"] == [] and res["truncated"] == []
  sec = res["sections"]
  assert set(sec) == {"edit_latency", "edit_throughput", "generate",
                      "components", "train"}
  (lat,) = sec["edit_latency"]
  assert lat["variant"] == "f32" and lat["attention"] == "auto"
  assert 0 < lat["median_s"] < lat["first_s"] + 60
  assert 0 < lat["device_median_s"] <= lat["median_s"]
  (thr,) = sec["edit_throughput"]
  assert thr["batch"] == 2 and thr["edits_per_s"] > 0
  assert sec["generate"][0]["images_per_s"] > 0
  assert all(r["edit_estimate_s"] > 0 for r in sec["components"])
  train = sec["train"]
  assert {r["recipe"] for r in train} == {"transformer", "selfcond"}
  for r in train:
    assert r["batch"] == 8 and r["examples_per_s"] > 0
    assert r["mfu"] == r["achieved_tflops"] / 1.0  # --peak_tflops=1.
    assert r["compiled_peak_gb"] > 0
  selfcond = next(r for r in train if r["recipe"] == "selfcond")
  transformer = next(r for r in train if r["recipe"] == "transformer")
  # Model FLOPs: selfcond adds a round-1 forward (4F vs 3F).
  assert abs(selfcond["model_tflops_per_step"] /
             transformer["model_tflops_per_step"] - 4 / 3) < 1e-9
  assert any(trace.rglob("*.xplane.pb"))


def test_bench_gpu_rejects_unknown_section(tmp_path):
  cmd = [sys.executable, str(ROOT / "benchmarks" / "bench_gpu.py"),
         "--preset=tiny", f"--out={tmp_path / 'x.json'}",
         "--sections=edit,train"]
  proc = subprocess.run(cmd, cwd=ROOT, env=dict(os.environ,
                                                JAX_PLATFORMS="cpu"),
                        capture_output=True, text=True, timeout=300,
                        check=False)
  assert proc.returncode != 0
  assert "Unknown sections ['edit']" in proc.stderr


def test_bench_gpu_time_budget_skips_sections(tmp_path):
  out = tmp_path / "budget.json"
  cmd = [sys.executable, str(ROOT / "benchmarks" / "bench_gpu.py"),
         "--preset=tiny", f"--out={out}", "--time_budget_s=1e-9"]
  proc = subprocess.run(cmd, cwd=ROOT, env=dict(os.environ,
                                                JAX_PLATFORMS="cpu"),
                        capture_output=True, text=True, timeout=300,
                        check=False)
  assert proc.returncode == 0, proc.stderr[-3000:]
  res = json.loads(out.read_text())
  assert res["sections"] == {}
  assert res["skipped"] == ["edit_latency", "edit_throughput", "train",
                            "components", "generate"]
