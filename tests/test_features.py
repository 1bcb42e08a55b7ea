"""The feature-network recipe trains through train.py's loop and exports
weights that FeatureExtractor loads."""

import os

import numpy as np

from configs import features as features_config
from maskgit.training import loop
from maskgit_edit.evaluation import features


def test_tiny_recipe_trains_and_exports(tmp_path):
  config = features_config.get_config("tiny")
  result = loop.train_and_evaluate(config, str(tmp_path))
  assert result["step"] == config.num_steps
  path = os.path.join(tmp_path, "export", "features.msgpack")
  assert path in result["export"]
  ext = features.FeatureExtractor.load(path, batch_size=4)
  x = np.random.default_rng(0).uniform(size=(5, 32, 32, 3))
  f = ext.features(x)
  assert f.shape == (5, config.features.widths[-1])
  np.testing.assert_array_equal(f, ext.features(x))  # Deterministic.
  assert ext.logits(x).shape == (5, config.features.num_classes)
