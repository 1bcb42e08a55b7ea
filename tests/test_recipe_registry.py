"""Recipe registry: plug-ins register themselves; maskgit never imports up."""

import ast
import pathlib

import pytest

from configs import transformer as transformer_config
from maskgit.training import ConfigError
from maskgit.training import loop
from maskgit.training import recipe as recipe_lib
from maskgit.training import transformer as transformer_recipe

ROOT = pathlib.Path(__file__).resolve().parents[1]


@recipe_lib.register("test_registry_toy")
class _Toy(transformer_recipe.TransformerRecipe):
  """A plug-in defined outside maskgit (here: in a test module)."""


def test_a_config_names_the_module_that_registers_its_recipe():
  c = transformer_config.get_config("tiny")
  c.recipe = "test_registry_toy"
  c.recipe_module = __name__
  recipe = loop.get_recipe(c)
  assert isinstance(recipe, _Toy) and recipe.name == "test_registry_toy"
  assert recipe_lib.get("transformer") is transformer_recipe.TransformerRecipe


def test_edit_recipes_register_through_their_config_module():
  from configs import selfcond  # pylint: disable=g-import-not-at-top
  c = selfcond.get_config("tiny")
  assert c.recipe_module == "maskgit_edit.recipes.selfcond"
  assert type(loop.get_recipe(c)).__module__ == "maskgit_edit.recipes.selfcond"


def test_registry_errors_are_clear():
  c = transformer_config.get_config("tiny")
  c.recipe = "nope"
  with pytest.raises(ConfigError, match=r"Unknown recipe 'nope'; choose one "
                     r"of .*transformer"):
    loop.get_recipe(c)
  c.recipe, c.recipe_module = "transformer", "no_such_module_xyz"
  with pytest.raises(ConfigError, match="recipe_module 'no_such_module_xyz' "
                     "cannot be imported"):
    loop.get_recipe(c)
  with pytest.raises(ValueError, match="already registered"):
    recipe_lib.register("transformer")(type("Other", (_Toy,), {}))
  with pytest.raises(TypeError, match="needs a Recipe subclass"):
    recipe_lib.register("x")(object)


def test_maskgit_imports_neither_maskgit_edit_nor_configs():
  bad = []
  for path in sorted((ROOT / "maskgit").rglob("*.py")):
    for node in ast.walk(ast.parse(path.read_text())):
      mods = []
      if isinstance(node, ast.Import):
        mods = [a.name for a in node.names]
      elif isinstance(node, ast.ImportFrom) and node.module:
        mods = [node.module]
      bad += [f"{path.relative_to(ROOT)}: {m}" for m in mods
              if m.split(".")[0] in ("maskgit_edit", "configs")]
  assert not bad, bad


def test_one_module_per_model_holds_its_presets():
  from configs import selfcond  # pylint: disable=g-import-not-at-top
  from configs import train_common  # pylint: disable=g-import-not-at-top
  from maskgit import presets  # pylint: disable=g-import-not-at-top
  assert presets.names() == ("imagenet256", "imagenet512", "emoji",
                             "emoji_v2", "emoji_v2_128", "tiny")
  assert train_common.TRAIN_PRESETS == ("imagenet256", "emoji", "emoji_v2",
                                        "tiny")
  # No per-model branches left in the MaskGIT recipes' configs (features.py
  # and diffusion.py configure other networks, each in its one file).
  for path in (ROOT / "configs").glob("*.py"):
    if path.name not in ("edit.py", "generate.py", "features.py",
                         "diffusion.py", "evaluation.py"):
      assert 'preset == "' not in path.read_text(), path.name
  c = selfcond.get_config("emoji")  # Recipe defaults, then the preset's.
  assert (c.batch_size, c.optim.learning_rate, c.model.image_size) == (
      256, 3e-4, 64)
  with pytest.raises(ValueError, match="Unknown training preset "
                     "'imagenet512'; choose one of imagenet256, emoji, "
                     "emoji_v2, tiny"):
    selfcond.get_config("imagenet512")
