"""Self-conditioning on appearance hints: net, pooling, guidance, recipe."""

import dataclasses
import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from configs import selfcond as selfcond_config
from maskgit import checkpoints
from maskgit.nets import transformer as transformer_lib
from maskgit.training import loop
from maskgit.training import transformer as tr_recipe
from maskgit_edit import editor as editor_lib
from maskgit_edit import hints
from maskgit_edit.recipes import selfcond as edit_training
from maskgit_edit.samplers import selfcond as selfcond_sampler

OPTS = dict(num_iter=6, start_iter=1, feather=2)


def _tokens(cfg, batch=3, seed=0):
  rng = np.random.default_rng(seed)
  ids = rng.integers(0, cfg.num_codes, (batch, cfg.seq_len))
  ids[:, 0] = cfg.num_codes + 1
  ids[:, 5:9] = -1
  return jnp.asarray(ids, jnp.int32)


def test_zero_init_hint_projection_is_the_base_model(tiny_config, tmp_path):
  cfg = transformer_lib.TransformerConfig.from_config(tiny_config.transformer)
  params = transformer_lib.init_params(cfg, jax.random.key(1))["params"]
  path = str(tmp_path / "plain.msgpack")
  checkpoints.save_transformer(path, params)
  ids = _tokens(cfg)
  base = transformer_lib.Transformer(cfg).apply({"params": params}, ids)
  hcfg = dataclasses.replace(cfg, hint_features=hints.num_features(2))
  hparams = checkpoints.load_transformer(path, hcfg)
  proj = hparams["Embed_0"]["hint_projection"]
  assert proj["kernel"].shape == (14, cfg.hidden_size) and not proj[
      "kernel"].any() and not proj["bias"].any()
  net = transformer_lib.Transformer(hcfg)
  feats = jax.random.uniform(jax.random.key(2), ids.shape + (14,))
  feats = feats.at[..., -1].set(1.0)
  # Zero projection: hinted or not, exactly the base model.
  np.testing.assert_array_equal(net.apply({"params": hparams}, ids, feats),
                                base)
  np.testing.assert_array_equal(net.apply({"params": hparams}, ids), base)
  # A trained (non-zero) projection: no hint / flag 0 is still the base.
  hparams["Embed_0"]["hint_projection"] = {
      "kernel": np.ones((14, cfg.hidden_size), np.float32),
      "bias": np.ones((cfg.hidden_size,), np.float32)}
  np.testing.assert_array_equal(net.apply({"params": hparams}, ids), base)
  np.testing.assert_array_equal(
      net.apply({"params": hparams}, ids, feats.at[..., -1].set(0.0)), base)
  assert not np.allclose(net.apply({"params": hparams}, ids, feats), base)
  with pytest.raises(ValueError, match="exclusive"):
    dataclasses.replace(hcfg, num_hint_codes=8)
  with pytest.raises(ValueError, match="Hint features"):
    net.apply({"params": hparams}, ids, feats[..., :5])


def test_token_appearance_pools_guide_pixels():
  guide = np.zeros((1, 16, 16, 3), np.float32)
  guide[0, :4, :4] = (1.0, 0.0, 0.0)     # top-left quarter of token (0, 0)
  guide[0, 8:, 8:] = 0.5                 # all of token (1, 1)
  image = np.zeros_like(guide)
  painted = hints.painted_pixels(jnp.asarray(image), jnp.asarray(guide))
  feats = np.asarray(hints.token_appearance(jnp.asarray(guide), painted, 8,
                                            2))
  assert feats.shape == (1, 4, hints.num_features(2)) == (1, 4, 14)
  # Token 0: sub-cell (0, 0) red, others black; 2x - 1 scaling.
  np.testing.assert_allclose(feats[0, 0, :3], (1.0, -1.0, -1.0))
  np.testing.assert_allclose(feats[0, 0, 3:12], -1.0)
  np.testing.assert_allclose(feats[0, 0, 12:], (16 / 64, 1.0))
  np.testing.assert_allclose(feats[0, 3, :12], 0.0)  # 0.5 grey -> 0.
  np.testing.assert_allclose(feats[0, 3, 12:], (1.0, 1.0))
  np.testing.assert_allclose(feats[0, 1, 12:], (0.0, 1.0))  # unpainted
  sel = hints.select(jnp.asarray(feats), jnp.asarray([[True, False] * 2]))
  assert not np.asarray(sel)[0, 1].any() and np.asarray(sel)[0, 0, -1] == 1
  assert hints.with_class_token(sel).shape == (1, 5, 14)
  assert hints.res_for(14) == 2 and hints.res_for(5) == 1
  with pytest.raises(ValueError, match="divide"):
    hints.token_appearance(jnp.asarray(guide), painted, 8, 3)
  with pytest.raises(ValueError, match="r\\*r\\*3"):
    hints.res_for(13)


@pytest.fixture(scope="module")
def inputs():
  rng = np.random.default_rng(0)
  images = rng.random((2, 32, 32, 3)).astype(np.float32)
  guides = images.copy()
  guides[0, 5:8, 6:10] = (1.0, 0.0, 0.0)
  guides[1, 4:28, 2:30] = (0.0, 0.2, 1.0)
  return images, guides


