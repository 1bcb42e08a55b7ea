"""Guided samplers on the tiny model: the invariants of every method."""

import numpy as np
import pytest

from maskgit import checkpoints
from maskgit import model as model_lib
from maskgit_edit import editor as editor_lib
from maskgit_edit import samplers
from maskgit_edit.samplers import self_fixed

OPTS = dict(num_iter=6, start_iter=1, feather=2)


@pytest.fixture(scope="module")
def inputs():
  rng = np.random.default_rng(0)
  images = rng.random((2, 32, 32, 3)).astype(np.float32)
  guides = images.copy()
  guides[0, 5:8, 6:10] = (1.0, 0.0, 0.0)   # small edit (|E| = 2x3 = 6)
  guides[1, 4:28, 2:30] = (0.0, 0.2, 1.0)  # large edit
  return images, guides


@pytest.fixture(scope="module")
def editors(tiny_model, tmp_path_factory):
  path = tmp_path_factory.mktemp("k") / "kernel.npy"
  c = tiny_model.tokenizer_config.num_codes
  np.save(path, np.random.default_rng(0).normal(size=(c, c)).astype(
      np.float32))
  hinted = editor_lib.with_hint_embedding(tiny_model)
  return (editor_lib.Editor(tiny_model, str(path)),
          editor_lib.Editor(hinted, str(path)))


def _run(editors, inputs, method, strength, seed=0, **kw):
  base, hinted = editors
  ed = hinted if method == "selfcond" else base
  opts = editor_lib.EditOptions(method=method, **{**OPTS, **kw})
  return ed.edit(*inputs, labels=[1, 2], strength=strength, seed=seed,
                 num_samples=2, options=opts)


CASES = [("context", {}), ("self_fixed", {}),
         ("self_fixed", dict(method_options=self_fixed.Options(
             form="pilot", kernel="codebook"))),
         ("self_learned", {}), ("sdedit", {}), ("selfcond", {})]


@pytest.mark.parametrize("method,kw", CASES)
def test_method_invariants(editors, inputs, method, kw):
  images = inputs[0]
  inpaint = _run(editors, inputs, "inpaint", 1.0)
  mid = _run(editors, inputs, method, [0.5, 0.3], **kw)
  again = _run(editors, inputs, method, [0.5, 0.3], **kw)
  zero = _run(editors, inputs, method, 0.0, **kw)
  one = _run(editors, inputs, method, 1.0, **kw)
  e = mid.edit_tokens[:, None]
  orig = mid.original_tokens[:, None]
  g_e = np.where(e, mid.guide_tokens[:, None], orig)
  assert mid.edit_tokens[0].sum() < mid.edit_tokens[1].sum()  # mixed |E|
  for r in (mid, zero, one, inpaint):
    assert (r.tokens >= 0).all()
    np.testing.assert_array_equal(np.where(e, 0, r.tokens),
                                  np.where(e, 0, np.broadcast_to(
                                      orig, r.tokens.shape)))
    band = r.feather_weights > 0
    for n in range(2):
      for s in range(2):
        np.testing.assert_array_equal(r.images[n, s][~band[n]],
                                      images[n][~band[n]])
  np.testing.assert_array_equal(zero.tokens, np.broadcast_to(
      g_e, zero.tokens.shape))
  np.testing.assert_array_equal(one.tokens, inpaint.tokens)
  np.testing.assert_array_equal(one.images, inpaint.images)
  np.testing.assert_array_equal(mid.tokens, again.tokens)
  np.testing.assert_array_equal(mid.images, again.images)


def test_patch_local_window(editors, inputs):
  """Small edit -> window smaller than the grid; invariants still hold."""
  images, guides = inputs
  res = editors[0].edit(images[:1], guides[:1], labels=3, strength=0.6,
                        seed=1, options=editor_lib.EditOptions(
                            method="sdedit", patch_local=True,
                            window_margin=0, decoder_margin=1, **OPTS))
  # With window_margin=0 the transformer sees E's box only (2 tokens here);
  # the tokenizer window still holds the feather band.
  assert res.tokens.shape[-1] == 2 < editors[0].model.side
  e = res.edit_tokens[:, None]
  np.testing.assert_array_equal(np.where(e, 0, res.tokens), np.where(
      e, 0, np.broadcast_to(res.original_tokens[:, None], res.tokens.shape)))
  band = res.feather_weights[0] > 0
  np.testing.assert_array_equal(res.images[0, 0][~band], images[0][~band])


def test_selfcond_model_without_hint_equals_base(tiny_model, tmp_path):
  tokens = np.random.default_rng(0).integers(0, 64, (2, 65)).astype(np.int32)
  tokens[:, 0] = 64 + 3
  tokens[:, 10:20] = -1
  base = tiny_model.logits(tokens)
  hinted = editor_lib.with_hint_embedding(tiny_model)
  np.testing.assert_array_equal(hinted.logits(tokens), base)
  np.testing.assert_array_equal(
      hinted.logits(tokens, np.full_like(tokens, -1)), base)
  # Loading an official (hint-less) checkpoint into a hinted config.
  tiny_model.save(str(tmp_path / "t.msgpack"), str(tmp_path / "m.msgpack"))
  cfg = tiny_model.config.copy_and_resolve_references()
  cfg.transformer.num_hint_codes = 64
  loaded = model_lib.MaskGIT(cfg, tiny_model.tokenizer_params,
                             checkpoints.load_transformer(
                                 str(tmp_path / "m.msgpack"),
                                 hinted.transformer_config))
  np.testing.assert_array_equal(loaded.logits(tokens), base)


