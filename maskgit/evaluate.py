"""Quality metrics of a tokenizer + transformer pair (the model card's numbers).

* `reconstruction_psnr`: per-image PSNR (dB, peak 1.0) of decode(encode(x))
  clipped to [0, 1] against x.
* `masked_token_metrics`: the transformer's cross-entropy (nats, no label
  smoothing) and top-1 accuracy on masked image tokens, when exactly
  round(rate * h * w) tokens per image, chosen uniformly with a fixed seed,
  are masked and the class token is given. Logits are restricted to the
  image codes, as when decoding.
"""

from __future__ import annotations

from collections.abc import Sequence

import jax
import jax.numpy as jnp
import numpy as np

from maskgit import model as model_lib


def reconstruction_psnr(model: model_lib.MaskGIT, images: np.ndarray,
                        batch_size: int = 64) -> np.ndarray:
  """PSNR per image of images float32 [N, S, S, 3] in [0, 1]."""
  out = []
  for i in range(0, len(images), batch_size):
    x = np.asarray(images[i:i + batch_size], np.float32)
    rec = np.clip(model.decode_tokens(model.encode(x)), 0.0, 1.0)
    mse = np.mean((rec - x) ** 2, axis=(1, 2, 3))
    out.append(10.0 * np.log10(1.0 / np.maximum(mse, 1e-10)))
  return np.concatenate(out)


def random_token_masks(num: int, length: int, rate: float,
                       seed: int) -> np.ndarray:
  """bool [num, length] with exactly round(rate * length) True per row."""
  k = int(round(rate * length))
  rng = np.random.default_rng(seed)
  masks = np.zeros((num, length), bool)
  for row in masks:
    row[rng.choice(length, size=k, replace=False)] = True
  return masks


def masked_token_metrics(model: model_lib.MaskGIT, ids: np.ndarray,
                         labels: np.ndarray, rate: float, seed: int = 0,
                         batch_size: int = 128) -> dict[str, float]:
  """{'accuracy', 'loss', 'tokens'} on masked tokens of ids [N, h, w]."""
  ids = np.asarray(ids, np.int32).reshape(len(ids), -1)
  masks = random_token_masks(len(ids), ids.shape[1], rate, seed)
  c = model.transformer_config.num_codes
  correct = total_loss = 0.0
  count = 0
  for i in range(0, len(ids), batch_size):
    tgt = ids[i:i + batch_size]
    m = masks[i:i + batch_size]
    seq = model.sequence(np.where(m, model_lib.MASK_ID, tgt),
                         labels[i:i + batch_size])
    logits = jnp.asarray(model.logits(seq))[:, 1:, :c]
    logp = jax.nn.log_softmax(logits.astype(jnp.float32), axis=-1)
    nll = -jnp.take_along_axis(logp, jnp.asarray(tgt)[..., None], -1)[..., 0]
    hit = jnp.argmax(logits, -1) == tgt
    correct += float(jnp.sum(jnp.where(m, hit, False)))
    total_loss += float(jnp.sum(jnp.where(m, nll, 0.0)))
    count += int(m.sum())
  return {"accuracy": correct / max(count, 1),
          "loss": total_loss / max(count, 1), "tokens": count}


def card_metrics(model: model_lib.MaskGIT, images: np.ndarray,
                 labels: np.ndarray,
                 mask_rates: Sequence[float] = (0.1, 0.3, 0.5, 0.7, 0.9),
                 seed: int = 0) -> dict:
  """PSNR and masked-token metrics at each rate, as the model card lists."""
  psnr = reconstruction_psnr(model, images)
  ids = np.concatenate([model.encode(images[i:i + 64])
                        for i in range(0, len(images), 64)])
  tokens = {}
  for j, rate in enumerate(mask_rates):
    tokens[f"{rate:g}"] = masked_token_metrics(model, ids, labels, rate,
                                               seed=seed + j)
  return {"num_images": int(len(images)), "psnr_mean": float(psnr.mean()),
          "psnr_median": float(np.median(psnr)), "masked_tokens": tokens}
