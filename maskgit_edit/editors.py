"""Where a method's editor and options come from, for an edit config.

The one place that maps (edit config, method name) to an editor and its
options, shared by the batch runner (sample_edit.py), the comparison command
(benchmarks/compare.py) and anything else that edits from a config:

* token samplers (`maskgit_edit.samplers`) run in the MaskGIT `Editor` built
  from the config's model paths; `selfcond` may use a separate hinted
  transformer (`config.selfcond_transformer_path`);
* backends (`maskgit_edit.backends`, registered by the plugin modules that
  `config.plugins` lists, e.g. the SDEdit baseline in baselines/sdedit) bring
  their own editor with the `Editor.edit` signature.

Editors are loaded on first use and cached by what they are built from, so a
sweep over methods and strengths loads each model once.
"""

from __future__ import annotations

import sys
from typing import Any

from maskgit import cli as maskgit_cli
from maskgit import model as model_lib
from maskgit_edit import backends
from maskgit_edit import editor as editor_lib


def import_plugins(config) -> None:
  """Imports the plugin modules `config.plugins` lists (they register)."""
  backends.import_plugins(config.get("plugins", ()))


def check_method(config, method: str) -> str:
  """`method` if a sampler or a plugin's backend has it; else ValueError."""
  import_plugins(config)
  return backends.check_method(method)


def options(config, method: str) -> Any:
  """The validated options `method`'s editor takes, from the config."""
  import_plugins(config)
  if backends.has(method):
    return backends.get(method).options(config, method)
  return editor_lib.options_from_config(config, method)


def selfcond_editor(config, base: editor_lib.Editor) -> editor_lib.Editor:
  """The editor of method `selfcond`: a hinted transformer."""
  if config.selfcond_transformer_path:
    mc = config.model.copy_and_resolve_references()
    mc.transformer.num_hint_codes = (config.selfcond_num_hint_codes or
                                     mc.transformer.num_codes)
    m = model_lib.MaskGIT.from_files(
        mc, config.tokenizer_path or "", config.selfcond_transformer_path)
  elif (base.model.transformer_config.num_hint_codes
        or base.model.transformer_config.hint_features):
    return base
  else:
    print("NOTE: no selfcond_transformer_path; selfcond uses the base "
          "transformer with a ZERO hint table (identical to inpaint).",
          file=sys.stderr)
    m = editor_lib.with_hint_embedding(base.model,
                                       config.selfcond_num_hint_codes)
  return editor_lib.Editor(m, config.kernel_path)


class EditorPool:
  """Editors by method and model source, loaded on first use.

  A load failure (missing or wrong checkpoint) raises; it is a run failure,
  not an item's.
  """

  def __init__(self):
    self._editors: dict[tuple, Any] = {}

  def _cached(self, key: tuple, make):
    if key not in self._editors:
      self._editors[key] = make()
    return self._editors[key]

  def get(self, config, method: str):
    """The editor that runs `method` with the models `config` names."""
    check_method(config, method)
    if backends.has(method):
      key = ("backend", method, config.to_json_best_effort())
      return self._cached(
          key, lambda: backends.get(method).create(config, method))
    source = (config.tokenizer_path, config.transformer_path,
              config.kernel_path, int(config.random_init_seed),
              config.model.to_json_best_effort())
    base = self._cached(("base",) + source, lambda: editor_lib.Editor(
        maskgit_cli.load_model(config), config.kernel_path))
    if method != "selfcond":
      return base
    return self._cached(
        ("selfcond", config.selfcond_transformer_path,
         int(config.selfcond_num_hint_codes)) + source,
        lambda: selfcond_editor(config, base))