def test_errors(editors, inputs):
  ed = editors[0]
  with pytest.raises(ValueError, match="strength"):
    ed.edit(*inputs, strength=1.5)
  with pytest.raises(ValueError, match="Unknown method"):
    ed.edit(*inputs, options=editor_lib.EditOptions(method="nope"))
  with pytest.raises(ValueError, match="out of range"):
    ed.edit(*inputs, labels=99)
  with pytest.raises(ValueError, match="self-conditioned"):
    ed.edit(*inputs, options=editor_lib.EditOptions(method="selfcond"))
  with pytest.raises(ValueError, match="identical"):
    ed.edit(inputs[0], inputs[0])


def test_registry():
  assert samplers.names() == ("inpaint", "context", "self_fixed",
                              "self_learned", "sdedit", "selfcond")
  assert samplers.get("sdedit").name == "sdedit"
  with pytest.raises(ValueError, match="Unknown method 'nope'.*inpaint"):
    samplers.get("nope")
  with pytest.raises(ValueError, match="already registered"):
    samplers.register(type("X", (samplers.Sampler,), {"name": "sdedit"})())


def test_method_options_validated():
  with pytest.raises(ValueError, match="sdedit.Options"):
    editor_lib.EditOptions(method="sdedit",
                           method_options=self_fixed.Options()).validate()
  with pytest.raises(ValueError, match="kernel"):
    editor_lib.EditOptions(method="self_fixed", method_options=(
        self_fixed.Options(kernel="nope"))).validate()
  opts = editor_lib.EditOptions(method="self_fixed").validate()
  assert opts.method_options == self_fixed.Options()


def test_options_from_config():
  from configs import edit as edit_config  # pylint: disable=g-import-not-at-top
  config = edit_config.get_config("tiny")
  config.num_iter = 7
  config.self_fixed.kernel = "codebook"
  config.sdedit.remask = False
  opts = editor_lib.options_from_config(config, "self_fixed")
  assert opts.num_iter == 7 and opts.method_options.kernel == "codebook"
  assert not editor_lib.options_from_config(
      config, "sdedit").method_options.remask
  assert editor_lib.options_from_config(config, "inpaint").method == "inpaint"
  with pytest.raises(ValueError, match="Unknown method"):
    editor_lib.options_from_config(config, "nope")
  config.unlock()
  config.sdedit.remaks = True
  with pytest.raises(ValueError, match="config.sdedit has unknown option"):
    editor_lib.options_from_config(config, "sdedit")


def test_new_method_plugs_in(editors, inputs):
  """A sampler defined outside the package runs with no editor change."""
  import jax  # pylint: disable=g-import-not-at-top
  import jax.numpy as jnp  # pylint: disable=g-import-not-at-top
  from maskgit import decode as decode_lib  # pylint: disable=g-import-not-at-top

  class KeepGuide(samplers.Sampler):
    name = "keep_guide_test"

    def start(self, x, options, prepared):
      u = jax.random.uniform(x.rng, x.edit.shape)
      masked = x.edit & (u < x.strength[:, None])
      inputs = jnp.where(masked, samplers.MASK_ID,
                         jnp.where(x.edit, x.guide, x.original))
      return inputs, decode_lib.REFERENCE, x.base_aux()

  samplers.register(KeepGuide())
  try:
    res = editors[0].edit(*inputs, labels=1, strength=[0.0, 0.4],
                          options=editor_lib.EditOptions(
                              method="keep_guide_test", **OPTS))
  finally:
    samplers._REGISTRY.pop("keep_guide_test")  # pylint: disable=protected-access
  e = res.edit_tokens
  np.testing.assert_array_equal(res.tokens[0, 0], np.where(
      e[0], res.guide_tokens[0], res.original_tokens[0]))
  kept = (res.tokens[1, 0] == res.guide_tokens[1]) & e[1]
  assert 0 < kept.sum() < e[1].sum()


def test_cached_image_tokens(editors, inputs):
  """edit(image_tokens=encode(images)) skips the image encode, same result."""
  ed = editors[0]
  opts = editor_lib.EditOptions(method="sdedit", **OPTS)
  ref = ed.edit(*inputs, labels=1, strength=0.5, seed=3, options=opts)
  tokens = ed.encode(inputs[0])
  assert tokens.shape == (2, ed.model.side, ed.model.side)
  res = ed.edit(*inputs, labels=1, strength=0.5, seed=3, options=opts,
                image_tokens=tokens)
  np.testing.assert_array_equal(res.original_tokens, ref.original_tokens)
  np.testing.assert_array_equal(res.images, ref.images)
  with pytest.raises(ValueError, match="image_tokens"):
    ed.edit(*inputs, image_tokens=tokens[:1])
