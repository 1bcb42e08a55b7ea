"""Training a shipped model further: decoder on frozen codes, grown classes."""

import os
import pathlib
import subprocess
import sys

import jax
import numpy as np
import pytest

from configs import tokenizer as tokenizer_config
from configs import transformer as transformer_config
from maskgit import checkpoints
from maskgit.nets import transformer as transformer_lib
from maskgit.nets import vqgan
from maskgit.training import ConfigError
from maskgit.training import loop
from maskgit.training import transformer as tr_recipe

ROOT = pathlib.Path(__file__).resolve().parents[1]


def _flat(tree):
  return {jax.tree_util.keystr(k): np.asarray(v)
          for k, v in jax.tree_util.tree_leaves_with_path(tree)}


def test_decoder_only_fine_tune_keeps_every_code(tmp_path):
  c = tokenizer_config.get_config("tiny")
  tok_cfg = vqgan.TokenizerConfig.from_config(c.model.tokenizer)
  start = jax.tree.map(np.asarray, vqgan.init_params(
      tok_cfg, jax.random.key(5), int(c.model.image_size))["params"])
  init = str(tmp_path / "tok.msgpack")
  checkpoints.write_msgpack(init, start)
  env = {**os.environ, "JAX_PLATFORMS": "cpu",
         "XLA_FLAGS": "--xla_force_host_platform_device_count=1"}
  proc = subprocess.run(
      [sys.executable, str(ROOT / "train.py"), f"--workdir={tmp_path}/w",
       "--config=configs/tokenizer.py:tiny", "--config.num_steps=3",
       f"--config.init_from={init}", "--config.tokenizer_loss.decoder_only=True",
       "--config.tokenizer_loss.disc_start=1", "--config.eval_every=0",
       "--config.sample_every=0", "--config.optim.warmup_steps=1",
       "--config.optim.learning_rate=1e-2"],
      cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
  assert proc.returncode == 0, proc.stderr[-3000:]
  assert "psnr" in (tmp_path / "w" / "metrics.jsonl").read_text()
  got = checkpoints.load_tokenizer(
      str(tmp_path / "w" / "export" / "tokenizer.msgpack"), tok_cfg)
  before, after = _flat(start), _flat(got)
  assert before.keys() == after.keys()
  changed = {k for k in before if not np.array_equal(before[k], after[k])}
  assert changed and all("decoder" in k for k in changed), sorted(changed)
  assert all(k in changed for k in before if "decoder" in k and "kernel" in k)
  # Same encoder and codebook: every image keeps its token ids.
  images = np.random.default_rng(0).uniform(size=(4, 32, 32, 3)).astype(
      np.float32)
  enc = lambda p: np.asarray(vqgan.VQGAN(tok_cfg).apply(
      {"params": p}, images, method=vqgan.VQGAN.encode_ids))
  np.testing.assert_array_equal(enc(start), enc(got))


def _tiny_transformer(num_classes):
  c = transformer_config.get_config("tiny")
  c.model.transformer.num_classes = num_classes
  return c, tr_recipe.transformer_config(c)


def test_grown_classes_keep_the_old_labels_meaning(tmp_path):
  c, old_cfg = _tiny_transformer(5)
  params = transformer_lib.init_params(old_cfg, jax.random.key(0))["params"]
  path = str(tmp_path / "t5.msgpack")
  checkpoints.save_transformer(path, params)
  c, new_cfg = _tiny_transformer(15)
  c.init_from, c.init_num_classes = path, 5
  trainer = loop.Trainer(c)
  grown = jax.device_get(trainer.recipe.load_params())
  rng = np.random.default_rng(1)
  ids = rng.integers(0, old_cfg.num_codes, (3, old_cfg.seq_len))
  ids[:, 5:9] = -1  # Some masked tokens.
  def logits(cfg, p, label):
    x = ids.copy()
    x[:, 0] = cfg.num_codes + label
    out = transformer_lib.Transformer(cfg).apply({"params": p}, x, None,
                                                 deterministic=True)
    return np.asarray(out)[..., :cfg.num_codes]
  for label in range(15):
    np.testing.assert_allclose(logits(new_cfg, grown, label),
                               logits(old_cfg, params, label % 5),
                               rtol=1e-5, atol=1e-5)
  with pytest.raises(ConfigError, match="not a multiple"):
    tr_recipe.tile_classes(params, old_cfg, 12)


def test_decoder_only_without_a_tokenizer_to_start_from_is_a_config_error():
  from maskgit.training import tokenizer as tokenizer_recipe  # pylint: disable=g-import-not-at-top
  c = tokenizer_config.get_config("tiny")
  c.tokenizer_loss.decoder_only = True
  with pytest.raises(ConfigError, match="set init_from"):
    tokenizer_recipe.TokenizerRecipe(c)
