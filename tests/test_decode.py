"""The parallel decoder: official parity, schedule, invariants."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from maskgit import decode as decode_lib
from maskgit import schedules

C = 16  # codes
L = 1 + 256


def _logits_fn(seed=0, vocab=C + 5):
  """A deterministic, input-dependent fake transformer."""
  w = jax.random.normal(jax.random.key(seed), (vocab + 1, vocab)) * 2.0
  pos = jax.random.normal(jax.random.key(seed + 1), (L, vocab))

  def fn(ids, hints=None):
    del hints
    ids = jnp.where(ids < 0, vocab, ids)
    ctx = jnp.mean(w[ids], axis=1, keepdims=True)
    return w[ids] + pos[:ids.shape[1]] + ctx
  return fn


def _inputs(batch=3, unknown_frac=1.0, seed=0):
  rng = np.random.default_rng(seed)
  ids = rng.integers(0, C, (batch, L))
  ids[rng.random(ids.shape) < unknown_frac] = -1
  ids[:, 0] = C + 1  # class token
  return jnp.asarray(ids, jnp.int32)


def _reference_decode(logits_fn, inputs, rng, num_iter, start_iter=0,
                      choice_temperature=4.5):
  """A literal while-loop transcription of the official decoder (the spec)."""
  inputs = jnp.asarray(inputs)
  unknown0 = jnp.sum(inputs == -1, axis=-1)
  buf = jnp.broadcast_to(inputs[:, None], (inputs.shape[0], num_iter,
                                           inputs.shape[1]))
  cur, step = inputs, start_iter
  while step < num_iter:
    logits = logits_fn(cur)[..., :C]
    rng, sample_rng = jax.random.split(rng, 2)
    sampled = jax.random.categorical(sample_rng, logits)
    unknown = cur == -1
    sampled = jnp.where(unknown, sampled, cur)
    ratio = 1.0 * (jnp.int32(step) + 1) / num_iter
    mask_ratio = jnp.clip(jnp.cos(math.pi / 2.0 * ratio), 1e-6, 1.0)
    buf = buf.at[:, step].set(sampled)
    probs = jax.nn.softmax(logits, axis=-1)
    p = jnp.take_along_axis(probs, sampled[..., None], -1)[..., 0]
    p = jnp.where(unknown, p, jnp.inf)
    mask_len = jnp.expand_dims(jnp.floor(unknown0 * mask_ratio), 1)
    mask_len = jnp.maximum(1, jnp.minimum(
        jnp.sum(unknown, axis=-1, keepdims=True) - 1, mask_len))
    rng, choice_rng = jax.random.split(rng)
    conf = jnp.log(p) + choice_temperature * (1.0 - ratio) * (
        jax.random.gumbel(choice_rng, p.shape))
    cut = jnp.take_along_axis(jnp.sort(conf, axis=-1),
                              mask_len.astype(jnp.int32), axis=-1)
    cur = jnp.where(conf < cut, -1, sampled)
    step += 1
  return buf


@pytest.mark.parametrize("num_iter,start_iter,frac", [(8, 0, 1.0),
                                                       (12, 2, 0.3)])
def test_bit_parity_with_reference(num_iter, start_iter, frac):
  fn = _logits_fn()
  inputs = _inputs(unknown_frac=frac)
  key = jax.random.key(123)
  want = _reference_decode(fn, inputs, key, num_iter, start_iter)
  got = jax.jit(lambda x, k: decode_lib.decode(
      fn, x, k, num_iter=num_iter, start_iter=start_iter, num_codes=C,
      return_all=True))(inputs, key)
  np.testing.assert_array_equal(got, want)
  final = decode_lib.decode(fn, inputs, key, num_iter=num_iter,
                            start_iter=start_iter, num_codes=C)
  np.testing.assert_array_equal(final, want[:, -1])
  # Raw uint32 keys consume the same stream.
  raw = decode_lib.decode(fn, inputs, jax.random.PRNGKey(123),
                          num_iter=num_iter, start_iter=start_iter,
                          num_codes=C)
  np.testing.assert_array_equal(raw, final)


def test_masked_counts_follow_schedule():
  counts = []
  inner = _logits_fn()

  def fn(ids, hints=None):
    jax.debug.callback(lambda n: counts.append(int(n)),
                       jnp.sum(ids[0] == -1))
    return inner(ids, hints)

  out = decode_lib.decode(fn, _inputs(batch=1), jax.random.key(0),
                          num_iter=8, num_codes=C)
  jax.block_until_ready(out)
  assert counts == [256, 251, 236, 212, 181, 142, 97, 49]


def test_invariants_known_tokens_kept_no_mask_left():
  inputs = _inputs(batch=4, unknown_frac=0.4, seed=5)
  out = decode_lib.decode(_logits_fn(3), inputs, jax.random.key(1),
                          num_iter=12, start_iter=2, num_codes=C)
  known = np.asarray(inputs) != -1
  np.testing.assert_array_equal(np.asarray(out)[known],
                                np.asarray(inputs)[known])
  assert (np.asarray(out) >= 0).all()
  assert (np.asarray(out)[:, 1:] < C).all()


def test_start_iter_runs_fewer_steps_and_keeps_input_rows():
  calls = []
  inner = _logits_fn()

  def fn(ids, hints=None):
    jax.debug.callback(lambda: calls.append(1))
    return inner(ids, hints)

  inputs = _inputs(batch=2, unknown_frac=0.5)
  buf = decode_lib.decode(fn, inputs, jax.random.key(0), num_iter=12,
                          start_iter=2, num_codes=C, return_all=True)
  jax.block_until_ready(buf)
  assert len(calls) == 10
  assert buf.shape == (2, 12, L)
  np.testing.assert_array_equal(buf[:, 0], inputs)
  np.testing.assert_array_equal(buf[:, 1], inputs)
  with pytest.raises(ValueError, match="start_iter"):
    decode_lib.decode(fn, inputs, jax.random.key(0), num_iter=4,
                      start_iter=4, num_codes=C)


def test_different_seeds_differ_same_seed_same():
  fn, inputs = _logits_fn(), _inputs(batch=2)
  a = decode_lib.decode(fn, inputs, jax.random.key(0), num_iter=8,
                        num_codes=C)
  b = decode_lib.decode(fn, inputs, jax.random.key(0), num_iter=8,
                        num_codes=C)
  c = decode_lib.decode(fn, inputs, jax.random.key(1), num_iter=8,
                        num_codes=C)
  np.testing.assert_array_equal(a, b)
  assert not np.array_equal(a, c)


def test_schedules():
  r = jnp.array([0.25, 0.5, 1.0])
  np.testing.assert_allclose(schedules.mask_ratio(r, 256, "cosine"),
                             np.clip(np.cos(np.pi / 2 * r), 1e-6, 1),
                             rtol=1e-6)
  np.testing.assert_allclose(schedules.mask_ratio(r, 256, "linear"),
                             [0.75, 0.5, 1e-6], rtol=1e-6)
  np.testing.assert_allclose(schedules.mask_ratio(r, 256, "pow2"),
                             [1 - 0.0625, 0.75, 1e-6], rtol=1e-6)
  np.testing.assert_allclose(schedules.mask_ratio(r, 256, "log"),
                             [2 / 8, 1 / 8, 1e-6], rtol=1e-6)
  np.testing.assert_allclose(schedules.mask_ratio(r, 256, "exp"),
                             [1 - 2 ** (-8 * 0.75), 1 - 2 ** -4, 1e-6],
                             rtol=1e-5)
  with pytest.raises(ValueError, match="Unknown mask schedule"):
    schedules.mask_ratio(r, 256, "cosin")
