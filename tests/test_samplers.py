"""Token samplers on the tiny model: windows, options, errors, plug-ins.

The invariants every method keeps are in tests/test_methods.py.
"""

import numpy as np
import pytest

from maskgit import checkpoints
from maskgit import model as model_lib
from maskgit_edit import editor as editor_lib
from maskgit_edit import methods
from maskgit_edit.samplers import base as sampler_base
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
def editors(tiny_model):
  hinted = editor_lib.with_hint_embedding(tiny_model)
  return editor_lib.Editor(tiny_model), editor_lib.Editor(hinted)


def test_patch_local_window(editors, inputs):
  """Small edit -> window smaller than the grid; invariants still hold."""
  images, guides = inputs
  res = editors[0].edit(images[:1], guides[:1], labels=3, strength=0.6,
                        seed=1, options=editor_lib.EditOptions(
                            method="sdedit", patch_local=True,
                            window_margin=0, decoder_margin=1, **OPTS))
  # With window_margin=0 the transformer sees E's box only (2 tokens here);
  # the tokenizer window still holds the feather band.
  t = res.tokens
  assert t.samples.shape[-1] == 2 < editors[0].model.side
  e = t.edit[:, None]
  np.testing.assert_array_equal(np.where(e, 0, t.samples), np.where(
      e, 0, np.broadcast_to(t.original[:, None], t.samples.shape)))
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

  class KeepGuide(sampler_base.Sampler):
    name = "keep_guide_test"

    def start(self, x, options, prepared):
      u = jax.random.uniform(x.rng, x.edit.shape)
      masked = x.edit & (u < x.strength[:, None])
      inputs = jnp.where(masked, sampler_base.MASK_ID,
                         jnp.where(x.edit, x.guide, x.original))
      return inputs, decode_lib.REFERENCE, x.base_aux()

  methods.register(methods.token_method(KeepGuide()))
  try:
    res = editors[0].edit(*inputs, labels=1, strength=[0.0, 0.4],
                          options=editor_lib.EditOptions(
                              method="keep_guide_test", **OPTS))
  finally:
    methods.unregister("keep_guide_test")
  t = res.tokens
  np.testing.assert_array_equal(t.samples[0, 0], np.where(
      t.edit[0], t.guide[0], t.original[0]))
  kept = (t.samples[1, 0] == t.guide[1]) & t.edit[1]
  assert 0 < kept.sum() < t.edit[1].sum()


def test_token_cache(tiny_model, inputs):
  """An image is encoded once per editor; a second edit reuses its tokens
  and gives the same result as a fresh editor."""
  ed = editor_lib.Editor(tiny_model)
  opts = editor_lib.EditOptions(method="sdedit", **OPTS)
  ref = ed.edit(*inputs, labels=1, strength=0.5, seed=3, options=opts)
  calls = []
  real = tiny_model.encode
  try:
    tiny_model.encode = lambda x: calls.append(len(x)) or real(x)
    again = ed.edit(*inputs, labels=1, strength=0.5, seed=3, options=opts)
    fresh = editor_lib.Editor(tiny_model).edit(
        *inputs, labels=1, strength=0.5, seed=3, options=opts)
  finally:
    del tiny_model.encode
  assert calls == [2]  # Only the fresh editor encoded the images.
  np.testing.assert_array_equal(again.images, ref.images)
  np.testing.assert_array_equal(fresh.images, ref.images)
  np.testing.assert_array_equal(ed.encode(inputs[0]),
                                tiny_model.encode(inputs[0]))
  with pytest.raises(ValueError, match="tokens must be integer"):
    ed.remember_tokens(inputs[0][0], np.zeros((3, 3), np.int32))


def test_critic_rescore_prefers_tokens_that_match_the_guide():
  """The re-masking critic lowers the confidence of tokens whose code
  appearance is far from the guide, in E only, by k^(critic (1 - s)); at
  s = 1 it changes nothing."""
  import jax.numpy as jnp  # pylint: disable=g-import-not-at-top
  from maskgit import decode as decode_lib  # pylint: disable=g-import-not-at-top
  from maskgit_edit.samplers import critic  # pylint: disable=g-import-not-at-top
  logk = jnp.asarray([[[0.0, 0.0], [0.0, -2.0], [-1.0, -4.0]]])  # [1, 3, 2]
  edit = jnp.asarray([[False, True, True]])
  sampled = jnp.asarray([[1, 1, 1]])
  conf = jnp.asarray([[0.5, 0.5, jnp.inf]])
  for strength, want in ((0.5, [0.5, 0.5 * np.exp(-1.0), np.inf]),
                         (1.0, [0.5, 0.5, np.inf])):
    s = decode_lib.DecodeState(
        step=0, ratio=0.5, tokens=sampled, unknown0=jnp.asarray([2]),
        aux=dict(critic_logk=logk, edit=edit,
                 strength=jnp.asarray([strength])))
    np.testing.assert_allclose(critic.rescore(s, conf, sampled, 1.0), [want],
                               rtol=1e-6)
  with pytest.raises(ValueError, match="critic"):
    editor_lib.EditOptions(method="sdedit", method_options=(
        __import__("maskgit_edit.samplers.sdedit",
                   fromlist=["Options"]).Options(critic=-1.0))).validate()


@pytest.mark.parametrize("method", ("sdedit", "selfcond"))
def test_critic_keeps_tokens_closer_to_the_guide(editors, inputs, method):
  """A strong re-masking critic: the final tokens of E look more like the
  guide (by the critic's own appearance kernel) than without it; critic 0
  is the method bit for bit."""
  import warnings  # pylint: disable=g-import-not-at-top
  from maskgit_edit.samplers import critic  # pylint: disable=g-import-not-at-top
  mod = __import__(f"maskgit_edit.samplers.{method}", fromlist=["Options"])
  ed = editors[1]
  run = lambda mo: ed.edit(*inputs, labels=1, strength=0.7, seed=2,
                           num_samples=4, options=editor_lib.EditOptions(
                               method=method, method_options=mo, **OPTS))
  with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # No appearance table for tiny.
    plain = run(mod.Options())
    zero = run(mod.Options(critic=0.0, critic_sigma=0.3))
    strong = run(mod.Options(critic=20.0))
    table = critic.prepare(ed, 1.0)
  np.testing.assert_array_equal(zero.images, plain.images)
  guide_pix = inputs[1]
  f = ed.model.factor
  import jax.numpy as jnp  # pylint: disable=g-import-not-at-top
  from maskgit_edit import guidance  # pylint: disable=g-import-not-at-top
  gapp = guidance.pool_patches(jnp.asarray(guide_pix), f, critic.RES)
  logk = np.asarray(guidance.appearance_log_kernel(table, gapp, 0.1))
  def agreement(res):
    t = res.tokens
    e = t.edit.reshape(2, -1)
    vals = []
    for n in range(2):
      for s in range(4):
        tok = t.samples[n, s].reshape(-1)
        vals.append(logk[n, np.arange(tok.size), tok][e[n]].mean())
    return np.mean(vals)
  assert agreement(strong) > agreement(plain)
