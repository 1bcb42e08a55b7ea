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
_DISTRIBUTED = flags.DEFINE_enum(
    "distributed", "auto", list(distributed.MODES),
    "Multi-host: call jax.distributed.initialize(). 'auto': when a "
    "coordinator is given (flags below or JAX_COORDINATOR_ADDRESS, "
    "JAX_NUM_PROCESSES, JAX_PROCESS_ID) or a multi-process SLURM / TPU pod "
    "environment is detected; 'on': always (JAX detects the cluster when no "
    "coordinator is given); 'off': never.")
_COORDINATOR = flags.DEFINE_string(
    "coordinator_address", None,
    "host:port of process 0 (default: $JAX_COORDINATOR_ADDRESS).")
_NUM_PROCESSES = flags.DEFINE_integer(
    "num_processes", None, "Processes in the job (default: "
    "$JAX_NUM_PROCESSES).")
_PROCESS_ID = flags.DEFINE_integer(
    "process_id", None, "This process's index (default: $JAX_PROCESS_ID).")
flags.mark_flags_as_required(["config", "workdir"])


def _quiet_orbax(record) -> bool:
  # Orbax logs every save step at INFO; keep the console for progress lines.
  return record.levelno >= 30 or "orbax" not in record.pathname


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
  try:
    distributed.initialize(
        _DISTRIBUTED.value, coordinator_address=_COORDINATOR.value,
        num_processes=_NUM_PROCESSES.value, process_id=_PROCESS_ID.value)
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
