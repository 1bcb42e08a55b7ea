"""Sharded training step == single-device step; intended shardings (8 fake CPUs)."""

import jax
from jax.sharding import PartitionSpec as P
import numpy as np
import pytest

from configs import transformer as transformer_config
from maskgit.training import ConfigError
from maskgit.training import loop
from maskgit.training import sharding

# Float32 reductions run in a different order when split over devices.
RTOL, ATOL = 1e-5, 1e-6


def _config():
  c = transformer_config.get_config("tiny")
  c.model.transformer.scan_layers = True
  c.model.transformer.remat = True
  return c


def _run(mesh, steps=2):
  c = _config()
  trainer = loop.Trainer(c, mesh=mesh)
  rng = np.random.default_rng(0)
  state = trainer.init_state()
  step_fn = trainer.train_step_fn()
  losses = []
  with jax.set_mesh(mesh):
    for i in range(steps):
      host = {"image": rng.uniform(size=(8, 32, 32, 3)).astype(np.float32),
              "label": rng.integers(0, 10, size=(8,)).astype(np.int32)}
      state, m = step_fn(state, trainer.frozen, trainer.batch(host, i))
      losses.append(float(m["loss"]))
  return trainer, state, losses


@pytest.fixture(scope="module")
def multi_run():
  return _run(sharding.make_mesh((("data", 2), ("fsdp", 4))))


def test_sharded_step_matches_single_device(multi_run):
  assert len(jax.devices()) == 8
  single = sharding.make_mesh((("data", 1), ("fsdp", 1)), jax.devices()[:1])
  _, s1, l1 = _run(single)
  _, s8, l8 = multi_run
  np.testing.assert_allclose(l8, l1, rtol=RTOL, atol=ATOL)
  jax.tree.map(lambda a, b: np.testing.assert_allclose(
      np.asarray(a), np.asarray(b), rtol=RTOL, atol=ATOL),
               s8.params, s1.params)
  jax.tree.map(lambda a, b: np.testing.assert_allclose(
      np.asarray(a), np.asarray(b), rtol=RTOL, atol=ATOL),
               s8.opt_state, s1.opt_state)


def test_params_and_optimizer_state_shardings(multi_run):
  trainer, state, _ = multi_run
  params = state.params
  # Scanned layer kernels: stacked axis whole, the largest divisible dim split.
  k = params["TransformerLayers"]["Mlp_0"]["intermediate_output"]["kernel"]
  assert k.shape == (2, 32, 64)
  assert k.sharding.spec == P(None, None, "fsdp")
  assert k.addressable_shards[0].data.shape == (2, 32, 16)
  emb = params["Embed_0"]["word_embeddings"]["embedding"]  # [75, 32]
  assert emb.sharding.spec == P(None, "fsdp")
  bias = params["MlmLayer_0"]["mlm_bias"]["bias"]  # Small: replicated.
  assert bias.sharding.spec == P()
  # Adam moments follow their parameters.
  adam = [s for s in jax.tree.leaves(
      state.opt_state, is_leaf=lambda x: hasattr(x, "mu"))
          if hasattr(s, "mu")][0]
  for p, mu, nu in zip(jax.tree.leaves(params), jax.tree.leaves(adam.mu),
                       jax.tree.leaves(adam.nu)):
    assert mu.sharding.spec == p.sharding.spec == nu.sharding.spec
  n_sharded = sum("fsdp" in tuple(p.sharding.spec)
                  for p in jax.tree.leaves(params))
  assert n_sharded >= 8
  # The state shardings the jitted step declares are the rule's.
  assert jax.tree.map(lambda s: s.spec, trainer.state_shardings.params) == (
      jax.tree.map(lambda p: p.sharding.spec, params))
  # Batches are split over both axes.
  assert trainer.batch_sharding.spec == P(("data", "fsdp"))


def test_bad_mesh_is_one_clear_error():
  with pytest.raises(ConfigError, match="does not fit 8 devices"):
    sharding.make_mesh((("data", -1), ("fsdp", 3)))
  with pytest.raises(ConfigError, match="needs 4 devices, have 8"):
    sharding.make_mesh((("data", 2), ("fsdp", 2)))
