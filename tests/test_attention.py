"""Fused attention option (`attention_impl`) against the reference attention."""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from maskgit.nets import transformer as tr

_CFG = tr.TransformerConfig(num_codes=64, num_classes=10, seq_len=65,
                            hidden_size=32, num_layers=2, num_heads=4,
                            mlp_dim=64)


def _logits(cfg, params, ids, deterministic=True, rng=None):
  rngs = None if rng is None else {"dropout": rng}
  return tr.Transformer(cfg).apply(params, ids, deterministic=deterministic,
                                   rngs=rngs)


@pytest.fixture(scope="module")
def setup():
  params = tr.init_params(_CFG, jax.random.key(0))
  ids = jax.random.randint(jax.random.key(1), (2, _CFG.seq_len), -1,
                           _CFG.num_codes)
  return params, ids


@pytest.mark.parametrize("impl", ["auto", "xla"])
def test_fused_matches_reference_f32(setup, impl):
  params, ids = setup
  ref = _logits(_CFG, params, ids)
  fused = _logits(dataclasses.replace(_CFG, attention_impl=impl), params, ids)
  np.testing.assert_allclose(np.asarray(fused), np.asarray(ref),
                             rtol=1e-5, atol=1e-5)


def test_fused_matches_reference_bf16(setup):
  params, ids = setup
  cfg = dataclasses.replace(_CFG, dtype=jnp.bfloat16)
  ref = _logits(cfg, params, ids)
  fused = _logits(dataclasses.replace(cfg, attention_impl="xla"), params, ids)
  # bf16 has ~3 significant digits; logits here are O(1).
  np.testing.assert_allclose(np.asarray(fused), np.asarray(ref), atol=0.1)
  assert float(jnp.mean(jnp.abs(fused - ref))) < 0.02


def test_fused_with_attention_dropout_runs_reference(setup):
  params, ids = setup
  rng = jax.random.key(2)
  ref = _logits(_CFG, params, ids, deterministic=False, rng=rng)
  fused = _logits(dataclasses.replace(_CFG, attention_impl="xla"), params,
                  ids, deterministic=False, rng=rng)
  np.testing.assert_array_equal(np.asarray(fused), np.asarray(ref))


def test_fused_gradients_match(setup):
  params, ids = setup
  fused_cfg = dataclasses.replace(_CFG, attention_impl="xla",
                                  attention_dropout_rate=0.0, dropout_rate=0.0)
  ref_cfg = dataclasses.replace(fused_cfg, attention_impl="reference")

  def loss(p, cfg):
    return jnp.mean(_logits(cfg, p, ids) ** 2)

  g_ref = jax.grad(loss)(params, ref_cfg)
  g_fused = jax.grad(loss)(params, fused_cfg)
  for a, b in zip(jax.tree.leaves(g_ref), jax.tree.leaves(g_fused)):
    np.testing.assert_allclose(np.asarray(b), np.asarray(a), rtol=1e-4,
                               atol=1e-6)


def test_unknown_impl_is_one_error():
  with pytest.raises(ValueError, match="attention_impl must be one of"):
    tr.TransformerConfig(attention_impl="flash")
