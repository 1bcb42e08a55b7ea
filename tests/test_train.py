"""Training: exact resume, SIGTERM, NaN guard, CLI of every recipe, errors."""

import json
import os
import pathlib
import re
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
from PIL import Image
import pytest

import conftest
from configs import transformer as transformer_config
from maskgit import checkpoints
from maskgit.data.folder import build_folder_dataset
from maskgit.training import checkpointing
from maskgit.training import loop
from maskgit.training import optim
from maskgit.training import transformer as transformer_recipe
from maskgit.training.transformer import transformer_config as tr_cfg_of
from maskgit_edit.recipes import stroke_guides

ROOT = pathlib.Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def folder_dataset(tmp_path_factory):
  """A tfds array_record dataset built from 40 random PNGs in 2 classes."""
  src = tmp_path_factory.mktemp("images")
  rng = np.random.default_rng(0)
  for cls in ("cats", "dogs"):
    (src / cls).mkdir()
    for i in range(20):
      Image.fromarray(rng.integers(0, 255, (40, 40, 3), np.uint8)).save(
          src / cls / f"{i}.png")
  out = tmp_path_factory.mktemp("tfds")
  return str(build_folder_dataset(src, out, name="tiny_folder", resolution=32,
                                  test_fraction=0.2, num_workers=2))


def _tiny(dataset):
  c = transformer_config.get_config("tiny")
  c.num_steps = 6
  c.eval_every = 0
  c.sample_every = 0
  c.checkpoint.every_steps = 2
  c.data.source = "tfds"
  c.data.dataset = dataset
  c.data.crop_area_range = (0.5, 1.0)
  return c


def test_stop_and_resume_reproduces_losses(folder_dataset, tmp_path):
  config = _tiny(folder_dataset)
  full = loop.train_and_evaluate(config, str(tmp_path / "full"))
  assert full["stopped"] == "done" and sorted(full["losses"]) == [1, 2, 3, 4,
                                                                  5, 6]

  first = loop.train_and_evaluate(config, str(tmp_path / "resumed"),
                                  on_step=conftest.sigterm_at(3))
  assert first["stopped"] == "signal" and first["step"] == 3
  assert (tmp_path / "resumed" / "checkpoints" / "3").is_dir()
  second = loop.train_and_evaluate(config, str(tmp_path / "resumed"))
  assert sorted(second["losses"]) == [4, 5, 6]
  for s in (4, 5, 6):  # Same process, same device: bit-exact.
    assert second["losses"][s] == full["losses"][s], s
  checkpoints.load_transformer(second["export"][0], tr_cfg_of(config))
  exported = checkpoints.read_msgpack(second["export"][0])["params"]
  assert "TransformerLayer_0" in exported  # Official (unrolled) layout.
  lines = (tmp_path / "resumed" / "metrics.jsonl").read_text().splitlines()
  assert json.loads(lines[-1])["step"] == 6


class _Diverge(transformer_recipe.TransformerRecipe):
  """Diverges at optimiser step `at` (0-based): NaN loss or NaN gradients."""

  at, how = 3, "loss"

  def loss_fn(self, params, frozen, batch, rng, step, train):
    loss, m = super().loss_fn(params, frozen, batch, rng, step, train)
    if self.how == "loss":
      loss = jnp.where(step >= self.at, jnp.nan, loss)
    return loss, m

  def grad_fn(self, params, batch, rng, frozen, step):
    grads, m = super().grad_fn(params, batch, rng, frozen, step)
    if self.how == "grads":  # Finite loss, NaN update of this very step.
      grads = jax.tree.map(lambda g: jnp.where(step == self.at, jnp.nan, g),
                           grads)
    return grads, m


def _diverging_run(tmp_path, at, how, match):
  c = transformer_config.get_config("tiny")
  c.eval_every = c.sample_every = 0
  c.num_steps = 6
  recipe = _Diverge(c)
  recipe.at, recipe.how = at, how
  with pytest.raises(FloatingPointError, match=match):
    loop.train_and_evaluate(c, str(tmp_path), recipe=recipe)
  ckpts = sorted(int(d) for d in os.listdir(tmp_path / "checkpoints")
                 if d.isdigit())
  # Whatever is left loads with finite weights that give a finite loss.
  trainer = loop.Trainer(c)
  mgr = checkpointing.manager(str(tmp_path), c)
  state, _, _ = checkpointing.restore(mgr, ckpts[-1], checkpointing
                                      .abstract_with_shardings(
                                          trainer.abstract_state,
                                          trainer.state_shardings))
  mgr.close()
  assert all(np.isfinite(np.asarray(x)).all()
             for x in jax.tree.leaves(state.params))
  return ckpts


