"""generate.py end to end, as a user runs it (tiny random model)."""

import json
import os
import subprocess
import sys

import numpy as np
from PIL import Image
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _run(*args):
  env = dict(os.environ, JAX_PLATFORMS="cpu")
  env.pop("XLA_FLAGS", None)
  # --config must precede its overrides; default: the random tiny model.
  cfg = [a for a in args if a.startswith("--config=")] or [
      "--config=configs/generate.py:tiny"]
  rest = [a for a in args if not a.startswith("--config=")]
  return subprocess.run(
      [sys.executable, "generate.py", *cfg, "--config.compilation_cache=",
       *rest],
      cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)


def test_generate_and_box_edit(tmp_path):
  out = tmp_path / "gen"
  r = _run(f"--config.output_dir={out}", "--config.labels=1,2",
           "--config.num_iter=4")
  assert r.returncode == 0, r.stderr
  assert "RANDOMLY INITIALISED" in r.stdout
  names = sorted(os.listdir(out))
  assert names == ["grid.png", "run.json", "sample_00_class1.png",
                   "sample_01_class2.png"]
  assert np.asarray(Image.open(out / "sample_00_class1.png")).shape == (
      32, 32, 3)
  record = json.loads((out / "run.json").read_text())
  assert record["random_weights"] and record["config"]["num_iter"] == 4

  src = out / "sample_00_class1.png"
  edit = tmp_path / "edit"
  r = _run("--config.mode=box_edit", f"--config.image={src}",
           "--config.box=8,8,12,12", "--config.target_label=3",
           "--config.blend=feather", "--config.feather=2",
           "--config.num_samples=2", f"--config.output_dir={edit}")
  assert r.returncode == 0, r.stderr
  original = np.asarray(Image.open(src))
  for i in range(2):
    img = np.asarray(Image.open(edit / f"edit_{i:02d}_class3.png"))
    np.testing.assert_array_equal(img[24:], original[24:])
  # A second run into the same folder: only its own images are left.
  r = _run(f"--config.output_dir={out}", "--config.labels=3",
           "--config.num_iter=4")
  assert r.returncode == 0, r.stderr
  assert "Removed 2 image(s) of an earlier run" in r.stdout
  assert sorted(os.listdir(out)) == ["grid.png", "run.json",
                                     "sample_00_class3.png"]


@pytest.mark.parametrize("args,message,code", [
    (["--config.labls=3"], "Did you mean \"labels\"", 2),
    (["--config=configs/generate.py:tiy"], "Unknown model preset", 2),
    (["--config.labels=1,12"], "out of range", 1),
    (["--config.mode=box_edit", "--config.image=/nonexistent.png"],
     "Image file not found", 1),
    (["--config.mode=box_edit", "--config.image=configs/models.py"],
     "Cannot read image", 1),
    (["--config.mode=box_edit", "--config.image=tests/conftest.py",
      "--config.box=0,0,64,64"], "Cannot read image", 1),
    (["--config.mode=sample"], "Unknown mode", 1),
    (["--config.tokenizer_path=/nonexistent",
      "--config.transformer_path=/nonexistent"], "not found: /nonexistent",
     1),
])
def test_bad_input_one_clear_error(tmp_path, args, message, code):
  r = _run(f"--config.output_dir={tmp_path / 'o'}", *args)
  assert r.returncode == code, (r.returncode, r.stderr[-2000:])
  assert message in r.stderr
  assert "Traceback" not in r.stderr
  assert not (tmp_path / "o").exists()
