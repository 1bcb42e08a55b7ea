"""Test setup: CPU only, 8 fake devices for sharding tests, strict numpy rank."""

import os

os.environ.setdefault("XLA_FLAGS", "--xla_force_host_platform_device_count=8")
os.environ.setdefault("JAX_PLATFORMS", "cpu")
# One persistent compilation cache per test session (fresh, as on CI): the
# many tests that build the same tiny programs compile each one once. CLI
# subprocesses use their own configured cache.
if "JAX_COMPILATION_CACHE_DIR" not in os.environ:
  import tempfile  # pylint: disable=g-import-not-at-top
  os.environ["JAX_COMPILATION_CACHE_DIR"] = tempfile.mkdtemp(
      prefix="maskgit_test_jax_cache_")
  os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0")
  os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES", "-1")

import pytest  # pylint: disable=g-import-not-at-top

from configs import models  # pylint: disable=g-import-not-at-top


@pytest.fixture(scope="session")
def tiny_config():
  return models.get_config("tiny")


@pytest.fixture(scope="session")
def tiny_model(tiny_config):
  from maskgit import model  # pylint: disable=g-import-not-at-top
  return model.MaskGIT.random(tiny_config, seed=0)


def sigterm_at(stop_step: int):
  """A training loop `on_step` callback that sends this process SIGTERM
  after step `stop_step` (the loop then checkpoints and stops)."""
  import os  # pylint: disable=g-import-not-at-top,redefined-outer-name,reimported
  import signal  # pylint: disable=g-import-not-at-top

  def on_step(step, loss):
    del loss
    if step == stop_step:
      os.kill(os.getpid(), signal.SIGTERM)
  return on_step


@pytest.fixture(scope="session")
def pool():
  """One (config, method) -> editor pool for the tests (editors are cached
  by their settings, so sharing it only saves compilations)."""
  from maskgit_edit.methods import pool as pool_lib  # pylint: disable=g-import-not-at-top
  return pool_lib.EditorPool()