def test_nan_loss_stops_naming_the_step_and_keeps_checkpoint(tmp_path):
  # Loss of the weights after step 3 is NaN (reported at step 4): the
  # checkpoint of step 2 stays, nothing of step 4 is saved.
  assert _diverging_run(tmp_path, 3, "loss", r"Loss is nan at step 4.*"
                        r"checkpoint \(step 2\)")[-1] == 2


def test_divergence_on_a_save_step_never_becomes_the_latest_checkpoint(
    tmp_path):
  # The update of step 4 (a save step) makes the parameters NaN while its
  # loss is still finite: step 4 is not saved.
  ckpts = _diverging_run(tmp_path / "a", 3, "grads", r"updated parameters "
                         r"are not finite at step 4.*checkpoint \(step 2\)")
  assert ckpts[-1] == 2
  # The weights saved at step 4 give a NaN loss at step 5: the checkpoint of
  # step 4 is deleted, step 2 is the one a rerun resumes from.
  assert _diverging_run(tmp_path / "b", 4, "loss", r"Loss is nan at step 5.*"
                        r"checkpoint \(step 2\)")[-1] == 2


def test_resume_after_a_kill_logs_each_step_once_and_warns_on_new_schedule(
    tmp_path, caplog):
  c = transformer_config.get_config("tiny")
  c.eval_every = c.sample_every = 0
  c.num_steps = 6

  def crash_at_4(step, loss):
    del loss
    if step == 4:  # Step 3 is logged, the last checkpoint is step 2.
      raise KeyboardInterrupt

  with pytest.raises(KeyboardInterrupt):
    loop.train_and_evaluate(c, str(tmp_path), on_step=crash_at_4)
  first = loop.train_and_evaluate(c, str(tmp_path))
  assert first["warning"] is None and sorted(first["losses"]) == [3, 4, 5, 6]
  steps = [json.loads(l)["step"]
           for l in (tmp_path / "metrics.jsonl").read_text().splitlines()]
  assert steps == [1, 2, 3, 4, 5, 6]
  c.num_steps = 8
  c.optim.learning_rate = 2e-3
  second = loop.train_and_evaluate(c, str(tmp_path))
  assert second["warning"] == (
      "Resuming at step 6 with a changed learning-rate schedule (num_steps "
      "6 -> 8; optim.learning_rate 0.001 -> 0.002): later steps follow the "
      "new schedule.")
  assert sum(second["warning"] in r.getMessage() for r in caplog.records) == 1


def test_docs_python_snippets_import():
  text = (ROOT / "docs" / "training.md").read_text()
  imports = re.findall(r"from maskgit[\w.]* import \w+", text)
  assert imports
  for line in imports:
    exec(line, {})  # pylint: disable=exec-used


def test_gradient_accumulation_averages_microbatches():
  def grad_fn(params, batch, rng, scale):
    del rng
    g = jax.grad(lambda p: jnp.mean((batch["x"] * p - 1.0) ** 2))(params)
    return g * scale, {"n": jnp.float32(batch["x"].shape[0])}
  batch = {"x": jnp.arange(8, dtype=jnp.float32)}
  full, _ = grad_fn(2.0, batch, None, 1.0)
  acc, m = optim.accumulate(grad_fn, 2.0, batch, jax.random.key(0), 4, 1.0)
  np.testing.assert_allclose(acc, full, rtol=1e-6)
  assert float(m["n"]) == 2.0


def test_stroke_guides_deterministic_per_seed():
  images = np.random.default_rng(0).uniform(size=(3, 32, 32, 3)).astype(
      np.float32)
  batch = {"image": images, "label": np.zeros(3, np.int32)}
  a = stroke_guides.StrokeGuides("mix", seed=1)(batch, step=5)["guide"]
  b = stroke_guides.StrokeGuides("mix", seed=1)(batch, step=5)["guide"]
  c = stroke_guides.StrokeGuides("mix", seed=2)(batch, step=5)["guide"]
  np.testing.assert_array_equal(a, b)
  assert a.shape == images.shape and not np.array_equal(a, c)
  # Simulated at 16 px and resized back; independent of the thread count.
  lo = [stroke_guides.StrokeGuides("pilot_inversion", seed=1, resolution=16,
                                   num_threads=t)(batch, step=5)["guide"]
        for t in (1, 3)]
  np.testing.assert_array_equal(lo[0], lo[1])
  changed = np.any(lo[0] != images, axis=-1)
  assert changed.any() and not changed.all()  # One pasted segment.


def _cli(args, workdir, devices=8):
  # One device keeps compilation short; errors are checked with 8.
  env = {**os.environ, "JAX_PLATFORMS": "cpu",
         "XLA_FLAGS": f"--xla_force_host_platform_device_count={devices}"}
  return subprocess.Popen(
      [sys.executable, str(ROOT / "train.py"), f"--workdir={workdir}", *args],
      cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
      text=True)


