"""Best-of-N reranking (maskgit_edit/rerank.py) on the tiny model.

The invariants every method keeps (pixels beyond the feather band, strength
0 and 1, batch independence) are checked with reranking on in
tests/test_methods.py. Here: the critic's parts against independent
computations, N = 1 = the base method, and that the editor keeps, for each
sample, the candidate with the lowest critic score among the N candidates
(the candidates are the base method's S * N samples of the same seed).
"""

import jax.numpy as jnp
import numpy as np
import pytest
from scipy import ndimage

from configs import edit as edit_config
from maskgit_edit import editor as editor_lib
from maskgit_edit import rerank

S, K = 2, 3  # Samples per edit, candidates per sample.


@pytest.fixture(scope="module")
def config():
  c = edit_config.get_config("tiny")
  c.num_iter, c.start_iter = 5, 1
  c.feather = 0  # Inside the mask the output is the decoded pixels.
  return c


@pytest.fixture(scope="module")
def edit():
  """One edit whose mask is whole tokens (tiny: 4 px per token)."""
  rng = np.random.default_rng(1)
  image = rng.random((32, 32, 3)).astype(np.float32)
  mask = np.zeros((32, 32), bool)
  mask[8:20, 4:24] = True
  guide = image.copy()
  guide[mask] = (0.9, 0.3, 0.1)
  guide[12:16, 8:12] = (0.1, 0.2, 0.8)
  return image, guide, mask


def _run(pool, config, name, edit, strength, num_samples, **rerank_kw):
  c = config.copy_and_resolve_references()
  for k, v in rerank_kw.items():
    c.rerank[k] = v
  image, guide, mask = edit
  return pool.editor(c, name).edit(
      image[None], guide[None], [mask], labels=3, strength=strength, seed=7,
      num_samples=num_samples, options=pool.options(c, name))


def test_options_and_config():
  assert not rerank.RerankOptions().active
  with pytest.raises(ValueError, match="num_candidates"):
    rerank.RerankOptions(num_candidates=0).validate()
  with pytest.raises(ValueError, match="realism_weight"):
    rerank.RerankOptions(realism_weight=-1.0).validate()
  c = edit_config.get_config("tiny")
  c.rerank.num_candidates = 4
  opts = editor_lib.options_from_config(c, "sdedit")
  assert opts.rerank == rerank.RerankOptions(num_candidates=4)
  c.rerank.nope = 1
  with pytest.raises(ValueError, match="config.rerank has unknown"):
    editor_lib.options_from_config(c, "sdedit")


@pytest.mark.parametrize("sigma", (0.0, 1.5, 2.0))
def test_blur_is_scipys_gaussian(sigma):
  x = np.random.default_rng(0).random((2, 16, 16, 3)).astype(np.float32)
  want = ndimage.gaussian_filter(x.astype(np.float64),
                                 (0, sigma, sigma, 0), mode="nearest")
  np.testing.assert_allclose(rerank.blur(jnp.asarray(x), sigma), want,
                             atol=1e-5)


def test_realism_scores_each_token_of_e_once_with_its_half_masked():
  """A fake transformer with fixed log-probabilities per position: the NLL
  is their mean over E, and the two passes mask complementary halves."""
  side, v = 4, 6
  rng = np.random.default_rng(0)
  table = rng.normal(size=(1 + side * side, v + 2)).astype(np.float32)
  tokens = rng.integers(0, v, (2, 1 + side * side)).astype(np.int32)
  tokens[:, 0] = v + 1  # Class token.
  edit = np.zeros(tokens.shape, bool)
  edit[0, 1:6] = True
  edit[1, 3:17] = True
  masks = []

  def logits_fn(ids):
    masks.append(np.asarray(ids) == rerank.MASK_ID)
    return jnp.broadcast_to(jnp.asarray(table), ids.shape + (v + 2,))

  got = rerank.realism_nll(logits_fn, jnp.asarray(tokens),
                           jnp.asarray(edit), v)
  logp = table[:, :v] - np.log(np.exp(table[:, :v]).sum(-1, keepdims=True))
  nll = -np.take_along_axis(logp[None], tokens[..., None].clip(0, v - 1),
                            -1)[..., 0]
  want = np.asarray([nll[b][edit[b]].mean() for b in range(2)])
  np.testing.assert_allclose(got, want, rtol=1e-5)
  assert len(masks) == 2
  np.testing.assert_array_equal(masks[0] | masks[1], edit)
  assert not np.any(masks[0] & masks[1])
  # Neighbours in the grid are in different halves.
  grid = masks[0][1, 1:].reshape(side, side)
  assert grid[0, 2] != grid[0, 3] and grid[1, 2] != grid[2, 2]


