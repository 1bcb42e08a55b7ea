"""Config of generate.py: class-conditional generation and box editing.

    python generate.py --config=configs/generate.py:imagenet256 \
      --config.tokenizer_path=tokenizer_imagenet256_checkpoint \
      --config.transformer_path=maskgit_imagenet256_checkpoint \
      --config.labels=1,207

    python generate.py      # one sample per emoji group, embedded model

The argument after ':' is a model preset (configs/models.py), default 'emoji'
(the embedded model in weights/emoji). Other presets start with empty paths.
"""

import os

import ml_collections

from configs import models
from maskgit import embedded

_REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def get_config(preset: str = "emoji") -> ml_collections.ConfigDict:
  preset = preset or "emoji"
  c = ml_collections.ConfigDict()
  c.model = models.get_config(preset)  # Architecture (see configs/models.py).
  # Official-format msgpack files. Both empty: a RANDOMLY INITIALISED model
  # (smoke test / demo of the pipeline only; its images are noise).
  c.tokenizer_path = ""
  c.transformer_path = ""
  c.random_init_seed = 0  # Seed of the random weights when no paths given.
  c.mode = "generate"  # "generate" or "box_edit".
  c.output_dir = "outputs/generate"  # PNGs and a grid are written here.
  c.seed = 42  # Sampling seed.
  c.choice_temperature = 4.5  # Gumbel temperature of the re-masking choice.
  c.schedule = "cosine"  # Mask schedule: cosine, linear, pow<p>, log, exp.
  # Generation.
  c.labels = (1, 2, 3, 4)  # One image per class label.
  c.num_iter = 16  # Decoding steps.
  # Box editing (the release's class-conditional editing demo).
  c.image = ""  # Input image; resized to model.image_size if needed.
  c.box = (0, 0, 0, 0)  # Pixel box to regenerate: top, left, height, width.
  c.target_label = 0  # Class to paint into the box.
  c.num_samples = 4  # Edited samples (one batch).
  c.edit_num_iter = 12  # Schedule length for editing.
  c.start_iter = 2  # Editing enters the schedule at this step.
  c.blend = "official"  # "official" (blurred) or "feather" (exact outside).
  c.feather = 16  # Feather radius in pixels for blend="feather".
  # Persistent compilation cache ('' = off).
  c.compilation_cache = "~/.cache/maskgit_edit/jax"
  if preset == "emoji":
    c.model = embedded.config()  # Hint table and class count of the files.
    c.tokenizer_path = embedded.TOKENIZER_PATH
    c.transformer_path = embedded.TRANSFORMER_PATH
    c.labels = tuple(range(9))  # One sample per Unicode emoji group.
    c.num_iter = 12
    c.feather = 8
  return c
