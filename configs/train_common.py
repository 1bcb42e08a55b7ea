"""Fields shared by the training recipes (configs/{tokenizer,transformer,...}.py).

Each recipe config calls `base(recipe, preset, recipe_module)`, adds its own
section and defaults (written for ImageNet-256), then `finish(c, preset)`:
the model preset (`maskgit/presets/<model>.py`, architecture and training
hyper-parameters of one model in one place) overrides what that model needs.
Every field carries a comment; `--config.<field>=value` overrides any of
them.
"""

import ml_collections

from maskgit import presets

TRAIN_PRESETS = presets.names(trainable=True)


def stroke_fields() -> dict:
  """Stroke-simulation fields of the recipes that simulate guidance."""
  return dict(
      simulator="mix",  # sdedit | pilot_inversion | pilot_counterfactual | mix.
      num_colors=6,  # SDEdit palette size.
      # Simulate strokes at this side, then resize back (0 = full size).
      # Full 256 px costs ~0.1-2 s per image on the host; 128 is ~4x cheaper
      # and still finer than the 16 px token grid.
      stroke_resolution=128,
      stroke_threads=0,  # Host threads for the simulators (0 = CPU count).
      # > 0: worker processes instead of threads (faster on many-core hosts).
      stroke_processes=0,
  )


def base(recipe: str, preset: str, recipe_module: str
         ) -> ml_collections.ConfigDict:
  """Common training config for `recipe` (registered in `recipe_module`)."""
  if preset not in presets.names(trainable=True):
    raise ValueError(f"Unknown training preset {preset!r}; choose one of "
                     f"{', '.join(presets.names(trainable=True))}.")
  c = ml_collections.ConfigDict()
  c.recipe = recipe  # A name registered with maskgit.training.recipe.register.
  # Module(s) imported before the lookup (their @register runs); comma list.
  c.recipe_module = recipe_module
  c.seed = 0  # Init, dropout/mask rng (fold_in(step)) and data order.
  c.model = presets.model_config(preset)  # Architecture (maskgit/presets).

  # Devices: batch split over both axes; params/opt state over 'fsdp'.
  c.mesh = (("data", -1), ("fsdp", 1))  # -1 = all remaining devices.

  c.batch_size = 256  # Global batch (all processes, all devices).
  c.num_steps = 100_000  # Optimiser steps (also the schedule's length).
  # Stop early after this many seconds (compile included): save, export and
  # report 'time_limit'; the schedule keeps its num_steps length. 0 = off.
  c.time_limit_s = 0.0
  c.label_smoothing = 0.1  # Token CE label smoothing (transformer recipes).

  c.optim = ml_collections.ConfigDict()
  c.optim.learning_rate = 1e-4  # Peak learning rate.
  c.optim.warmup_steps = 5_000  # Linear warmup from 0.
  c.optim.decay = "cosine"  # After warmup: cosine | linear | constant.
  c.optim.end_lr_factor = 0.0  # Final lr = learning_rate * this.
  c.optim.b1 = 0.9  # AdamW beta1.
  c.optim.b2 = 0.96  # AdamW beta2 (MaskGIT's value).
  c.optim.eps = 1e-8  # AdamW epsilon.
  c.optim.weight_decay = 0.045  # Decoupled, on >=2-D params only.
  c.optim.grad_clip = 1.0  # Global-norm clip; 0 = off.
  c.optim.grad_accum_steps = 1  # Micro-batches per step (inside the jit).
  # Images tokenized at once per device inside the step (0 = the whole
  # micro-batch): bounds the frozen tokenizer's activation memory.
  c.prepare_batch = 16

  c.data = ml_collections.ConfigDict()
  c.data.source = "tfds"  # tfds (array_record via grain) | npz | synthetic.
  c.data.dataset = "imagenet2012"  # Dataset dir or TFDS name.
  c.data.data_dir = ""  # TFDS data_dir for a named dataset ("" = default).
  c.data.train_split = "train"  # Split read for training.
  c.data.eval_split = "validation"  # Split read for eval loss and samples.
  c.data.crop_area_range = (0.8, 1.0)  # Random square crop area; () = centre.
  c.data.random_flip = True  # Random horizontal flip.
  c.data.worker_count = 0  # grain worker processes (0 = in-process threads).

  c.init_from = ""  # Official msgpack to start from (recipe-specific).
  # Transformer recipes: init_from has this many classes (0 = the model's);
  # they are tiled to the model's num_classes (new class c <- old c % this).
  c.init_num_classes = 0
  c.tokenizer_path = ""  # Official tokenizer msgpack ("" = random; tests).

  c.checkpoint = ml_collections.ConfigDict()
  c.checkpoint.every_steps = 1_000  # Save interval (plus end and SIGTERM).
  c.checkpoint.max_to_keep = 3  # Newest checkpoints kept.
  c.checkpoint.async_save = True  # Write in the background.

  c.log_every = 100  # Steps between console/JSONL scalar logs.
  c.eval_every = 5_000  # Steps between eval losses (0 = never).
  c.eval_batches = 10  # Batches per eval.
  c.sample_every = 10_000  # Steps between PNG sample grids (0 = never).
  c.num_samples = 16  # Images per sample grid.
  c.sample_num_iter = 12  # Decoding steps of sample grids.
  c.compilation_cache = "~/.cache/maskgit/jax"  # "" = no persistent cache.
  return c


def finish(c: ml_collections.ConfigDict, preset: str
           ) -> ml_collections.ConfigDict:
  """Applies the model preset's hyper-parameters (after the recipe's own)."""
  return presets.apply_training(c, preset)
