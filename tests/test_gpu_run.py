"""scripts/gpu_run.py: budgets, skips, kills, the pack, data; end to end.

The fast tests drive the runner with small stand-in commands (seconds); the
`slow` one runs the whole script on the CPU with the tiny presets.
"""

import importlib.util
import json
import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "gpu_run.py"


def _load():
  name = "gpu_run_under_test"  # Imported once: it defines absl flags.
  if name not in sys.modules:
    spec = importlib.util.spec_from_file_location(name, SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
  return sys.modules[name]


gr = _load()


def _py(code: str):
  return lambda budget: [sys.executable, "-c", code]


def _tiny_sets(path, size=32):
  """A v2-like npz: labels 0..2 ('Noto', < 9) and 9 (another set)."""
  rng = np.random.default_rng(0)
  labels = np.array([0, 1, 2, 9] * 8, np.int32)
  np.savez(path,
           train_image=rng.integers(0, 256, (24, size, size, 3), np.uint8),
           train_label=labels[:24],
           train_id=np.array([f"s/{i}" for i in range(24)]),
           test_image=rng.integers(0, 256, (8, size, size, 3), np.uint8),
           test_label=labels[24:],
           test_id=np.array([f"s/{i}" for i in range(8)]))
  return path


def test_part_budget_keeps_the_later_reserved_minimums():
  b = {"a": gr.Budget(100, 10), "b": gr.Budget(50, 20),
       "c": gr.Budget(float("inf"), 30, reserved=False)}
  assert gr.part_budget("a", ["b", "c"], 500, b) == 100  # Its max.
  assert gr.part_budget("a", ["b", "c"], 90, b) == 70  # Leaves b's 20.
  assert gr.part_budget("c", [], 42, b) == 42  # All that is left.
  with pytest.raises(gr.app.UsageError, match="NAME=MAX:MIN"):
    gr.parse_budgets(["nope=1:2"])
  assert gr.parse_budgets(["bench=60:30"])["bench"] == gr.Budget(60, 30)
  # The defaults fit one 540 s command with the diffusion run optional.
  d = gr.BUDGETS
  assert sum(d[n].max_s for n in gr.PART_NAMES[:-1]) <= 540
  assert not d["diffusion"].reserved


def test_parts_turn_their_budget_into_limits(tmp_path):
  if not gr.flags.FLAGS.is_parsed():
    gr.flags.FLAGS(["gpu_run"])  # Defaults.
  parts = {p.name: p for p in gr.build_parts(str(tmp_path / "out"),
                                             str(tmp_path), "d.npz")}
  assert list(parts) == list(gr.PART_NAMES)
  env = parts["transformer"].env(175)
  # The loop stops at 145 s after its start-up; the script's hard timeout
  # (limit + SLACK_S) falls at the budget, the runner's kill after it.
  assert (env["STAGES"], env["L_TR"], env["SLACK_S"], env["DEADLINE_S"]) == (
      "transformer", "145", "30", "175")
  assert parts["selfcond"].needs[1:] == [
      f"{tmp_path}/v2/export/tokenizer.msgpack",
      f"{tmp_path}/v2/export/transformer.msgpack"]
  assert "--time_budget_s=60" in parts["bench"].command(90)
  diff = parts["diffusion"].command(200)
  assert "--config.time_limit_s=170" in diff
  assert "--config.batch_size=128" in diff


def test_runner_skips_kills_and_keeps_earlier_outputs(tmp_path):
  out, work = tmp_path / "out", tmp_path / "work"
  out.mkdir()
  work.mkdir()
  made, partial = work / "made.bin", work / "partial.txt"
  budgets = {"first": gr.Budget(30, 1), "slow": gr.Budget(1.5, 1),
             "needs": gr.Budget(30, 1), "crash": gr.Budget(30, 1),
             "late": gr.Budget(float("inf"), 1e6, reserved=False)}
  parts = [
      gr.Part("first", _py(
          f"open({str(made)!r}, 'wb').write(bytes(range(256)) * 40);"
          "print('Finished at step 7 (time_limit).')"),
              outputs=lambda: [("first/made.bin", str(made))]),
      # Writes a file, then outlives its budget in a grandchild that runs in
      # its own process group (as `timeout` does): all of it is killed and
      # the file is still packed.
      gr.Part("slow", lambda budget: [
          "bash", "-c", f"echo partial > {partial}; "
          f"timeout 120 sleep 120 & echo $! > {work}/pid; wait"],
              outputs=lambda: [("slow/partial.txt", str(partial))]),
      gr.Part("needs", _py("pass"), needs=[str(work / "absent.msgpack")]),
      gr.Part("crash", _py("import sys; print('boom'); sys.exit(3)")),
      gr.Part("late", _py("pass")),
  ]
  pack = gr.Pack(str(out), 4096, 1 << 20, 16)
  runner = gr.Runner(str(out), 600, budgets, 0.5, pack)
  runner.run(parts)

  summary = json.loads((out / "summary.json").read_text())
  status = {p["name"]: p for p in summary["parts"]}
  assert [p["name"] for p in summary["parts"]] == [p.name for p in parts]
  assert status["first"]["status"] == "time_limit"
  assert status["first"]["step"] == 7
  assert status["slow"]["status"] == "killed" and status["slow"]["rc"] is None
  assert status["needs"]["status"] == "skipped"
  assert "absent.msgpack" in status["needs"]["reason"]
  assert status["crash"]["status"] == "failed" and status["crash"]["rc"] == 3
  assert status["late"] == dict(name="late", budget_s=status["late"][
      "budget_s"], status="skipped", reason="no time")
  assert summary["done"] and summary["budgets"]["late"]["max_s"] is None
  # The grandchild is gone (or a zombie waiting for a parent's wait).
  pid = int((work / "pid").read_text())
  if os.path.exists(f"/proc/{pid}/stat"):
    assert open(f"/proc/{pid}/stat").read().split(") ")[1][0] == "Z"
  log = (out / "run.log").read_text()
  assert "=== late: skipped" in log and "boom" in log
  # Two archives (10 KB and 10 bytes) in 4 KB parts; both files come back.
  assert len(summary["pack"]) > 2
  assert all((out / p).stat().st_size <= 4096 for p in summary["pack"])
  rows = gr.unpack(str(out), str(tmp_path / "got"))
  assert {r["name"]: r["status"] for r in rows} == {
      "first/made.bin": "ok", "slow/partial.txt": "ok"}
  assert (tmp_path / "got" / "first" / "made.bin").read_bytes() == (
      made.read_bytes())


def test_pack_cap_and_a_cut_off_last_archive(tmp_path):
  out = tmp_path / "out"
  out.mkdir()
  files = []
  for i, size in enumerate((3000, 50_000, 2000)):
    p = tmp_path / f"f{i}"
    p.write_bytes(os.urandom(size))
    files.append((f"g/f{i}", str(p)))
  pack = gr.Pack(str(out), 8192, 40_000, 8)
  first = pack.add(files[:1])
  second = pack.add(files[1:])
  assert "sha256" in first[0]
  assert second[0]["left_out"].startswith("pack cap")  # 50 KB > the cap.
  assert "sha256" in second[1]  # A later, smaller file still fits.
  assert pack.size <= 40_000
  (out / "summary.json").write_text(json.dumps(
      {"parts": [{"files": first}, {"files": second}]}))
  rows = gr.unpack(str(out), str(tmp_path / "a"))
  assert [r["status"] for r in rows] == ["ok", "ok"]
  # Cut the stream inside the second archive (a run killed while packing):
  # the first archive's file survives.
  stream = b"".join((out / p).read_bytes() for p in pack.parts)
  first_archive = 10240  # One small file: one tar record.
  for p in pack.parts:
    (out / p).unlink()
  (out / "pack.000").write_bytes(stream[:first_archive + 700])
  rows = gr.unpack(str(out), str(tmp_path / "b"))
  assert {r["name"]: r["status"] for r in rows} == {"g/f0": "ok",
                                                    "g/f2": "missing"}


def test_prepare_then_unpack_data_and_noto_subset(tmp_path):
  src = _tiny_sets(tmp_path / "sets.npz")
  path, counts = gr.prepare(str(src), str(tmp_path / "gpu"), 5, 0)
  assert path.endswith("sets_gpu.npz.xz") and counts == {"train": 24,
                                                          "test": 5}
  work = tmp_path / "work"
  work.mkdir()
  npz = gr.unpack_data(path, str(work))
  with np.load(npz) as got, np.load(src) as want:
    assert sorted(got.files) == ["test_image", "test_label", "train_image",
                                 "train_label"]  # No ids.
    np.testing.assert_array_equal(got["train_image"], want["train_image"])
    test = {x.tobytes() for x in want["test_image"]}
    assert all(x.tobytes() in test for x in got["test_image"])
  assert gr.noto_subset(npz, str(work / "noto.npz"))["train"] == 18
  with np.load(work / "noto.npz") as noto:
    assert set(noto["train_label"].tolist()) == {0, 1, 2}
  pathlib.Path(path + ".sha256").write_text("0" * 64 + "  x\n")
  with pytest.raises(ValueError, match="sha256"):
    gr.unpack_data(path, str(work))


def test_bench_goals_pick_the_best_row_of_each_goal():
  bench = {"sections": {
      "edit_latency": [
          dict(variant="f32", attention="reference", mode="full",
               stroke_fraction=0.1, batch=1, median_s=0.05),
          dict(variant="bf16p", attention="auto", mode="patch_local",
               stroke_fraction=0.1, batch=1, median_s=0.012)],
      "edit_throughput": [dict(variant="bf16p", batch=64, edits_per_s=420.0)],
      "train": [dict(recipe="transformer", batch=256, mfu=None),
                dict(recipe="transformer", batch=256, mfu=0.45)]}}
  goals = {g["goal"]: g for g in gr.bench_goals(bench)}
  lat = goals["edit latency, batch 1 (s)"]
  assert lat["measured"] == 0.012 and lat["met"] is True
  assert "mode=patch_local" in lat["setting"]
  assert goals["edits/s"]["met"] is False
  assert goals["train MFU"]["measured"] == 0.45
  assert all(g["measured"] is None and g["met"] is None
             for g in gr.bench_goals({"sections": {}}))


def _run(args, env=None, timeout=120):
  return subprocess.run([sys.executable, str(SCRIPT), *args], cwd=ROOT,
                        env=dict(os.environ, **(env or {})),
                        capture_output=True, text=True, timeout=timeout,
                        check=False)


def test_cli_rejects_bad_input(tmp_path):
  proc = _run(["run", f"--out={tmp_path}", "--parts=tokenizer,nope"])
  assert proc.returncode != 0 and "Unknown parts ['nope']" in proc.stderr
  proc = _run(["go"])
  assert proc.returncode != 0 and "prepare|run|unpack" in proc.stderr
  proc = _run(["prepare", f"--npz={tmp_path}/absent.npz"])
  assert proc.returncode != 0 and "No dataset at" in proc.stderr


def test_run_without_data_skips_what_needs_it(tmp_path):
  out = tmp_path / "out"
  proc = _run(["run", f"--out={out}", f"--work={tmp_path / 'w'}",
               f"--data={tmp_path}/absent.npz.xz", "--wheels=",
               "--parts=tokenizer,selfcond,diffusion"])
  assert proc.returncode == 0, proc.stderr[-2000:]
  summary = json.loads((out / "summary.json").read_text())
  assert [(p["name"], p["status"]) for p in summary["parts"]] == [
      ("tokenizer", "skipped"), ("selfcond", "skipped"),
      ("diffusion", "skipped")]
  assert all("missing" in p["reason"] for p in summary["parts"])
  assert "not found" in (out / "run.log").read_text()


@pytest.mark.slow
def test_whole_run_on_cpu_with_tiny_presets(tmp_path):
  out, work = tmp_path / "out", tmp_path / "work"
  data = _tiny_sets(tmp_path / "sets.npz")
  path, _ = gr.prepare(str(data), str(tmp_path / "gpu"), 6, 0)
  env = dict(JAX_PLATFORMS="cpu", N_TOK="2", N_TR="2", N_SC="2", BATCH="8")
  proc = _run([
      "run", f"--out={out}", f"--work={work}", f"--data={path}", "--wheels=",
      "--v2_preset=tiny", "--diffusion_preset=tiny",
      "--diffusion_args=--config.num_steps=2",
      "--bench_args=--preset=tiny --sections=components "
      "--combos=f32:reference --component_sides=8 --repeats=1",
      "--stage_overhead_s=5", "--bench_margin_s=5", "--deadline_s=3000",
      "--budgets=tokenizer=600:10,transformer=600:10,selfcond=600:10,"
      "bench=600:10,diffusion=inf:10"], env=env, timeout=3000)
  assert proc.returncode == 0, (proc.stdout[-3000:], proc.stderr[-3000:])
  summary = json.loads((out / "summary.json").read_text())
  assert [(p["name"], p["status"], p.get("step")) for p in
          summary["parts"]] == [("tokenizer", "ok", 2),
                                ("transformer", "ok", 2),
                                ("selfcond", "ok", 2), ("bench", "ok", None),
                                ("diffusion", "ok", 2)]
  assert len(os.listdir(out)) <= gr.OUT_MAX_FILES
  bench = json.loads((out / "gpu_bench.json").read_text())
  assert bench["sections"]["components"] and bench["total_s"] > 0
  rows = gr.unpack(str(out), str(tmp_path / "got"))
  assert all(r["status"] == "ok" for r in rows), rows
  names = {r["name"] for r in rows}
  assert {"v2/tokenizer.msgpack", "v2/transformer.msgpack",
          "v2/selfcond.msgpack", "diffusion/diffusion.msgpack",
          "v2/selfcond_metrics.jsonl"} <= names
  # The diffusion baseline trained on the 'Noto' part (labels < 9) only.
  assert "{'train': 18, 'test'" in (out / "run.log").read_text()
  # The report reads it all back: parts, PSNR of the tiny tokenizer (far
  # from the 28 dB ship rule after 2 steps), no goal figure (components
  # only).
  report = tmp_path / "report.json"
  proc = _run(["report", f"--src={out}", f"--dest={tmp_path / 'got'}",
               f"--npz={data}", "--v2_preset=tiny", f"--report_out={report}"],
              env=dict(JAX_PLATFORMS="cpu"), timeout=600)
  assert proc.returncode == 0, proc.stderr[-3000:]
  res = json.loads(report.read_text())
  assert [p["status"] for p in res["parts"]] == ["ok"] * 5
  assert res["v2"]["test_images"] == 8 and res["v2"]["ship"] is False
  assert 0 < res["v2"]["psnr_db"] < 28
  assert all(g["measured"] is None for g in res["goals"])
  assert "| tokenizer | ok |" in proc.stdout
