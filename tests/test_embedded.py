"""The embedded emoji model: size cap, card numbers, the no-argument run."""

import json
import os
import pathlib
import subprocess
import sys

import numpy as np
from PIL import Image
import pytest

from maskgit import embedded
from maskgit import evaluate
from maskgit.data import arrays

ROOT = pathlib.Path(__file__).resolve().parents[1]
CARD = ROOT / "weights" / "emoji" / "card.json"
SLICE = ROOT / "tests" / "data" / "emoji_test_slice.npz"


def test_weights_fit_the_size_cap():
  files = [embedded.TOKENIZER_PATH, embedded.TRANSFORMER_PATH]
  assert sum(os.path.getsize(f) for f in files) <= 25_000_000


@pytest.fixture(scope="module")
def model():
  return embedded.load()


def test_reproduces_the_model_card_on_the_committed_slice(model):
  images, labels = arrays.load_split(SLICE, "test")
  want = json.loads(CARD.read_text())["slice"]
  got = evaluate.card_metrics(model, images.astype(np.float32) / 255.0,
                              labels)
  assert got["num_images"] == want["num_images"] == len(images)
  assert abs(got["psnr_mean"] - want["psnr_mean"]) < 0.05
  assert set(got["masked_tokens"]) == set(want["masked_tokens"])
  for rate, w in want["masked_tokens"].items():
    g = got["masked_tokens"][rate]
    assert g["tokens"] == w["tokens"], rate
    assert abs(g["accuracy"] - w["accuracy"]) <= 0.01, rate
    assert abs(g["loss"] - w["loss"]) <= 0.02, rate
  # A trained model, not a random one: far above chance (1/512).
  assert want["masked_tokens"]["0.5"]["accuracy"] > 0.2
  assert want["psnr_mean"] > 18


def test_sample_edit_without_arguments_edits_the_examples(tmp_path):
  env = {**os.environ, "JAX_PLATFORMS": "cpu", "XLA_FLAGS": ""}
  r = subprocess.run([sys.executable, str(ROOT / "sample_edit.py")],
                     cwd=tmp_path, env=env, capture_output=True, text=True,
                     timeout=600)
  assert r.returncode == 0, r.stderr[-3000:]
  names = [json.loads(line)["name"] for line in
           (ROOT / "examples" / "edits.jsonl").read_text().splitlines()]
  assert len(names) >= 8
  run = tmp_path / "outputs" / "sdedit_s0.300"
  assert "Grid (sdedit, strength 0.3" in r.stderr
  assert str(pathlib.Path("outputs") / "sdedit_s0.300" / "grid.png") in (
      r.stderr)
  assert "Edit latency" in r.stderr and "14 written" in r.stderr
  for name in names:
    d = run / name
    assert sorted(os.listdir(d)) == ["grid.png", "record.json"] + [
        f"sample_{i:02d}.png" for i in range(4)], name
    rec = json.loads((d / "record.json").read_text())
    assert rec["random_weights"] is False and rec["method"] == "sdedit"
    original = np.asarray(Image.open(ROOT / "examples" / f"{name}.png"))
    sample = np.asarray(Image.open(d / "sample_00.png"))
    mask = np.asarray(Image.open(ROOT / "examples" / f"{name}.mask.png")) > 127
    assert np.any(sample[mask] != original[mask]), name  # It edited.
  grid = np.asarray(Image.open(run / "grid.png"))
  row = np.asarray(Image.open(run / names[0] / "grid.png"))
  assert grid.shape[0] == len(names) * row.shape[0]


def test_class_names_mark_the_untrained_style():
  names = embedded.class_names()
  assert len(names) == embedded.config().transformer.num_classes == 36
  assert names[0] == "noto/Smileys & Emotion"  # v1's labels keep their meaning.
  assert names[26] == "fluent3d/Flags"
  assert names[27] == "openmoji/Smileys & Emotion (untrained)"