def test_best_picks_the_lowest_score_first_on_ties():
  score = jnp.asarray([[3.0, 1.0, 2.0], [0.5, 0.5, 4.0]])
  np.testing.assert_array_equal(rerank.best(score), [1, 0])
  faith = jnp.asarray([10.0, 0.0])
  real = jnp.asarray([1.0, 3.0])
  opts = rerank.RerankOptions(num_candidates=2, realism_weight=2.0)
  np.testing.assert_allclose(rerank.scores(faith, real, 0.5, opts),
                             [7.0, 6.0])
  np.testing.assert_allclose(rerank.scores(faith, real, 1.0, opts),
                             [2.0, 6.0])


@pytest.mark.parametrize("name", ("sdedit", "selfcond"))
def test_one_candidate_is_the_base_method(pool, config, edit, name):
  base = _run(pool, config, name, edit, 0.5, S)
  one = _run(pool, config, name, edit, 0.5, S, num_candidates=1)
  np.testing.assert_array_equal(one.images, base.images)
  np.testing.assert_array_equal(one.tokens.samples, base.tokens.samples)


def test_keeps_the_most_faithful_candidate(pool, config, edit):
  """realism_weight 0, no blur: the kept sample is, among its K candidates
  (the base method's samples s*K .. s*K+K-1 of the same seed), the one
  closest to the guide in the mask; and it is not always the first."""
  image, guide, mask = edit
  cands = _run(pool, config, "sdedit", edit, 0.6, S * K)
  kept = _run(pool, config, "sdedit", edit, 0.6, S, num_candidates=K,
              realism_weight=0.0, blur_sigma=0.0)
  err = np.sqrt(((cands.images[0] - guide) ** 2)[:, mask].mean((1, 2)))
  err = err.reshape(S, K)
  assert len(np.unique(cands.tokens.samples[0].reshape(S * K, -1),
                       axis=0)) > 1  # The candidates differ.
  want = np.argmin(err, 1)
  assert want.any()  # Not simply the first candidate.
  for s in range(S):
    np.testing.assert_array_equal(kept.tokens.samples[0, s],
                                  cands.tokens.samples[0, s * K + want[s]])
    np.testing.assert_array_equal(kept.images[0, s],
                                  cands.images[0, s * K + want[s]])


def test_keeps_the_most_likely_candidate_at_strength_one(pool, config, edit,
                                                         tiny_model):
  """At strength 1 only realism counts: the kept sample is the candidate
  whose tokens in E the model scores most likely (computed here with the
  model outside the editor)."""
  cands = _run(pool, config, "sdedit", edit, 1.0, S * K)
  kept = _run(pool, config, "sdedit", edit, 1.0, S, num_candidates=K,
              realism_weight=1.0)
  t = cands.tokens
  n = t.samples.shape[1]
  cls = np.full((n, 1), 3 + tiny_model.transformer_config.num_codes)
  seq = np.concatenate([cls, t.samples[0].reshape(n, -1)], 1)
  e = np.concatenate([[False], t.edit[0].reshape(-1)])
  nll = np.asarray(rerank.realism_nll(
      tiny_model.logits, jnp.asarray(seq, jnp.int32),
      jnp.asarray(np.broadcast_to(e, seq.shape)),
      tiny_model.tokenizer_config.num_codes)).reshape(S, K)
  want = np.argmin(nll, 1)
  assert want.any() and np.ptp(nll) > 1e-3  # Not the first; not a tie.
  for s in range(S):
    np.testing.assert_array_equal(kept.tokens.samples[0, s],
                                  t.samples[0, s * K + want[s]])


def test_off_options_leave_the_evaluation_cache_key_alone():
  """The evaluation's cached rows stay valid when reranking and the
  re-masking critic are off (N = 1, critic 0 = the methods bit for bit)."""
  from maskgit_edit.evaluation import runner  # pylint: disable=g-import-not-at-top
  old = dict(num_iter=12, sdedit=dict(remask=True),
             selfcond=dict(positions="edit"), progress=True)
  new = dict(old, rerank=dict(num_candidates=1, realism_weight=1.0,
                              blur_sigma=2.0),
             sdedit=dict(remask=True, critic=0.0, critic_sigma=0.1),
             selfcond=dict(positions="edit", critic=0.0, critic_sigma=0.1))
  want = dict(num_iter=12, sdedit=dict(remask=True),
              selfcond=dict(positions="edit"))
  assert runner.cache_settings(old) == runner.cache_settings(new) == want
  on = dict(new, rerank=dict(new["rerank"], num_candidates=4),
            selfcond=dict(positions="edit", critic=0.5, critic_sigma=0.1))
  got = runner.cache_settings(on)
  assert got["rerank"]["num_candidates"] == 4
  assert got["selfcond"]["critic"] == 0.5
