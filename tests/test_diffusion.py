"""SDEdit baseline (baselines/sdedit): training, resume, sampling invariants."""

import os
import pathlib
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
from PIL import Image
import pytest

import conftest
from baselines.sdedit import editor as sde
from baselines.sdedit import sampler as sampler_lib
from baselines.sdedit import training
from baselines.sdedit import unet as unet_lib
from baselines.sdedit.schedule import VPSchedule
from configs import diffusion as diffusion_config
from configs import edit as edit_config
from maskgit import compositing
from maskgit.training import loop
from maskgit_edit import methods
from maskgit_edit import batch

ROOT = pathlib.Path(__file__).resolve().parents[1]
SIZE = 32  # The tiny preset.


def _tiny_train():
  c = diffusion_config.get_config("tiny")
  c.eval_every = c.sample_every = 0  # The CLI test covers both.
  return c


def test_schedule_is_sdedit_vp():
  s = VPSchedule()
  assert s.betas[1] == np.float32(1e-4) and s.betas[-1] == np.float32(0.02)
  ab = s.alpha_bars
  assert ab.shape == (1001,) and ab[0] == 1.0 and 0 < ab[-1] < 1e-4
  assert np.all(np.diff(ab) < 0)
  assert list(np.asarray(s.t_from_strength(jnp.array([0.0, 0.3, 1.0])))) == [
      0, 300, 1000]
  times = np.asarray(sampler_lib.ddim_times(jnp.array([0, 7, 1000]), 4))
  assert times[0].tolist() == [0, 7, 1000] and times[-1].tolist() == [0] * 3
  assert np.all(np.diff(times, axis=0) <= 0)


