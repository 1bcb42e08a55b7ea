"""The interface between a training objective and the generic loop.

A recipe says what is trained (`init_params`, `load_params`), what stays fixed
(`frozen`: e.g. the tokenizer that turns images into tokens), how a host batch
becomes model inputs (`host_transform` in numpy, `prepare` jitted), the loss
(`loss_fn`, or `grad_fn` for objectives with several players), sample images
for the logs and the export of trained weights. The loop owns everything else:
sharding, jit, optimiser, checkpoints, logging, signals.

Recipes register themselves by name, in their own module:

    @recipe.register("my_objective")
    class MyRecipe(recipe.Recipe): ...

and a training config names the module (`config.recipe_module`, a dotted
import path or several separated by commas) and the recipe
(`config.recipe`). `build(config)` imports the module, which runs the
decorator, then looks the name up; the base package therefore never imports
a layer above it (maskgit_edit's recipes live in maskgit_edit).
"""

from __future__ import annotations

from typing import Any, Callable

import jax
import numpy as np

from maskgit import registry
from maskgit.training import ConfigError

PyTree = Any
Batch = dict[str, Any]
# The recipes of the base package, imported when a config names no module.
BUILTIN_MODULES = ("maskgit.training.tokenizer",
                   "maskgit.training.transformer")
_RECIPES = registry.Registry("recipe", error=ConfigError)


class Recipe:
  """Base class; subclasses override what their objective needs."""

  name = "base"

  def __init__(self, config):
    self.config = config

  def model_info(self) -> dict[str, int]:
    """Image side and number of classes the data must provide."""
    m = self.config.model
    return {"image_size": int(m.image_size),
            "num_classes": int(m.transformer.num_classes)}

  # -- parameters -----------------------------------------------------------
  def init_params(self, rng: jax.Array) -> PyTree:
    """Fresh trainable parameters (pure; traced under jit/eval_shape)."""
    raise NotImplementedError

  def load_params(self) -> PyTree | None:
    """Host (numpy) parameters from `config.init_from`, or None."""
    return None

  def frozen(self) -> PyTree:
    """Host (numpy) parameters that are used but not trained."""
    return {}

  # -- data -----------------------------------------------------------------
  def host_transform(self, batch: dict[str, np.ndarray], step: int
                     ) -> dict[str, np.ndarray]:
    """Per-process numpy transform of a batch (e.g. stroke simulation)."""
    del step
    return batch

  def prepare(self, frozen: PyTree, batch: Batch) -> Batch:
    """Jitted, gradient-free preprocessing (e.g. images -> tokens)."""
    del frozen
    return batch

  # -- objective ------------------------------------------------------------
  def loss_fn(self, params: PyTree, frozen: PyTree, batch: Batch,
              rng: jax.Array, step: jax.Array, train: bool
              ) -> tuple[jax.Array, dict]:
    """(scalar loss, metrics dict of scalars)."""
    raise NotImplementedError

  def grad_fn(self, params: PyTree, batch: Batch, rng: jax.Array,
              frozen: PyTree, step: jax.Array) -> tuple[PyTree, dict]:
    """(grads like params, metrics). Default: grad of `loss_fn`."""
    def f(p):
      return self.loss_fn(p, frozen, batch, rng, step, True)
    (loss, metrics), grads = jax.value_and_grad(f, has_aux=True)(params)
    return grads, {**metrics, "loss": loss}

  def eval_metrics(self, params: PyTree, frozen: PyTree, batch: Batch,
                   rng: jax.Array) -> dict:
    loss, metrics = self.loss_fn(params, frozen, batch, rng, 0, False)
    return {**metrics, "loss": loss}

  # -- outputs --------------------------------------------------------------
  def samples(self, params: PyTree, frozen: PyTree, batch: Batch,
              rng: jax.Array) -> jax.Array | None:
    """float images [N, H, W, 3] in [0, 1] for the sample grid, or None."""
    return None

  def export(self, params: PyTree, frozen: PyTree, out_dir: str) -> list[str]:
    """Writes trained weights in the official layout; returns the paths."""
    return []


def register(name: str) -> Callable[[type[Recipe]], type[Recipe]]:
  """Class decorator: makes `cls` the recipe `name` (sets `cls.name`).

  Registering a second, different class under a taken name is an error;
  re-running the same module (e.g. a reload) replaces the entry.
  """
  def deco(cls: type[Recipe]) -> type[Recipe]:
    if not (isinstance(cls, type) and issubclass(cls, Recipe)):
      raise TypeError(f"@register({name!r}) needs a Recipe subclass, got "
                      f"{cls!r}.")
    cls.name = name
    _RECIPES.register(name, cls)
    return cls
  return deco


def names() -> list[str]:
  """Registered recipe names (of the modules imported so far), sorted."""
  return sorted(_RECIPES.names())


def get(name: str) -> type[Recipe]:
  """The recipe class registered as `name` (ConfigError if none)."""
  return _RECIPES.get(name)


def import_modules(spec: str | tuple[str, ...] | list[str] | None) -> None:
  """Imports recipe modules: dotted paths, a tuple or a comma list."""
  registry.import_modules(spec, ConfigError, "recipe_module")


def build(config) -> Recipe:
  """The recipe object `config.recipe` names, after importing its module.

  `config.recipe_module` (default: the base package's recipes) is imported
  first so that its `@register` decorators have run.
  """
  import_modules(config.get("recipe_module", "") or BUILTIN_MODULES)
  return get(config.get("recipe", None))(config)