def test_cfg_strength_one_is_inpaint(tiny_model, inputs):
  # A random (non-zero) projection, so that hints change the logits.
  ed = editor_lib.Editor(hints.with_hint_projection(tiny_model, 2, seed=0))
  run = lambda method, s, pos="edit": ed.edit(
      *inputs, labels=[1, 2], strength=s, seed=3, num_samples=2,
      options=editor_lib.EditOptions(
          method=method, method_options=selfcond_sampler.Options(pos)
          if method == "selfcond" else None, **OPTS))
  inpaint = run("inpaint", 1.0)
  for pos in ("edit", "masked"):
    one = run("selfcond", 1.0, pos)
    np.testing.assert_array_equal(one.tokens.samples, inpaint.tokens.samples)
    np.testing.assert_array_equal(one.images, inpaint.images)
    mid = run("selfcond", 0.3, pos)
    # The hint is used.
    assert (mid.tokens.samples != inpaint.tokens.samples).any()
  zero = run("selfcond", 0.0).tokens
  g_e = np.where(zero.edit, zero.guide, zero.original)[:, None]
  np.testing.assert_array_equal(zero.samples, np.broadcast_to(
      g_e, zero.samples.shape))
  with pytest.raises(ValueError, match="positions"):
    editor_lib.EditOptions(method="selfcond", method_options=
                           selfcond_sampler.Options("all")).validate()


def _tiny_selfcond(hint):
  c = selfcond_config.get_config("tiny")
  c.num_steps = 2
  c.eval_every = 0
  c.sample_every = 0
  c.batch_size = 8
  c.data.source = "synthetic"
  c.selfcond.hint = hint
  c.selfcond.p_hint = 0.5
  c.selfcond.stroke_threads = 1
  return c


def test_recipe_runs_and_exports(tmp_path):
  c = _tiny_selfcond("appearance")
  out = loop.train_and_evaluate(c, str(tmp_path))
  assert out["stopped"] == "done"
  assert all(np.isfinite(v) for v in out["losses"].values())
  tr = transformer_lib.TransformerConfig.from_config(c.model.transformer)
  tr = dataclasses.replace(tr, num_hint_codes=0, hint_features=14)
  params = checkpoints.load_transformer(out["export"][0], tr)
  # Trained: the zero-initialised projection has moved.
  assert np.abs(params["Embed_0"]["hint_projection"]["kernel"]).max() > 0


def test_token_hint_ablation_loss(tmp_path):
  del tmp_path
  c = _tiny_selfcond("token")
  recipe = edit_training.SelfCondRecipe(c)
  assert recipe.tr_cfg.num_hint_codes == 64 and not recipe.tr_cfg.hint_features
  params = recipe.init_params(jax.random.key(0))
  rng = np.random.default_rng(0)
  images = rng.random((4, 32, 32, 3)).astype(np.float32)
  batch = recipe.host_transform(
      {"image": images, "label": np.arange(4, dtype=np.int32)}, step=0)
  batch = recipe.prepare(recipe.frozen(), batch)
  assert batch["guide_tokens"].shape == (4, 65) and batch["edit"].any()
  loss, metrics = recipe.loss_fn(params, None, batch, jax.random.key(1), 0,
                                 True)
  assert np.isfinite(loss) and 0 <= metrics["frac_hinted"] <= 1


def test_pool_holds_pool_guides_distinct_guides_per_image(tmp_path):
  rng = np.random.default_rng(0)
  data = tmp_path / "d.npz"
  np.savez(data, train_image=rng.integers(0, 256, (5, 32, 32, 3), np.uint8),
           train_label=np.arange(5, dtype=np.int32) % 2)
  c = _tiny_selfcond("appearance")
  c.data.source = "npz"
  c.data.dataset = str(data)
  c.selfcond.pool = str(tmp_path / "pool.npz")
  c.selfcond.pool_guides = 2
  recipe = edit_training.SelfCondRecipe(c)
  pool = recipe.pool()
  assert len(pool["label"]) == 10 and os.path.isfile(c.selfcond.pool)
  # With data.random_flip the second guides see the mirrored images.
  assert c.data.random_flip
  with np.load(data) as f:
    images = f["train_image"].astype(np.float32) / 255.0
  tokens = lambda x: np.asarray(tr_recipe.tokenize(
      recipe.tok_cfg, recipe.frozen()["tokenizer"], x,
      np.arange(5) % 2, recipe.tr_cfg.num_codes))
  np.testing.assert_array_equal(pool["tokens"][:5], tokens(images))
  np.testing.assert_array_equal(pool["tokens"][5:],
                                tokens(images[:, :, ::-1]))
  np.testing.assert_array_equal(pool["label"], np.tile(np.arange(5) % 2, 2))
  # Same images, different simulated guides: the hints differ.
  assert (pool["hint_features"][:5] != pool["hint_features"][5:]).any()
  # The first guides are those of a one-guide pool (same seeds).
  c.selfcond.pool = str(tmp_path / "pool1.npz")
  c.selfcond.pool_guides = 1
  one = edit_training.SelfCondRecipe(c).pool()
  np.testing.assert_array_equal(one["hint_features"], pool["hint_features"][:5])
  c.selfcond.pool = str(tmp_path / "pool0.npz")
  c.selfcond.pool_guides = 0
  with pytest.raises(edit_training.ConfigError, match="pool_guides"):
    edit_training.SelfCondRecipe(c).pool()
