"""Multi-host start-up: when and how `jax.distributed.initialize` is called.

Explicit arguments come from train.py's flags or, when a flag is unset, from
the environment variables docs/training.md lists:
  JAX_COORDINATOR_ADDRESS  host:port of process 0's coordinator service;
  JAX_NUM_PROCESSES        number of processes (hosts) in the job;
  JAX_PROCESS_ID           this process's index, 0 .. JAX_NUM_PROCESSES - 1;
  JAX_LOCAL_DEVICE_IDS     optional comma list of this process's devices.
Without them, JAX's own cluster detection (TPU pod slices, SLURM, Open MPI,
Kubernetes) finds the cluster. `mode`:
  'auto' - initialize when an explicit coordinator is given or a multi-process
           TPU / SLURM environment is detected; otherwise single-process;
  'on'   - always initialize (explicit arguments if given, else detection);
  'off'  - never (single process, even inside a cluster job).
On CPU the cross-process collectives use gloo.
"""

from __future__ import annotations

import os
from typing import Any, Callable, Mapping

import jax

from maskgit.training import ConfigError

MODES = ("auto", "on", "off")
ENV = ("JAX_COORDINATOR_ADDRESS", "JAX_NUM_PROCESSES", "JAX_PROCESS_ID",
       "JAX_LOCAL_DEVICE_IDS")


def _int(name: str, value: Any) -> int | None:
  if value in (None, ""):
    return None
  try:
    return int(value)
  except ValueError:
    raise ConfigError(f"{name} must be an integer, got {value!r}.") from None


def _cluster_detected(env: Mapping[str, str]) -> str | None:
  """Name of a multi-process environment JAX can detect by itself."""
  if int(env.get("SLURM_NTASKS", "1") or 1) > 1 and "SLURM_JOB_ID" in env:
    return "SLURM"
  if "," in env.get("TPU_WORKER_HOSTNAMES", ""):
    return "TPU pod"
  if int(env.get("OMPI_COMM_WORLD_SIZE", "1") or 1) > 1:
    return "Open MPI"
  return None


def resolve(mode: str = "auto", coordinator_address: str | None = None,
            num_processes: int | None = None, process_id: int | None = None,
            local_device_ids: str | None = None,
            env: Mapping[str, str] | None = None) -> dict[str, Any] | None:
  """The keyword arguments for `jax.distributed.initialize`, or None.

  Flags win over environment variables. Explicit settings must be complete
  (address, process count and id) or absent; a partial set is an error.
  """
  env = os.environ if env is None else env
  if mode not in MODES:
    raise ConfigError(f"--distributed must be one of {MODES}, got {mode!r}.")
  if mode == "off":
    return None
  address = coordinator_address or env.get("JAX_COORDINATOR_ADDRESS") or None
  n = _int("num_processes / JAX_NUM_PROCESSES", num_processes
           if num_processes is not None else env.get("JAX_NUM_PROCESSES"))
  pid = _int("process_id / JAX_PROCESS_ID", process_id
             if process_id is not None else env.get("JAX_PROCESS_ID"))
  ids = local_device_ids or env.get("JAX_LOCAL_DEVICE_IDS") or None
  explicit = {"coordinator_address": address, "num_processes": n,
              "process_id": pid}
  given = [k for k, v in explicit.items() if v is not None]
  if given and len(given) < 3:
    missing = sorted(set(explicit) - set(given))
    raise ConfigError(
        f"Multi-host start needs coordinator_address, num_processes and "
        f"process_id together (flags or JAX_COORDINATOR_ADDRESS, "
        f"JAX_NUM_PROCESSES, JAX_PROCESS_ID); missing {', '.join(missing)}.")
  if given:
    if not 0 <= pid < n:
      raise ConfigError(f"process_id {pid} is not in [0, {n}).")
    if ids:
      explicit["local_device_ids"] = [int(i) for i in str(ids).split(",")]
    return explicit
  if mode == "on" or _cluster_detected(env):
    return {}  # JAX's cluster detection fills everything in.
  return None


def define_flags() -> Callable[[], bool]:
  """Defines --distributed, --coordinator_address, --num_processes and
  --process_id (train.py, sample_edit.py); returns a function that calls
  `initialize` with their values after flag parsing."""
  from absl import flags  # pylint: disable=g-import-not-at-top
  mode = flags.DEFINE_enum(
      "distributed", "auto", list(MODES),
      "Multi-host: call jax.distributed.initialize(). 'auto': when a "
      "coordinator is given (flags below or JAX_COORDINATOR_ADDRESS, "
      "JAX_NUM_PROCESSES, JAX_PROCESS_ID) or a multi-process SLURM / TPU pod "
      "environment is detected; 'on': always (JAX detects the cluster when "
      "no coordinator is given); 'off': never.")
  address = flags.DEFINE_string(
      "coordinator_address", None,
      "host:port of process 0 (default: $JAX_COORDINATOR_ADDRESS).")
  count = flags.DEFINE_integer(
      "num_processes", None, "Processes in the job (default: "
      "$JAX_NUM_PROCESSES).")
  index = flags.DEFINE_integer(
      "process_id", None, "This process's index (default: $JAX_PROCESS_ID).")
  return lambda: initialize(mode.value, coordinator_address=address.value,
                            num_processes=count.value,
                            process_id=index.value)


def initialize(mode: str = "auto", **kwargs) -> bool:
  """Calls `jax.distributed.initialize` if `resolve` says so; returns that."""
  args = resolve(mode, **kwargs)
  if args is None:
    return False
  # CPU hosts: cross-process collectives over gloo (harmless elsewhere).
  jax.config.update("jax_cpu_collectives_implementation", "gloo")
  jax.distributed.initialize(**args)
  return True


def agree_flags(flags: list[bool]) -> list[bool]:
  """Each flag True on every process if it is True on any process.

  One tiny all-gather, called at the same step on every process, so the
  decisions taken from it (stop on SIGTERM, time limit) are taken at the
  same step everywhere and no process waits in a collective alone.
  """
  if jax.process_count() == 1:
    return [bool(f) for f in flags]
  import numpy as np  # pylint: disable=g-import-not-at-top
  from jax.experimental import multihost_utils  # pylint: disable=g-import-not-at-top
  got = multihost_utils.process_allgather(np.asarray(flags, np.int32))
  return [bool(f) for f in np.asarray(got).reshape(-1, len(flags)).any(0)]


def barrier(name: str, timeout_s: int = 1800) -> None:
  """Waits until every process reaches `name` (no-op with one process).

  Uses the coordination service's barrier (no device collective, so it
  needs no gloo/NCCL context and waits up to `timeout_s`).
  """
  if jax.process_count() == 1:
    return
  from jax._src import distributed as jax_distributed  # pylint: disable=g-import-not-at-top
  client = jax_distributed.global_state.client
  if client is None or not hasattr(client, "wait_at_barrier"):
    from jax.experimental import multihost_utils  # pylint: disable=g-import-not-at-top
    multihost_utils.sync_global_devices(name)
    return
  client.wait_at_barrier(name, timeout_in_ms=timeout_s * 1000)
