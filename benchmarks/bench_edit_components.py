r"""Where editing time goes: tokenizer encode/decode and one transformer call
at several window sides (random weights, steady state, batch 1).

  JAX_PLATFORMS=cpu python benchmarks/bench_edit_components.py --preset=imagenet256

Explains the patch-local speed-up: an edit = 1 encode of image + guide,
(num_iter - start_iter) transformer calls, 1 decode.
"""

import json
import os
import time

from absl import app
from absl import flags
import jax
import jax.numpy as jnp

from configs import models
from maskgit import io_utils
from maskgit import model as model_lib
from maskgit.nets import vqgan

_PRESET = flags.DEFINE_string("preset", "imagenet256", "Model preset.")
_SIDES = flags.DEFINE_list("sides", ["16", "12", "10", "8"], "Window sides.")
_OUT = flags.DEFINE_string(
    "out", "benchmarks/results/edit_components.json", "Output JSON.")


def _steady(fn, *args, repeats=3):
  """Median of `repeats` timed calls after a compile/warm-up call."""
  jax.block_until_ready(fn(*args))
  times = []
  for _ in range(repeats):
    t0 = time.perf_counter()
    jax.block_until_ready(fn(*args))
    times.append(time.perf_counter() - t0)
  return sorted(times)[len(times) // 2]


def main(argv):
  del argv
  m = model_lib.MaskGIT.random(models.get_config(_PRESET.value), 0)
  enc = jax.jit(lambda p, x: m.tokenizer.apply(
      {"params": p}, x, method=vqgan.VQGAN.encode_ids))
  dec = jax.jit(lambda p, x: m.tokenizer.apply(
      {"params": p}, x, method=vqgan.VQGAN.decode_ids))
  tr = jax.jit(lambda p, x: m.transformer.apply({"params": p}, x))
  rows = []
  for n in map(int, _SIDES.value):
    px = n * m.factor
    row = dict(
        side_tokens=n,
        encode_image_and_guide_s=_steady(enc, m.tokenizer_params,
                                         jnp.zeros((2, px, px, 3))),
        decode_s=_steady(dec, m.tokenizer_params,
                         jnp.zeros((1, n, n), jnp.int32)),
        transformer_call_s=_steady(tr, m.transformer_params,
                                   jnp.zeros((1, n * n + 1), jnp.int32)))
    print(json.dumps(row), flush=True)
    rows.append(row)
  result = dict(preset=_PRESET.value, backend=jax.default_backend(),
                cpus=os.cpu_count(), date=time.strftime("%Y-%m-%d"),
                rows=rows)
  io_utils.write_json(_OUT.value, result)
  print(f"saved {_OUT.value}")


if __name__ == "__main__":
  app.run(main)
