"""Parameter trees match the official release; layouts and options agree."""

import dataclasses
import json
import os

from flax import traverse_util
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from configs import models
from maskgit import checkpoints
from maskgit.nets import transformer as tr
from maskgit.nets import vqgan

SPEC = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "spec")
SPEC = os.environ.get("MASKGIT_SPEC_DIR", SPEC)


def _flat_shapes(tree):
  return {"/".join(k): list(v.shape)
          for k, v in traverse_util.flatten_dict(tree).items()}


def _spec(name):
  path = os.path.join(SPEC, name)
  if not os.path.exists(path):
    pytest.skip(f"spec file {path} not available")
  with open(path) as f:
    return json.load(f)


@pytest.mark.parametrize("preset,spec_file", [
    ("imagenet256", "transformer_256_params.json"),
    ("imagenet512", "transformer_512_params.json"),
])
def test_transformer_tree_matches_official(preset, spec_file):
  cfg = tr.TransformerConfig.from_config(models.get_config(preset).transformer)
  shapes = jax.eval_shape(lambda: tr.init_params(cfg, jax.random.key(0)))
  got = _flat_shapes(shapes)
  want = _spec(spec_file)
  assert got == want
  if preset == "imagenet256":
    assert len(got) == 393
    assert sum(int(np.prod(s)) for s in got.values()) == 172_457_193


@pytest.mark.parametrize("preset", ["imagenet256", "imagenet512"])
def test_tokenizer_tree_matches_official(preset):
  cfg = vqgan.TokenizerConfig.from_config(models.get_config(preset).tokenizer)
  shapes = jax.eval_shape(lambda: vqgan.init_params(cfg, jax.random.key(0)))
  got = _flat_shapes(shapes)
  assert got == _spec("tokenizer_256_params.json")
  assert sum(int(np.prod(s)) for s in got.values()) == 54_515_587


def _tiny_tr(tiny_config, **kw):
  return dataclasses.replace(
      tr.TransformerConfig.from_config(tiny_config.transformer), **kw)


def _tokens(cfg, batch=2, seed=0):
  rng = np.random.default_rng(seed)
  ids = rng.integers(0, cfg.num_codes, (batch, cfg.seq_len))
  ids[:, 0] = cfg.num_codes + 3
  ids[rng.random(ids.shape) < 0.5] = -1
  ids[:, 0] = cfg.num_codes + 3
  return jnp.asarray(ids, jnp.int32)


def test_scan_layout_roundtrip_and_same_logits(tiny_config):
  cfg = _tiny_tr(tiny_config)
  params = tr.init_params(cfg, jax.random.key(1))["params"]
  scan_params = checkpoints.to_scan_layout(params)
  assert tr.SCAN_NAME in scan_params
  assert not any(k.startswith("TransformerLayer_") for k in scan_params)
  back = checkpoints.to_official_layout(scan_params)
  jax.tree.map(np.testing.assert_array_equal, back, jax.device_get(params))
  ids = _tokens(cfg)
  ref = tr.Transformer(cfg).apply({"params": params}, ids)
  for remat in (False, True):
    scfg = dataclasses.replace(cfg, scan_layers=True, remat=remat)
    out = tr.Transformer(scfg).apply({"params": scan_params}, ids)
    np.testing.assert_allclose(out, ref, rtol=1e-5, atol=1e-5)


def test_mask_token_minus_one_is_last_row(tiny_config):
  cfg = _tiny_tr(tiny_config)
  params = tr.init_params(cfg, jax.random.key(2))
  ids = _tokens(cfg)
  explicit = jnp.where(ids == -1, cfg.mask_token_id, ids)
  model = tr.Transformer(cfg)
  np.testing.assert_array_equal(model.apply(params, ids),
                                model.apply(params, explicit))
  assert model.apply(params, ids).shape == (2, cfg.seq_len, cfg.vocab_size)


