"""Model configs: `--config=configs/models.py:<preset>` or `get_config(name)`.

The presets live in `maskgit/presets/<model>.py`, one module per model
(architecture and training hyper-parameters together): imagenet256 and
imagenet512 (official checkpoints), emoji (the embedded 64 px model, trained
here; see docs/model_card.md) and tiny (tests). Field names match
`TransformerConfig` and `TokenizerConfig`; an unknown field is an error when
the model is built.
"""

import ml_collections

from maskgit import presets

PRESETS = presets.names()


def get_config(preset: str = "imagenet256") -> ml_collections.ConfigDict:
  """Returns the model config for `preset` (one of PRESETS)."""
  return presets.model_config(preset)
