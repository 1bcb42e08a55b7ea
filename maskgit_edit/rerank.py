"""Best-of-N reranking: N candidates per sample, a critic keeps the best.

With `RerankOptions.num_candidates` = N > 1 the editor decodes N candidates
for every sample an edit asks for (one batch of S * N rows from the edit's
own key, so an edit's output still depends only on its own inputs and seed),
scores each candidate with the critic below, and returns the candidate with
the lowest score for each sample. Everything runs inside the editor's jitted
program (no host round trip); the selection is an argmin over candidates.

Critic of a candidate of an edit at strength s (lower is better):

  score = (1 - s) * faithfulness + realism_weight * realism

  faithfulness  RMSE in 8-bit levels between the candidate's decoded pixels
                and the guide's pixels, both blurred with a Gaussian of
                `blur_sigma` px (edges replicated), over the pixels of E's
                tokens (as the evaluation's stroke RMSE, which blurs with
                sigma 2 px at 64 px).
  realism       the transformer's own mean negative log-likelihood (nats) of
                the candidate's tokens in E: the unhinted transformer sees
                the candidate with a checkerboard half of E masked and
                scores those tokens, then the other half (2 forward passes),
                so each token is scored given its context and its unmasked
                neighbours (MaskGIT is trained to predict masked tokens only).

Strength mapping: strength keeps the meaning of the base method (the
candidates ARE the base method's samples); the critic weighs faithfulness
by (1 - s), so at s = 1 it ignores the guide and keeps the candidate the
model finds most likely (with realism_weight = 0: the first candidate), i.e.
the best of N inpaintings; at s = 0 every candidate is G_E (the editor's
invariant) and the first is kept. A method that ignores strength (inpaint)
is scored as at s = 1 at every strength (it ignores the guide). N = 1 is the
base method bit for bit (no critic runs).
"""

from __future__ import annotations

import dataclasses
import functools
import math

import jax
import jax.numpy as jnp
import numpy as np

from maskgit import decode as decode_lib

MASK_ID = decode_lib.MASK_ID


@dataclasses.dataclass(frozen=True)
class RerankOptions:
  """Best-of-N reranking (see the module docstring).

  Attributes:
    num_candidates: N candidates per sample (1 = off: the base method).
    realism_weight: lambda, 8-bit levels of blurred RMSE per nat of mean
      token negative log-likelihood (0: faithfulness only, and the 2
      transformer passes of the realism term are skipped).
    blur_sigma: Gaussian blur (px) of the faithfulness term (0 = none).
  """
  num_candidates: int = 1
  realism_weight: float = 1.0
  blur_sigma: float = 2.0

  def validate(self) -> "RerankOptions":
    if int(self.num_candidates) != self.num_candidates or (
        self.num_candidates < 1):
      raise ValueError(f"rerank.num_candidates must be an int >= 1, got "
                       f"{self.num_candidates!r}.")
    if not (math.isfinite(self.realism_weight) and self.realism_weight >= 0):
      raise ValueError(f"rerank.realism_weight must be >= 0, got "
                       f"{self.realism_weight!r}.")
    if not (math.isfinite(self.blur_sigma) and self.blur_sigma >= 0):
      raise ValueError(f"rerank.blur_sigma must be >= 0, got "
                       f"{self.blur_sigma!r}.")
    return dataclasses.replace(self, num_candidates=int(self.num_candidates),
                               realism_weight=float(self.realism_weight),
                               blur_sigma=float(self.blur_sigma))

  @property
  def active(self) -> bool:
    return self.num_candidates > 1


def from_config(section) -> RerankOptions:
  """Validated options from an edit config's `rerank` section (or None)."""
  kw = dict(section.to_dict() if hasattr(section, "to_dict")
            else section or {})
  valid = [f.name for f in dataclasses.fields(RerankOptions)]
  unknown = sorted(set(kw) - set(valid))
  if unknown:
    raise ValueError(f"config.rerank has unknown option(s) "
                     f"{', '.join(unknown)}; valid: {', '.join(valid)}.")
  return RerankOptions(**kw).validate()


