"""Editors and options of methods, built from an edit config and cached.

The one place that maps (edit config, method) to an editor and its options,
shared by the batch runner (sample_edit.py), the evaluation, the browser
editor and the scripts:

* token methods run in the MaskGIT `Editor` built from the config's model
  paths; a method that `needs_hints` runs on a self-conditioned transformer:
  `config.selfcond_transformer_path` when given, else the base transformer
  when it is hinted, else the base weights with a zero hint table (which
  computes exactly what the base model computes);
* other methods (plug-ins such as the SDEdit baseline) build their own
  editor (`Method.build_editor`) and options (`Method.build_options`).

Editors are loaded on first use and cached by what they are built from, so a
sweep over methods and strengths loads each model once. A load failure
(missing or wrong checkpoint) raises: it is a run failure, not an item's.
"""

from __future__ import annotations

import sys
from typing import Any

from maskgit import cli as maskgit_cli
from maskgit import model as model_lib
from maskgit_edit import editor as editor_lib
from maskgit_edit import methods
from maskgit_edit import protocol


def method(config, name: str) -> methods.Method:
  """The record of `name`, after importing the config's plug-ins."""
  methods.import_plugins(config)
  return methods.get(name)


def hinted_model(config, base: model_lib.MaskGIT) -> model_lib.MaskGIT:
  """The self-conditioned transformer that hinted methods run on."""
  if config.selfcond_transformer_path:
    mc = config.model.copy_and_resolve_references()
    mc.transformer.num_hint_codes = (config.selfcond_num_hint_codes or
                                     mc.transformer.num_codes)
    return model_lib.MaskGIT.from_files(
        mc, config.tokenizer_path or "", config.selfcond_transformer_path)
  tc = base.transformer_config
  if tc.num_hint_codes or tc.hint_features:
    return base
  print("NOTE: no selfcond_transformer_path; a hinted method uses the base "
        "transformer with a ZERO hint table (identical to inpaint).",
        file=sys.stderr)
  return editor_lib.with_hint_embedding(base, config.selfcond_num_hint_codes)


class EditorPool:
  """Editors by method and model source, loaded on first use."""

  def __init__(self):
    self._editors: dict[tuple, Any] = {}

  def _cached(self, key: tuple, make):
    if key not in self._editors:
      self._editors[key] = make()
    return self._editors[key]

  def options(self, config, name: str) -> Any:
    """The validated options `name`'s editor takes, from the config.

    Raises:
      ValueError: unknown method, unknown option key, bad value.
    """
    m = method(config, name)
    if m.build_options is not None:
      return m.build_options(config)
    return editor_lib.options_from_config(config, name)

  def editor(self, config, name: str) -> protocol.BaseEditor:
    """The editor that runs `name` with the models `config` names."""
    m = method(config, name)
    if m.build_editor is not None:
      key = ("backend", name, config.to_json_best_effort())
      return self._cached(key, lambda: m.build_editor(config))
    source = (config.tokenizer_path, config.transformer_path,
              int(config.random_init_seed),
              config.model.to_json_best_effort())
    base = self._cached(("base",) + source, lambda: editor_lib.Editor(
        maskgit_cli.load_model(config)))
    if not m.needs_hints:
      return base
    return self._cached(
        ("hinted", config.selfcond_transformer_path,
         int(config.selfcond_num_hint_codes)) + source,
        lambda: _hinted_editor(config, base))


def _hinted_editor(config, base: editor_lib.Editor) -> editor_lib.Editor:
  model = hinted_model(config, base.model)
  return base if model is base.model else editor_lib.Editor(model)
