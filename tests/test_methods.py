"""Every registered method (plug-ins included) through the same invariants.

Each method is built the way every caller builds it, from an edit config
through `methods.pool.EditorPool` (tiny random models), and must keep the
promises of the editor protocol (maskgit_edit/protocol.py):

* pixels farther than the feather radius from an edited pixel are
  bit-identical to the input, at every strength;
* strength 0 returns the guide as faithfully as the model allows (token
  methods: exactly G_E, the guide's tokens in E; pixel methods: the guide);
* strength 1 ignores the guide (token methods: exactly inpaint's tokens);
* a method that does not use strength gives the same output at any strength;
* the same seed gives the same output whatever else is in the batch.
"""

import numpy as np
import pytest
from scipy import ndimage

from configs import edit as edit_config
from maskgit import compositing
from maskgit_edit import methods
from maskgit_edit.methods import pool as pool_lib

FEATHER = 2


@pytest.fixture(scope="module")
def config():
  c = edit_config.get_config("tiny")
  c.num_iter, c.start_iter, c.feather = 5, 1, FEATHER
  c.diffusion.num_steps = 2
  c.num_samples = 2
  return c


@pytest.fixture(scope="module")
def inputs():
  """Two edits with explicit masks (a small and a large one)."""
  rng = np.random.default_rng(0)
  images = rng.random((2, 32, 32, 3)).astype(np.float32)
  guides = images.copy()
  masks = np.zeros((2, 32, 32), bool)
  masks[0, 5:9, 6:10] = True
  masks[1, 4:28, 2:22] = True
  guides[0][masks[0]] = (1.0, 0.0, 0.0)
  guides[1][masks[1]] = (0.0, 0.2, 1.0)
  return images, guides, list(masks)


def _all_methods(config):
  methods.import_plugins(config)
  return methods.names()


def test_every_method_is_listed(config):
  names = _all_methods(config)
  assert {"inpaint", "context", "self_fixed", "self_learned", "sdedit",
          "selfcond", "diffusion_sdedit", "diffusion_ddim"} <= set(names)


def _edit(pool, config, name, inputs, strength, seed=0, guides=None):
  images, g, masks = inputs
  ed = pool.editor(config, name)
  return ed.edit(images, g if guides is None else guides, masks,
                 labels=[1, 2], strength=strength, seed=seed,
                 num_samples=2, options=pool.options(config, name))


@pytest.fixture(scope="module")
def kernel_config(config, tmp_path_factory):
  """The config with a learned kernel file (self_learned needs one)."""
  path = tmp_path_factory.mktemp("k") / "kernel.npy"
  np.save(path, np.random.default_rng(0).normal(size=(64, 64)).astype(
      np.float32))
  c = config.copy_and_resolve_references()
  c.self_learned.kernel = str(path)
  return c


METHODS = ("inpaint", "context", "self_fixed", "self_learned", "sdedit",
           "selfcond", "diffusion_sdedit", "diffusion_ddim")


@pytest.mark.parametrize("name", METHODS)
def test_method_invariants(pool, kernel_config, inputs, name):
  config = kernel_config
  if name.startswith("diffusion"):
    config = config.copy_and_resolve_references()
    config.diffusion.weights = ""  # Random tiny UNet.
  _check_invariants(pool, config, name, inputs)


def _variant(config, name: str):
  """(config, method) of a method name with an option suffix: '_rerank'
  (best of 3, maskgit_edit/rerank.py) or '_critic' (critic-guided
  re-masking, maskgit_edit/samplers/critic.py)."""
  config = config.copy_and_resolve_references()
  if name.endswith("_rerank"):
    name = name[:-len("_rerank")]
    config.rerank.num_candidates = 3
  if name.endswith("_critic"):
    name = name[:-len("_critic")]
    config[name].critic = 0.5
  return config, name


@pytest.mark.parametrize("name", ("sdedit_rerank", "selfcond_rerank",
                                  "inpaint_rerank", "sdedit_critic",
                                  "selfcond_critic"))