def realism_nll(logits_fn, tokens_BL: jax.Array, edit_BL: jax.Array,
                num_codes: int) -> jax.Array:
  """float32 [B]: mean NLL (nats) of the tokens in E, checkerboard-masked.

  Args:
    logits_fn: ids_BL -> logits [B, L, V] (the unhinted transformer).
    tokens_BL: int32 [B, L] = [class token, w * w window tokens].
    edit_BL: bool [B, L], E (never the class token).
    num_codes: image codebook size (logits cut to it).
  """
  side = math.isqrt(tokens_BL.shape[1] - 1)
  rc = np.arange(side * side)
  parity = np.concatenate([[False], (rc // side + rc % side) % 2 == 1])
  total = jnp.zeros(tokens_BL.shape[0], jnp.float32)
  for half in (parity, ~parity):
    where = edit_BL & jnp.asarray(half)[None]
    logits = logits_fn(jnp.where(where, MASK_ID, tokens_BL))[..., :num_codes]
    logp = jax.nn.log_softmax(logits.astype(jnp.float32), axis=-1)
    tok = jnp.clip(tokens_BL, 0, num_codes - 1)
    nll = -jnp.take_along_axis(logp, tok[..., None], -1)[..., 0]
    total = total + jnp.sum(jnp.where(where, nll, 0.0), -1)
  return total / jnp.maximum(jnp.sum(edit_BL, -1), 1)


@functools.lru_cache(maxsize=None)
def blur_matrix(n: int, sigma: float) -> np.ndarray:
  """float32 [n, n]: 1-D Gaussian blur with replicated edges as a matrix."""
  if sigma <= 0:
    return np.eye(n, dtype=np.float32)
  r = int(4 * sigma + 0.5)  # scipy.ndimage's truncate=4.
  k = np.exp(-0.5 * (np.arange(-r, r + 1) / sigma) ** 2)
  k /= k.sum()
  m = np.zeros((n, n), np.float64)
  for i in range(n):
    for j, wt in zip(np.clip(np.arange(i - r, i + r + 1), 0, n - 1), k):
      m[i, j] += wt
  return m.astype(np.float32)


def blur(images_KPP3: jax.Array, sigma: float) -> jax.Array:
  """Separable Gaussian blur of float [..., P, P, 3] (replicated edges)."""
  b = jnp.asarray(blur_matrix(images_KPP3.shape[-2], float(sigma)))
  x = jnp.einsum("ij,...jkc->...ikc", b, images_KPP3)
  return jnp.einsum("kj,...ijc->...ikc", b, x)


def faithfulness(decoded_KPP3: jax.Array, guide_PP3: jax.Array,
                 region_PP: jax.Array, sigma: float) -> jax.Array:
  """float32 [K]: blurred RMSE (8-bit levels) to the guide over the region."""
  decoded_KPP3 = jnp.clip(decoded_KPP3, 0.0, 1.0)  # As composited.
  d = blur(decoded_KPP3, sigma) - blur(guide_PP3, sigma)[None]
  sq = jnp.sum(d * d, -1)
  count = jnp.maximum(jnp.sum(region_PP), 1) * 3
  return jnp.sqrt(jnp.sum(jnp.where(region_PP[None], sq, 0.0), (1, 2))
                  / count) * 255.0


def scores(faith_K: jax.Array, realism_K: jax.Array, strength: jax.Array,
           options: RerankOptions) -> jax.Array:
  """The critic (lower is better): (1 - s) * faith + lambda * realism."""
  return ((1.0 - strength) * faith_K
          + options.realism_weight * realism_K)


def best(score_SK: jax.Array) -> jax.Array:
  """int32 [S]: the candidate with the lowest score (first on a tie)."""
  return jnp.argmin(score_SK, axis=-1).astype(jnp.int32)
