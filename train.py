"""Trains a MaskGIT model: tokenizer, transformer, selfcond or guidance_kernel.

  python train.py --config=configs/transformer.py:tiny --workdir=/tmp/run
  python train.py --config=configs/selfcond.py:imagenet256 --workdir=... \
      --config.init_from=maskgit_imagenet256.msgpack

Running again with the same --workdir resumes exactly. See docs/training.md.
"""

import sys

from absl import app
from absl import flags
from absl import logging
import jax
from ml_collections import config_flags

from maskgit import runtime
from maskgit.training import ConfigError
from maskgit.training import distributed
from maskgit.training import loop

_CONFIG = config_flags.DEFINE_config_file(
    "config", None, "Training config file, e.g. configs/transformer.py:tiny.",
    lock_config=True)
_WORKDIR = flags.DEFINE_string("workdir", None,
                               "Checkpoints, metrics, samples and export.")
_INITIALIZE_DISTRIBUTED = distributed.define_flags()
flags.mark_flags_as_required(["config", "workdir"])


def _quiet_orbax(record) -> bool:
  # Orbax logs every save step at INFO; keep the console for progress lines.
  return record.levelno >= 30 or "orbax" not in record.pathname


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
  try:
    _INITIALIZE_DISTRIBUTED()
  except ConfigError as e:
    sys.exit(f"train.py: config error: {e}")
  logging.get_absl_handler().addFilter(_quiet_orbax)
  config = _CONFIG.value
  runtime.enable_compilation_cache(config.compilation_cache)
  logging.info("JAX devices: %s (process %d of %d)", jax.devices(),
               jax.process_index(), jax.process_count())
  try:
    result = loop.train_and_evaluate(config, _WORKDIR.value)
  except ConfigError as e:
    sys.exit(f"train.py: config error: {e}")
  except FloatingPointError as e:
    sys.exit(f"train.py: {e}")
  logging.info("Finished at step %d (%s).", result["step"], result["stopped"])


if __name__ == "__main__":
  jax.config.config_with_absl()
  app.run(main)
