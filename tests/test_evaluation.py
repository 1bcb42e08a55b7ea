"""The evaluation protocol: statistics, metrics, and the quick run end to end."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from configs import evaluation as eval_config
from maskgit_edit.evaluation import metrics
from maskgit_edit.evaluation import runner
from maskgit_edit.evaluation import sheets
from maskgit_edit.evaluation import stats

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_kid_bootstrap_matches_the_estimator_and_ignores_duplicates():
  rng = np.random.default_rng(0)
  x, y = rng.normal(size=(40, 6)), rng.normal(size=(80, 6))
  kb = stats.KidBootstrap(x, y)
  assert kb.value() == pytest.approx(metrics.polynomial_mmd2(x, y))
  # Resamples repeat images: identical copies are not counted as independent
  # samples, so the replicates centre on the estimate (no upward bias).
  reps = kb.replicates(stats.bootstrap_indices(40, 400, 1))
  assert abs(np.mean(reps) - kb.value()) < 0.3 * np.std(reps)
  # Several outputs per image (seeds): equal to the flat estimator.
  x2 = rng.normal(size=(40, 6))
  both = np.stack([x, x2], 1).reshape(80, 6)
  kb2 = stats.KidBootstrap(both, y, per_image=2)
  assert kb2.value() == pytest.approx(metrics.polynomial_mmd2(both, y))
  far = stats.KidBootstrap(x + 3, y)
  iv = stats.kid_diff_interval(far, kb, stats.bootstrap_indices(40, 200, 2))
  assert iv.verdict == "+"


def test_paired_intervals_and_ties():
  rng = np.random.default_rng(0)
  a = rng.normal(size=200)
  res = stats.bootstrap_indices(200, 500, 0)
  assert stats.diff_interval(a + 1.0, a, res).verdict == "+"
  assert stats.diff_interval(a + rng.normal(0, 0.01, 200), a,
                             res).verdict == "tie"
  groups = np.repeat(np.arange(10), 3)
  for r in stats.cluster_indices(groups, 20, 0):
    counts = np.bincount(groups[r], minlength=10)
    assert set(counts) <= {0, 3, 6, 9, 12, 15, 18, 21, 24, 27, 30}


def test_seam_and_metric_table():
  rng = np.random.default_rng(0)
  image = (rng.random((2, 32, 32, 3)) * 0.2 + 0.4).astype(np.float32)
  masks = np.zeros((2, 32, 32), bool)
  masks[:, 8:20, 8:20] = True
  paste = image.copy()
  paste[masks] = (1.0, 0.0, 0.0)
  assert np.all(metrics.seam_rmse(image, image, masks) == 0)
  assert np.all(metrics.seam_rmse(paste, image, masks) > 10)
  full = np.ones((2, 32, 32), bool)
  assert np.all(np.isnan(metrics.seam_rmse(image, image, full)))
  assert {m.name for m in metrics.METRICS} >= {"stroke", "perceptual",
                                               "seam", "truth_rmse"}
  for m in metrics.METRICS:
    assert m.formula and m.gamed_by and m.axis


def test_bad_configs():
  c = eval_config.get_config("quick")
  c.methods.sdedit.nope = 1
  with pytest.raises(ValueError, match="not a field of the edit config"):
    runner.entries(c)
  c = eval_config.get_config("quick")
  c.compare_to = ("noop", "zzz")
  with pytest.raises(ValueError, match="compare_to 'zzz'"):
    runner.entries(c)
  c = eval_config.get_config("quick")
  c.methods.sdedit.method = "nope"
  with pytest.raises(ValueError, match="Unknown method"):
    runner.entries(c)
  with pytest.raises(ValueError, match="Unknown evaluation preset"):
    eval_config.get_config("big")


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
  """The quick preset through the CLI, as a user runs it."""
  out = tmp_path_factory.mktemp("eval")
  args = [sys.executable, os.path.join(_ROOT, "benchmarks", "evaluate.py"),
          "--config=" + os.path.join(_ROOT, "configs", "evaluation.py")
          + ":quick", "--config.progress=False"]
  for k in ("runs_dir", "out_json", "out_doc", "plots_dir"):
    args.append(f"--config.{k}={out / k}")
  args.append(f"--config.benchmark_dir={out / 'bench'}")
  args.append(f"--config.splits_path={out / 'splits.npz'}")
  args.append(f"--config.out_doc={out / 'comparisons.md'}")
  args.append(f"--config.out_json={out / 'evaluation.json'}")
  proc = subprocess.run(args, capture_output=True, text=True, timeout=900,
                        cwd=_ROOT)
  assert proc.returncode == 0, proc.stderr[-3000:]
  return out, args


def _numbers(path):
  with open(path) as f:
    s = json.load(f)
  for k in ("date", "wall_minutes", "latency", "edit_seconds"):
    s.pop(k)
  return s


def test_quick_run_writes_the_report_and_reruns_identically(quick_run):
  out, args = quick_run
  s = _numbers(out / "evaluation.json")
  assert set(s["table"]) == {"noop", "guide", "g_e", "inpaint", "sdedit"}
  assert s["entries"]["sdedit"]["strength"] in (0.2, 0.5)
  assert s["compare"]["sdedit"]["noop"]["truth"]["verdict"] in (
      "better", "tie", "worse")
  for row in s["table"].values():
    for kind in row["per_kind"].values():
      assert kind["max_change_outside"][0] == 0  # Pixels beyond the band.
  doc = (out / "comparisons.md").read_text()
  assert "## Against the references" in doc and "sanity" in doc
  assert os.path.isfile(out / "plots_dir" / "eval_axes.png")
  # A rerun from the cache gives the same numbers.
  proc = subprocess.run(args, capture_output=True, text=True, timeout=900,
                        cwd=_ROOT)
  assert proc.returncode == 0, proc.stderr[-2000:]
  assert _numbers(out / "evaluation.json") == s


def test_blind_sheets(quick_run, tmp_path):
  out, _ = quick_run
  paths = sheets.make(str(out / "runs_dir" / "test_outputs.npz"),
                      str(out / "bench" / "manifest.jsonl"), "sdedit",
                      "inpaint", str(tmp_path), n=12, seed=0)
  assert len(paths) == 2
  key = json.loads((tmp_path / "key.json").read_text())
  assert {r["L"] for r in key["rows"]} == {"sdedit", "inpaint"}
  lines = ["page,row,choice"] + [
      f"{r['page']},{r['row']},{'L' if r['L'] == 'sdedit' else 'R'}"
      for r in key["rows"]]
  (tmp_path / "answers.csv").write_text("\n".join(lines) + "\n")
  got = sheets.score(str(tmp_path))
  assert got["a_preferred"] == got["judged"] == 12
  assert got["ci"][0] > 0.5


def _quick_config(out):
  c = eval_config.get_config("quick")
  c.progress = False
  c.runs_dir = str(out / "runs_dir")
  c.benchmark_dir = str(out / "bench")
  c.splits_path = str(out / "splits.npz")
  return c


def test_cache_keys_follow_weight_content_not_paths(quick_run, tmp_path):
  out, _ = quick_run
  c = _quick_config(out)
  ev = runner.Evaluation(c)
  entry = next(e for e in ev.methods if e.name == "sdedit")
  key = lambda: ev.cache_key(entry, 0.2, ev.test_rows, 0, True)
  first = key()
  copy = tmp_path / "moved_tokenizer.msgpack"
  data = open(c.edit.tokenizer_path, "rb").read()
  copy.write_bytes(data)
  ev.c.edit.tokenizer_path = str(copy)
  assert key() == first  # Moved, same content: the cached row stays valid.
  copy.write_bytes(data[:-1] + bytes([data[-1] ^ 1]))
  assert key() != first  # Same path, new weights: the row is redone.


def test_compare_models_pairs_the_same_images(quick_run):
  from maskgit_edit.evaluation import compare as cm  # pylint: disable=g-import-not-at-top
  out, _ = quick_run
  got = cm.compare(_quick_config(out), _quick_config(out), ["a", "b"])
  assert set(got["rows"]) == {"g_e", "inpaint", "sdedit"}
  for row in got["rows"].values():
    for axis in row.values():  # A model against itself: exactly no change.
      assert axis["diff"] == [0.0, 0.0, 0.0] and axis["verdict"] == "tie"
  assert "| sdedit |" in cm.markdown(got)
  other = _quick_config(out)
  other.sample_seed = 1
  with pytest.raises(ValueError, match="same test sample"):
    cm.compare(_quick_config(out), other, ["a", "b"])


def test_compare_models_reports_an_override_typo_in_one_line():
  cfg = os.path.join(_ROOT, "configs", "evaluation.py") + ":quick"
  proc = subprocess.run(
      [sys.executable, os.path.join(_ROOT, "benchmarks", "compare_models.py"),
       f"--a={cfg}", f"--b={cfg}", "--b.edit.rerank.no_such_field=0"],
      capture_output=True, text=True, timeout=300, cwd=_ROOT)
  assert proc.returncode == 2, proc.stderr[-2000:]
  assert "bad command line" in proc.stderr and "no_such_field" in proc.stderr
  assert "Traceback" not in proc.stderr
