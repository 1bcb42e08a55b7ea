"""Official msgpack I/O, orbax, and one clear error per kind of bad file."""

import dataclasses

import flax
import jax
import numpy as np
import pytest

from maskgit import checkpoints
from maskgit import model as model_lib
from maskgit.nets import transformer as tr


def test_roundtrip_official_format_identical_outputs(tmp_path, tiny_model,
                                                     tiny_config):
  tok, trp = tmp_path / "tok", tmp_path / "tr"
  tiny_model.save(str(tok), str(trp))
  raw = flax.serialization.msgpack_restore(trp.read_bytes())
  assert set(raw) == {"params"}
  assert "TransformerLayer_0" in raw["params"]
  loaded = model_lib.MaskGIT.from_files(tiny_config, str(tok), str(trp))
  jax.tree.map(np.testing.assert_array_equal, loaded.transformer_params,
               jax.device_get(tiny_model.transformer_params))
  images = np.random.default_rng(0).random((2, 32, 32, 3)).astype(np.float32)
  np.testing.assert_array_equal(loaded.encode(images),
                                tiny_model.encode(images))
  np.testing.assert_array_equal(loaded.generate([1, 2], seed=3),
                                tiny_model.generate([1, 2], seed=3))


def test_load_into_scan_layout_gives_same_logits(tmp_path, tiny_model,
                                                 tiny_config):
  tok, trp = tmp_path / "tok", tmp_path / "tr"
  tiny_model.save(str(tok), str(trp))
  cfg = tiny_config.copy_and_resolve_references()
  cfg.transformer.scan_layers = True
  scan = model_lib.MaskGIT.from_files(cfg, str(tok), str(trp))
  assert tr.SCAN_NAME in scan.transformer_params
  ids = np.full((2, 65), -1, np.int32)
  ids[:, 0] = 64 + 1
  np.testing.assert_allclose(scan.logits(ids), tiny_model.logits(ids),
                             rtol=1e-5, atol=1e-5)
  # Saving from the scan layout writes the official layout again.
  out = tmp_path / "tr2"
  checkpoints.save_transformer(str(out), scan.transformer_params)
  again = checkpoints.read_msgpack(str(out))["params"]
  assert "TransformerLayer_1" in again and tr.SCAN_NAME not in again


def test_hint_config_loads_plain_checkpoint(tmp_path, tiny_model, tiny_config):
  trp = tmp_path / "tr"
  checkpoints.save_transformer(str(trp), tiny_model.transformer_params)
  cfg = tr.TransformerConfig.from_config(tiny_config.transformer)
  hcfg = dataclasses.replace(cfg, num_hint_codes=cfg.num_codes)
  params = checkpoints.load_transformer(str(trp), hcfg)
  np.testing.assert_array_equal(
      params["Embed_0"]["hint_embeddings"]["embedding"], 0.0)


def test_orbax_roundtrip(tmp_path, tiny_model):
  params = jax.device_get(tiny_model.transformer_params)
  checkpoints.save_orbax(str(tmp_path / "ckpt"), params)
  abstract = jax.tree.map(
      lambda x: jax.ShapeDtypeStruct(x.shape, x.dtype), params)
  back = checkpoints.restore_orbax(str(tmp_path / "ckpt"), abstract)
  jax.tree.map(np.testing.assert_array_equal, back, params)
  with pytest.raises(checkpoints.CheckpointError, match="not found"):
    checkpoints.restore_orbax(str(tmp_path / "nope"))


@pytest.fixture
def good_file(tmp_path, tiny_model):
  path = tmp_path / "maskgit_tiny"
  checkpoints.save_transformer(str(path), tiny_model.transformer_params)
  return path


def _tiny_tr_config(tiny_config):
  return tr.TransformerConfig.from_config(tiny_config.transformer)


def test_missing_file(tmp_path, tiny_config):
  path = tmp_path / "absent"
  with pytest.raises(checkpoints.CheckpointError,
                     match=f"not found: {path}"):
    checkpoints.load_transformer(str(path), _tiny_tr_config(tiny_config))


def test_not_msgpack(tmp_path, tiny_config):
  path = tmp_path / "image.png"
  path.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4)
  with pytest.raises(checkpoints.CheckpointError, match="image.png"):
    checkpoints.load_transformer(str(path), _tiny_tr_config(tiny_config))


def test_msgpack_without_params(tmp_path, tiny_config):
  path = tmp_path / "other"
  path.write_bytes(flax.serialization.msgpack_serialize(
      {"opt": {"x": np.zeros(3)}}))
  with pytest.raises(checkpoints.CheckpointError,
                     match="expected a top-level 'params'"):
    checkpoints.load_transformer(str(path), _tiny_tr_config(tiny_config))


def test_truncated(good_file, tiny_config):
  data = good_file.read_bytes()
  good_file.write_bytes(data[:len(data) // 2])
  with pytest.raises(checkpoints.CheckpointError,
                     match="truncated or another format"):
    checkpoints.load_transformer(str(good_file), _tiny_tr_config(tiny_config))


@pytest.mark.parametrize("change,expect", [
    (dict(num_layers=3), "missing    TransformerLayer_2/"),
    (dict(num_layers=1), "unexpected TransformerLayer_1/"),
    (dict(hidden_size=48), "expected (48,), got (32,)"),
])
def test_tree_mismatch_lists_paths(good_file, tiny_config, change, expect):
  cfg = dataclasses.replace(_tiny_tr_config(tiny_config), **change)
  with pytest.raises(checkpoints.CheckpointError) as e:
    checkpoints.load_transformer(str(good_file), cfg)
  msg = str(e.value)
  assert str(good_file) in msg and "does not match the model config" in msg
  assert expect in msg


def test_tokenizer_file_given_as_transformer(tmp_path, tiny_model,
                                             tiny_config):
  tok, trp = tmp_path / "tok", tmp_path / "tr"
  tiny_model.save(str(tok), str(trp))
  with pytest.raises(checkpoints.CheckpointError, match="wrong kind of checkpoint"):
    model_lib.MaskGIT.from_files(tiny_config, str(trp), str(trp))
  with pytest.raises(checkpoints.CheckpointError, match="wrong kind of checkpoint"):
    model_lib.MaskGIT.from_files(tiny_config, str(tok), str(tok))