def test_option_variants_keep_the_invariants(pool, config, inputs, name):
  """Reranking and the re-masking critic keep every promise; at strength 1
  a reranked method equals inpaint reranked the same way (the critic
  ignores the guide there), and the re-masking critic is off."""
  config, name = _variant(config, name)
  _check_invariants(pool, config, name, inputs)


def _check_invariants(pool, config, name, inputs):
  record = pool_lib.method(config, name)
  images, guides, masks = inputs
  mid = _edit(pool, config, name, inputs, [0.5, 0.3], seed=3)
  again = _edit(pool, config, name, inputs, [0.5, 0.3], seed=3)
  zero = _edit(pool, config, name, inputs, 0.0)
  one = _edit(pool, config, name, inputs, 1.0)
  # Pixels beyond the feather band never change.
  for r in (mid, zero, one):
    for n in range(2):
      far = ndimage.distance_transform_edt(~masks[n]) > FEATHER
      for s in range(2):
        np.testing.assert_array_equal(r.images[n, s][far], images[n][far])
  np.testing.assert_array_equal(mid.images, again.images)
  # Strength 1 ignores the guide: another paint in the same mask, same output.
  other = guides.copy()
  for n in range(2):
    other[n][masks[n]] = 1.0 - other[n][masks[n]]
  one_other = _edit(pool, config, name, inputs, 1.0, guides=other)
  np.testing.assert_array_equal(one.images, one_other.images)
  if not record.uses_strength:
    np.testing.assert_array_equal(
        mid.images, _edit(pool, config, name, inputs, 1.0, seed=3).images)
  if record.is_token_method:
    t = zero.tokens
    g_e = np.where(t.edit, t.guide, t.original)[:, None]
    np.testing.assert_array_equal(t.samples, np.broadcast_to(
        g_e, t.samples.shape))
    inpaint = _edit(pool, config, "inpaint", inputs, 1.0)
    np.testing.assert_array_equal(one.tokens.samples, inpaint.tokens.samples)
    for r in (mid, one):  # Tokens outside E never change.
      e = r.tokens.edit[:, None]
      np.testing.assert_array_equal(
          np.where(e, 0, r.tokens.samples),
          np.where(e, 0, np.broadcast_to(r.tokens.original[:, None],
                                         r.tokens.samples.shape)))
  else:
    want = compositing.composite(images[:, None], guides[:, None],
                                 zero.feather_weights[:, None])
    np.testing.assert_allclose(zero.images, np.broadcast_to(
        want, zero.images.shape), atol=1e-6)


@pytest.mark.parametrize("name", ("sdedit", "selfcond", "diffusion_ddim",
                                  "sdedit_rerank", "selfcond_rerank",
                                  "sdedit_critic", "selfcond_critic"))
def test_same_seed_same_output_whatever_the_batch(pool, config, inputs,
                                                  name):
  config, name = _variant(config, name)
  if name.startswith("diffusion"):
    config.diffusion.weights = ""
  images, guides, masks = inputs
  ed = pool.editor(config, name)
  opts = pool.options(config, name)
  batch = ed.edit(images, guides, masks, labels=[1, 2], strength=0.6,
                  seed=[4, 5], num_samples=2, options=opts)
  alone = ed.edit(images[1:], guides[1:], masks[1:], labels=2, strength=0.6,
                  seed=5, num_samples=2, options=opts)
  np.testing.assert_array_equal(batch.images[1], alone.images[0])


def test_unknown_and_duplicate_names(config):
  with pytest.raises(ValueError, match="Unknown method 'nope'.*inpaint"):
    methods.get("nope")
  with pytest.raises(ValueError, match="already registered"):
    methods.register(methods.Method(
        name="sdedit", sampler=object(), summary="another"))
  with pytest.raises(ValueError, match="Unknown method"):
    pool_lib.EditorPool().options(config, "nope")


def test_strengths_rule():
  assert methods.get("inpaint").strengths((0.2, 0.5)) == (1.0,)
  assert methods.get("sdedit").strengths((0.2, 0.5)) == (0.2, 0.5)
