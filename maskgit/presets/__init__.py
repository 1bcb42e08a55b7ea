"""Model presets: one module per model, everything about that model in it.

A preset module (`maskgit/presets/<model>.py`) holds the model's
architecture (`model()`: the ConfigDict `TransformerConfig` and
`TokenizerConfig` are built from) and, if the model is trained here, the
training hyper-parameters of every recipe at that size (`train(config)`,
applied by `configs/train_common.py` after the recipe's own defaults, so a
preset overrides them). It registers itself:

    presets.register(presets.Preset("my_model", model=_model, train=_train))

and is listed in `_BUILTIN` below (adding a model = one file + one line).
The command-line configs reach presets through `configs/models.py` and
`configs/train_common.py`; library code (e.g. `maskgit.embedded`) uses
`model_config(name)` directly, so the package never imports `configs`.
"""

from __future__ import annotations

import dataclasses
from typing import Callable

import ml_collections

from maskgit import registry

ConfigDict = ml_collections.ConfigDict


@dataclasses.dataclass(frozen=True)
class Preset:
  """One model.

  Attributes:
    name: the name after ':' in --config=configs/<file>.py:<name>.
    model: () -> model ConfigDict (image_size, tokenizer, transformer).
    train: (training config) -> None, sets this model's hyper-parameters for
      `config.recipe` in place; None = not trainable with train.py.
  """
  name: str
  model: Callable[[], ConfigDict]
  train: Callable[[ConfigDict], None] | None = None


_PRESETS = registry.Registry(
    "model preset", origin=lambda p: (p.model.__module__, p.model.__qualname__))
_BUILTIN = ("maskgit.presets.imagenet", "maskgit.presets.emoji",
            "maskgit.presets.emoji_v2", "maskgit.presets.tiny")


def register(preset: Preset) -> Preset:
  """Adds `preset` (a different preset under a taken name is an error)."""
  return _PRESETS.register(preset.name, preset)


def names(trainable: bool = False) -> tuple[str, ...]:
  """Preset names in registration order (only trainable ones if asked)."""
  registry.import_modules(_BUILTIN)
  return tuple(n for n in _PRESETS.names()
               if not trainable or _PRESETS.get(n).train is not None)


def get(name: str) -> Preset:
  """The preset `name` (ValueError naming the choices)."""
  registry.import_modules(_BUILTIN)
  return _PRESETS.get(name)


def cadence(c: ConfigDict, *, checkpoint: int | None = None,
            log: int | None = None, evaluate: int | None = None,
            eval_batches: int | None = None, sample: int | None = None,
            num_samples: int | None = None) -> None:
  """Sets a training config's checkpoint/log/eval/sample intervals (steps;
  None keeps a field; `sample` 0 = never)."""
  for field, value in (("log_every", log), ("eval_every", evaluate),
                       ("eval_batches", eval_batches),
                       ("sample_every", sample), ("num_samples", num_samples)):
    if value is not None:
      c[field] = value
  if checkpoint is not None:
    c.checkpoint.every_steps = checkpoint


def model_config(name: str) -> ConfigDict:
  """A fresh model ConfigDict of preset `name`."""
  return get(name).model()


def apply_training(config: ConfigDict, name: str) -> ConfigDict:
  """Applies preset `name`'s hyper-parameters for `config.recipe`."""
  preset = get(name)
  if preset.train is None:
    raise ValueError(f"Unknown training preset {name!r}; choose one of "
                     f"{', '.join(names(trainable=True))}.")
  preset.train(config)
  return config
