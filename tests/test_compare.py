"""benchmarks/compare.py end to end in quick mode (embedded model, 4 images
per kind, committed data slices), and its entry/config handling."""

import json
import os
import pathlib
import subprocess
import sys

import pytest

from configs import compare as compare_config
from maskgit_edit import compare
from maskgit_edit import editors as editors_lib

ROOT = pathlib.Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data"


def _run(quick_dir, *extra):
  cmd = [sys.executable, str(ROOT / "benchmarks" / "compare.py"),
         "--config=" + str(ROOT / "configs" / "compare.py") + ":emoji",
         "--config.quick=True", f"--config.quick_dir={quick_dir}",
         f"--config.benchmark.data={DATA / 'emoji_test_slice.npz'}",
         f"--config.reference_data={DATA / 'emoji_train_slice.npz'}",
         "--config.progress=False", *extra]
  return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True,
                        timeout=600, check=False)


def test_quick_mode_end_to_end_and_rerun_is_identical(tmp_path):
  proc = _run(tmp_path)
  assert proc.returncode == 0, proc.stderr[-3000:]
  summary = json.loads((tmp_path / "compare.json").read_text())
  doc = (tmp_path / "comparisons.md").read_text()
  assert (tmp_path / "images" / "compare_quick_faithfulness_kid.png").exists()
  assert (tmp_path / "images" / "compare_quick_latency.png").exists()
  names = {e["name"] for e in summary["entries"]}
  c = compare_config.get_config("emoji")
  # Quick mode keeps the first ablation of a kept method (not a baseline's).
  first_ablation = next(a for a in sorted(c.ablations)
                        if c.ablation_base[a] in ("inpaint", "sdedit"))
  assert names == {"inpaint", "sdedit", first_ablation}
  for run in summary["runs"]:
    for kind, row in run["per_kind"].items():
      assert row["max_change_outside"] == 0, (run["entry"], kind)
      assert row["num_edits"] == (12 if kind == "all_inversion" else 4)
  # Strength 0 returns G_E; inpaint ignores the guide: G_E is closer to it.
  ref = summary["references"]["guide_tokens"]["local"]
  inp = next(r for r in summary["runs"] if r["entry"] == "inpaint")
  assert ref["stroke_rmse_mask"] < inp["per_kind"]["local"][
      "stroke_rmse_mask"]
  assert "## Headline" in doc and "| sdedit |" in doc
  # Rerun: every run comes from the cache; same tables.
  proc = _run(tmp_path)
  assert proc.returncode == 0, proc.stderr[-3000:]
  assert "0 to do" in proc.stderr
  assert (tmp_path / "comparisons.md").read_text() == doc


def test_entries_are_config_driven():
  c = compare_config.get_config("emoji")
  with c.unlocked():
    c.methods.my_method = dict(method="sdedit", num_iter=8,
                               strengths=(0.5,))
    c.only = "my_method,inpaint"
  es = {e.name: e for e in compare.entries(c)}
  assert set(es) == {"my_method", "inpaint"}
  assert es["my_method"].overrides == {"num_iter": 8}
  assert es["my_method"].strengths == (0.5,)
  assert es["inpaint"].strengths == (1.0,)
  cfg = compare.edit_config_for(c, es["my_method"])
  assert cfg.num_iter == 8 and cfg.method == "sdedit"
  assert editors_lib.options(cfg, "sdedit").num_iter == 8


@pytest.mark.parametrize("field,value,match", [
    ("only", "nope", "unknown entries"),
    ("methods.bad", {"method": "sdedit", "not_a_field": 1}, "not a field"),
    ("methods.bad", {"method": "sdedit", "strengths": (1.5,)}, "not in"),
])
def test_bad_entries(field, value, match):
  c = compare_config.get_config("emoji")
  with c.unlocked():
    if field == "only":
      c.only = value
    else:
      c.methods.bad = value
  with pytest.raises(ValueError, match=match):
    compare.entries(c)


def test_appearance_experiment_config():
  from configs import compare_appearance  # pylint: disable=g-import-not-at-top
  with pytest.raises(ValueError, match="after ':'"):
    compare_appearance.get_config("")
  c = compare_appearance.get_config("/m/selfcond.msgpack")
  es = {e.name: e for e in compare.entries(c)}
  assert es["selfcond_appearance"].overrides == {
      "selfcond_transformer_path": "/m/selfcond.msgpack"}
  cfg = compare.edit_config_for(c, es["selfcond_appearance_masked"])
  assert cfg.selfcond_transformer_path == "/m/selfcond.msgpack"
  assert cfg.selfcond.positions == "masked"
  assert "sdedit" in es and not c.readme  # Every entry; README untouched.
  assert "outputs" in c.out_doc
