"""Fields shared by the training recipes (configs/{tokenizer,transformer,...}.py).

Each recipe config calls `base(recipe, preset, recipe_module)` and adds its own section. Every
field carries a comment; `--config.<field>=value` overrides any of them.
"""

import ml_collections

from configs import models

TRAIN_PRESETS = ("tiny", "emoji", "imagenet256")


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
  if preset not in TRAIN_PRESETS:
    raise ValueError(f"Unknown training preset {preset!r}; choose one of "
                     f"{', '.join(TRAIN_PRESETS)}.")
  c = ml_collections.ConfigDict()
  c.recipe = recipe  # A name registered with maskgit.training.recipe.register.
  # Module(s) imported before the lookup (their @register runs); comma list.
  c.recipe_module = recipe_module
  c.seed = 0  # Init, dropout/mask rng (fold_in(step)) and data order.
  c.model = models.get_config(preset)  # Architecture (configs/models.py).

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

  if preset == "emoji":
    # The embedded default model (docs/model_card.md). Prepare the data with
    #   python -m maskgit.data.emoji --out_dir=data/tfds
    # (or train from one .npz: data.source=npz, data.dataset=FILE).
    c.batch_size = 128
    c.optim.learning_rate = 4e-4
    c.optim.warmup_steps = 500
    c.data.dataset = "data/tfds/noto_emoji/1.0.0"
    c.data.eval_split = "test"
    # No crop: test images are rendered the same way (centred, same size);
    # flips double the data.
    c.data.crop_area_range = ()
    c.checkpoint.every_steps = 2_000
    c.log_every = 200
    c.eval_every = 2_000
    c.eval_batches = 2
    c.sample_every = 4_000
    c.num_samples = 36
  if preset == "tiny":
    c.batch_size = 8
    c.num_steps = 4
    c.optim.learning_rate = 1e-3
    c.optim.warmup_steps = 1
    c.data.source = "synthetic"
    c.data.dataset = ""
    c.data.eval_split = "test"
    c.checkpoint.every_steps = 2
    c.log_every = 1
    c.eval_every = 2
    c.eval_batches = 1
    c.sample_every = 4
    c.num_samples = 4
    c.sample_num_iter = 4
    c.compilation_cache = ""
  return c
