"""Test setup: CPU only, 8 fake devices for sharding tests, strict numpy rank."""

import os

os.environ.setdefault("XLA_FLAGS", "--xla_force_host_platform_device_count=8")
os.environ.setdefault("JAX_PLATFORMS", "cpu")

import pytest  # pylint: disable=g-import-not-at-top

from configs import models  # pylint: disable=g-import-not-at-top


@pytest.fixture(scope="session")
def tiny_config():
  return models.get_config("tiny")


@pytest.fixture(scope="session")
def tiny_model(tiny_config):
  from maskgit import model  # pylint: disable=g-import-not-at-top
  return model.MaskGIT.random(tiny_config, seed=0)