@pytest.mark.slow
def test_train_py_cli_runs_the_recipe(tmp_path):
  env = {**os.environ, "JAX_PLATFORMS": "cpu", "XLA_FLAGS": ""}
  r = subprocess.run(
      [sys.executable, "train.py", "--config=configs/diffusion.py:tiny",
       f"--workdir={tmp_path}", "--config.num_steps=2",
       "--config.eval_every=2", "--config.sample_every=2"],
      cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
  assert r.returncode == 0, r.stderr[-3000:]
  assert "step 2/2 loss" in r.stderr
  assert (tmp_path / "export" / training.EXPORT_NAME).exists()
  lines = (tmp_path / "metrics.jsonl").read_text().splitlines()
  assert any("eval_loss" in line for line in lines)
  assert (tmp_path / "samples" / "step_0000002.png").exists()


@pytest.mark.slow
def test_train_resume_is_exact_and_exports(tmp_path):
  c = _tiny_train()
  # The recipe comes from the registry (config.recipe_module), as in train.py.
  full = loop.train_and_evaluate(c, str(tmp_path / "full"))
  assert full["stopped"] == "done" and sorted(full["losses"]) == [1, 2, 3, 4]
  assert all(np.isfinite(v) for v in full["losses"].values())

  first = loop.train_and_evaluate(c, str(tmp_path / "resumed"),
                                  on_step=conftest.sigterm_at(2))
  assert first["stopped"] == "signal" and first["step"] == 2
  second = loop.train_and_evaluate(c, str(tmp_path / "resumed"))
  assert sorted(second["losses"]) == [3, 4]
  for s in (3, 4):
    assert second["losses"][s] == full["losses"][s], s
  ed = sde.DiffusionEditor.from_file(second["export"][0], "tiny")
  a = jax.tree.leaves(ed.params)
  b = jax.tree.leaves(sde.DiffusionEditor.from_file(full["export"][0],
                                                    "tiny").params)
  assert all(np.array_equal(x, y) for x, y in zip(a, b))


@pytest.fixture(scope="module")
def ed():
  return sde.DiffusionEditor.random("tiny", seed=0)


def _inputs(seed=0):
  rng = np.random.default_rng(seed)
  images = rng.uniform(size=(2, SIZE, SIZE, 3)).astype(np.float32)
  guides = images.copy()
  guides[0, 4:12, 5:14] = (1.0, 0.0, 0.0)
  guides[1, 20:26, 18:30] = (0.0, 0.0, 1.0)
  return images, guides


OPTS = [sde.DiffusionOptions(sampler="ancestral"),
        sde.DiffusionOptions(sampler="ddim", num_steps=3),
        sde.DiffusionOptions(sampler="ddim", num_steps=3, masked=False,
                             repeats=2)]


@pytest.mark.parametrize("opts", OPTS, ids=["ancestral", "ddim", "unmasked"])
def test_pixels_beyond_the_feather_band_are_bit_identical(ed, opts):
  images, guides = _inputs()
  res = ed.edit(images, guides, labels=[0, 2], strength=[0.5, 0.8], seed=1,
                num_samples=2, options=opts)
  assert res.images.shape == (2, 2, SIZE, SIZE, 3)
  outside = res.feather_weights == 0
  assert outside.any() and (~outside).any()
  for s in range(2):
    np.testing.assert_array_equal(res.images[:, s][outside], images[outside])
  assert not np.array_equal(res.images[:, 0][~outside], images[~outside])


@pytest.mark.parametrize("opts", OPTS[:2], ids=["ancestral", "ddim"])
def test_strength_ends(ed, opts):
  images, guides = _inputs()
  # num_samples=2 and these options: the jits of the test above are reused.
  run = lambda g, m, s: ed.edit(images, g, m, strength=s, seed=3,
                                num_samples=2, options=opts).images
  zero = ed.edit(images, guides, strength=0.0, seed=3, num_samples=2,
                 options=opts)
  want = compositing.composite(images, guides, zero.feather_weights)
  for s in range(2):
    np.testing.assert_array_equal(zero.images[:, s], want)
  # Strength 1 ignores the guide: another guide over the same mask gives the
  # same pixels (generation from noise with the same key).
  masks = list(zero.pixel_masks)
  other = guides.copy()
  other[zero.pixel_masks] = 1.0 - other[zero.pixel_masks]
  np.testing.assert_array_equal(run(guides, masks, 1.0),
                                run(other, masks, 1.0))
  assert not np.array_equal(run(guides, masks, 0.5), run(other, masks, 0.5))


def test_strength_one_is_sampling_from_noise():
  sched = VPSchedule(num_timesteps=20)
  eps = lambda x, t: 0.1 * x
  z = jax.random.normal(jax.random.key(0), (1, 8, 8, 3))
  guide = jnp.full((1, 8, 8, 3), 0.5)
  t0 = jnp.array([20], jnp.int32)
  assert np.array_equal(sampler_lib.perturb(sched, guide, t0, z), z)
  run = lambda g: sampler_lib.sdedit(eps, sched, g, g, jnp.ones((1, 8, 8, 1)),
                                     t0, jax.random.key(5), sampler="ddim",
                                     num_steps=4, masked=False)
  np.testing.assert_array_equal(run(guide), run(-guide))


def test_ddim_is_deterministic_for_a_key(ed):
  images, guides = _inputs(1)
  opts = OPTS[1]  # DDIM, 3 steps (compiled above).
  a, b, c = (ed.edit(images, guides, strength=0.6, seed=s, num_samples=2,
                     options=opts) for s in (7, 7, 8))
  np.testing.assert_array_equal(a.images, b.images)
  assert not np.array_equal(a.images, c.images)
  assert not b.compiled


def test_bad_inputs_one_error_each(ed):
  images, guides = _inputs()
  with pytest.raises(ValueError, match="strength must be in"):
    ed.edit(images, guides, strength=1.5)
  with pytest.raises(ValueError, match="out of range"):
    ed.edit(images, guides, labels=7)
  with pytest.raises(ValueError, match="Expected images of shape"):
    ed.edit(images[:, :16], guides[:, :16])
  with pytest.raises(ValueError, match="Unknown diffusion sampler"):
    ed.edit(images, guides, options=sde.DiffusionOptions(sampler="euler"))
  with pytest.raises(ValueError, match="identical to the image"):
    ed.edit(images, images)


def test_unet_shapes_and_zero_init():
  cfg = unet_lib.UNetConfig.from_config(diffusion_config.model_config(
      "emoji")).validate()
  params = jax.eval_shape(lambda: unet_lib.init(cfg, jax.random.key(0)))
  assert 5e5 < unet_lib.num_params(params) < 2e7
  tiny = unet_lib.UNetConfig.from_config(diffusion_config.model_config("tiny"))
  p = unet_lib.init(tiny, jax.random.key(0))
  x = jnp.ones((2, SIZE, SIZE, 3))
  out = unet_lib.UNet(tiny).apply({"params": p}, x, jnp.array([1, 5]),
                                  jnp.array([0, 3]))
  assert out.shape == x.shape and not np.any(out)  # Zero-initialised output.
  with pytest.raises(ValueError, match="Unknown model.unet fields"):
    mc = diffusion_config.model_config("tiny")
    mc.unet.widht = 3
    unet_lib.UNetConfig.from_config(mc)


def test_sample_edit_runs_the_backend_by_name(tmp_path, capsys):
  d = tmp_path / "in"
  d.mkdir()
  images, guides = _inputs()
  for name, a, g in (("x", images[0], guides[0]),):
    Image.fromarray((a * 255).astype(np.uint8)).save(d / f"{name}.png")
    Image.fromarray((g * 255).astype(np.uint8)).save(d / f"{name}.guide.png")
  c = edit_config.get_config("tiny")
  c.inputs, c.output_dir = str(d), str(tmp_path / "out")
  c.progress, c.compilation_cache, c.num_samples = False, "", 2
  c.sweep.methods = ("diffusion_ddim", "diffusion_sdedit")
  c.diffusion.num_steps = 2
  c.strength = 0.2
  assert batch.run(c) == 0, capsys.readouterr().err
  for m in ("diffusion_ddim", "diffusion_sdedit"):
    run = tmp_path / "out" / f"{m}_s0.200" / "x"
    assert (run / "record.json").exists() and (run / "sample_01.png").exists()
  assert {"diffusion_sdedit", "diffusion_ddim"} <= set(methods.names())
  c.sweep.methods = ("diffusion_euler",)
  with pytest.raises(ValueError, match="diffusion_sdedit"):
    batch.run(c)
  c.sweep.methods = ()
  c.plugins = ("baselines.nope",)
  with pytest.raises(ValueError, match="cannot be imported"):
    batch.run(c)