def test_hint_model_without_hint_equals_base(tiny_config):
  cfg = _tiny_tr(tiny_config)
  params = tr.init_params(cfg, jax.random.key(3))["params"]
  hcfg = dataclasses.replace(cfg, num_hint_codes=cfg.num_codes)
  hparams = jax.tree.map(lambda x: x, params)
  hparams["Embed_0"] = dict(params["Embed_0"])
  hparams["Embed_0"]["hint_embeddings"] = {
      "embedding": jnp.zeros((cfg.num_codes + 1, cfg.hidden_size))}
  ids = _tokens(cfg)
  base = tr.Transformer(cfg).apply({"params": params}, ids)
  none = tr.Transformer(hcfg).apply({"params": hparams}, ids)
  np.testing.assert_array_equal(base, none)
  # A fresh hint model's zero-initialised table also leaves outputs alone.
  fresh = tr.init_params(hcfg, jax.random.key(3))["params"]
  np.testing.assert_array_equal(
      fresh["Embed_0"]["hint_embeddings"]["embedding"], 0.0)
  with pytest.raises(ValueError, match="num_hint_codes"):
    tr.Transformer(cfg).apply({"params": params}, ids, ids)


def test_bfloat16_compute_runs_and_is_close(tiny_config):
  cfg = _tiny_tr(tiny_config)
  params = tr.init_params(cfg, jax.random.key(4))
  ids = _tokens(cfg)
  ref = tr.Transformer(cfg).apply(params, ids)
  bf = tr.Transformer(dataclasses.replace(cfg, dtype=jnp.bfloat16)).apply(
      params, ids)
  assert bf.dtype == jnp.float32
  assert jax.tree.leaves(params)[0].dtype == jnp.float32
  np.testing.assert_allclose(bf, ref, atol=0.1)


def test_tokenizer_shapes_and_quirk(tiny_config):
  cfg = vqgan.TokenizerConfig.from_config(tiny_config.tokenizer)
  params = vqgan.init_params(cfg, jax.random.key(0), 32)
  model = vqgan.VQGAN(cfg)
  images = jax.random.uniform(jax.random.key(1), (2, 32, 32, 3))
  ids = model.apply(params, images, method=vqgan.VQGAN.encode_ids)
  assert ids.shape == (2, 8, 8) and ids.dtype == jnp.int32
  out = model.apply(params, ids, method=vqgan.VQGAN.decode_ids)
  assert out.shape == (2, 32, 32, 3)
  # Quantizer: the chosen code is the nearest codebook row.
  z = model.apply(params, images, method=vqgan.VQGAN.encode)
  cb = params["params"]["quantizer"]["codebook"]
  d = ((z[..., None, :] - cb) ** 2).sum(-1)
  np.testing.assert_array_equal(ids, jnp.argmin(d, -1))
  # Width-changing block: output = x + Conv_2(x), the input is not added.
  block = vqgan.ResBlock(8, dataclasses.replace(cfg, num_groups=4))
  x = jax.random.normal(jax.random.key(2), (1, 4, 4, 4))
  bp = block.init(jax.random.key(3), x)
  y = block.apply(bp, x)
  def inner(mdl, x):
    h = mdl.__call__.__wrapped__ if False else None  # noqa: F841
    return None
  p = bp["params"]
  gn = lambda v, s, b: _group_norm(v, 4, s, b)
  h = jax.nn.swish(gn(x, p["GroupNorm_0"]["scale"], p["GroupNorm_0"]["bias"]))
  h = jax.lax.conv_general_dilated(h, p["Conv_0"]["kernel"], (1, 1), "SAME",
                                   dimension_numbers=("NHWC", "HWIO", "NHWC"))
  h = jax.nn.swish(gn(h, p["GroupNorm_1"]["scale"], p["GroupNorm_1"]["bias"]))
  h = jax.lax.conv_general_dilated(h, p["Conv_1"]["kernel"], (1, 1), "SAME",
                                   dimension_numbers=("NHWC", "HWIO", "NHWC"))
  expect = h + jnp.einsum("bhwc,cd->bhwd", h, p["Conv_2"]["kernel"][0, 0])
  np.testing.assert_allclose(y, expect, rtol=1e-4, atol=1e-4)
  assert p["Conv_2"]["kernel"].shape == (1, 1, 8, 8)


def _group_norm(x, groups, scale, bias, eps=1e-6):
  b, h, w, c = x.shape
  g = x.reshape(b, h, w, groups, c // groups)
  mean = g.mean(axis=(1, 2, 4), keepdims=True)
  var = g.var(axis=(1, 2, 4), keepdims=True)
  g = (g - mean) / jnp.sqrt(var + eps)
  return g.reshape(x.shape) * scale + bias


def test_unknown_config_field_is_an_error(tiny_config):
  cfg = tiny_config.transformer.copy_and_resolve_references()
  with cfg.unlocked():
    cfg.num_layer = 3
  with pytest.raises(ValueError, match="num_layer"):
    tr.TransformerConfig.from_config(cfg)