def test_every_recipe_runs_from_the_cli_and_exports(tmp_path):
  recipes = ("tokenizer", "transformer", "selfcond", "guidance_kernel")
  # Eval and sample grids on two recipes only (their compiles are slow).
  extra = {"tokenizer": ["--config.eval_every=2", "--config.sample_every=2"],
           "selfcond": ["--config.eval_every=0", "--config.sample_every=2"]}
  procs = {r: _cli([f"--config=configs/{r}.py:tiny", "--config.num_steps=2",
                    *extra.get(r, ["--config.eval_every=0",
                                   "--config.sample_every=0"])],
                   tmp_path / r, devices=1) for r in recipes}
  for r, p in procs.items():
    _, err = p.communicate(timeout=300)
    assert p.returncode == 0, (r, err[-3000:])
    assert "step 2/2 loss" in err, r
  out = {r: tmp_path / r / "export" for r in recipes}
  assert (out["tokenizer"] / "tokenizer.msgpack").is_file()
  assert (out["transformer"] / "transformer.msgpack").is_file()
  from configs import selfcond  # pylint: disable=g-import-not-at-top
  sc = selfcond.get_config("tiny")
  params = checkpoints.load_transformer(
      str(out["selfcond"] / "selfcond.msgpack"),
      tr_cfg_of(sc, num_hint_codes=0, hint_features=14))
  assert params["Embed_0"]["hint_projection"]["kernel"].shape == (14, 32)
  kernel = np.load(out["guidance_kernel"] / "guidance_kernel.npy")
  assert kernel.shape == (64, 64) and kernel.dtype == np.float32
  assert (tmp_path / "selfcond" / "samples" / "step_0000002.png").is_file()
  assert (tmp_path / "tokenizer" / "samples" / "step_0000002.png").is_file()


def test_bad_configs_give_one_clear_error(tmp_path):
  cases = {
      "recipe": (["--config=configs/transformer.py:tiny",
                  "--config.recipe=diffusion"], "Unknown recipe 'diffusion'"),
      "batch": (["--config=configs/transformer.py:tiny",
                 "--config.batch_size=12"], "batch_size 12 must be a positive "
                "multiple of 8 devices"),
      "dataset": (["--config=configs/transformer.py:tiny",
                   "--config.data.source=tfds",
                   f"--config.data.dataset={tmp_path}/nowhere"],
                  "No prepared dataset at"),
  }
  procs = {k: _cli(a, tmp_path / k) for k, (a, _) in cases.items()}
  for k, p in procs.items():
    _, err = p.communicate(timeout=120)
    assert p.returncode != 0, k
    last = err.strip().splitlines()[-1]
    assert last.startswith("train.py: config error:"), (k, err[-2000:])
    assert cases[k][1] in last, (k, last)
    assert "Traceback" not in err, k


def test_selfcond_starts_from_an_official_transformer_file(tmp_path):
  from configs import selfcond  # pylint: disable=g-import-not-at-top
  from maskgit.nets import transformer as transformer_lib  # pylint: disable=g-import-not-at-top
  c = selfcond.get_config("tiny")
  official = tr_cfg_of(c, scan_layers=False, remat=False, num_hint_codes=0)
  params = transformer_lib.init_params(official, jax.random.key(3))["params"]
  path = str(tmp_path / "official.msgpack")
  checkpoints.save_transformer(path, params)
  c.init_from = path
  trainer = loop.Trainer(c)
  state = trainer.init_state(trainer.recipe.load_params())
  got = state.params
  np.testing.assert_array_equal(
      np.asarray(got["TransformerLayers"]["Mlp_0"]["layer_output"]["kernel"][1]),
      np.asarray(params["TransformerLayer_1"]["Mlp_0"]["layer_output"]["kernel"]))
  hint = np.asarray(got["Embed_0"]["hint_projection"]["kernel"])
  assert hint.shape == (14, 32) and not hint.any()  # Zero: "no hint".
  assert int(state.step) == 0


def test_stroke_guides_in_processes_equal_threads():
  images = np.random.default_rng(1).uniform(size=(4, 16, 16, 3)).astype(
      np.float32)
  batch = {"image": images, "label": np.zeros(4, np.int32)}
  threads = stroke_guides.StrokeGuides("mix", seed=1, num_threads=2)
  procs = stroke_guides.StrokeGuides("mix", seed=1, num_processes=2)
  try:
    np.testing.assert_array_equal(threads(batch, step=2)["guide"],
                                  procs(batch, step=2)["guide"])
  finally:
    procs.close()
