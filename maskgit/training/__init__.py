"""Training library: mesh/sharding, optimiser, state, checkpoints, the loop.

`train.py` calls `maskgit.training.loop.train_and_evaluate(config, workdir)`;
the recipes (tokenizer, transformer, and the maskgit_edit ones) plug into that
one loop through the `Recipe` interface of `maskgit.training.recipe`.
"""


class ConfigError(ValueError):
  """A training config cannot run (bad recipe, batch, mesh, dataset, ...)."""
