r"""Recipe `features`: the evaluation's feature network.

  python train.py --config=configs/features.py:emoji --workdir=/tmp/feat
Trains `maskgit_edit.evaluation.features.FeatureNet` on the `fit` split of
the evaluation splits (`maskgit_edit.evaluation.splits`, derived once from
data/emoji64.npz into data/emoji64_eval.npz) to classify the 9 emoji groups
and to tell real images from degraded copies (the realism head;
maskgit_edit/recipes/features.py). Writes <workdir>/export/features.msgpack
and features.json (architecture + calibrated perceptual layer weights); the
shipped copy is weights/emoji/features.msgpack (docs/comparisons.md).
"""

import os

from configs import train_common
from maskgit import presets

_REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def get_config(preset: str = "emoji"):
  preset = preset or "emoji"
  c = train_common.base("features", preset, "maskgit_edit.recipes.features")
  c.features = dict(
      num_classes=9,  # Emoji Unicode groups (maskgit.data.emoji).
      image_size=64,  # Input side; divisible by stem * 4.
      widths=(48, 96, 192),  # Channels per stage; features = widths[-1].
      stem=4,  # Patchify stem: stem x stem conv with stride stem.
      realism=True,  # Train the real-vs-degraded head too.
      realism_weight=1.0,  # Weight of its binary cross-entropy.
      # Degradation families of the fake copies (features.FAMILIES).
      families="blur,noise,posterise,paint_local,segment,tokenize",
      # The dataset the evaluation splits are derived from (made on first
      # use when data.dataset is its _eval.npz).
      source_data=os.path.join(_REPO, "data/emoji64.npz"),
      calibration_images=256,  # Reference images for the layer weights.
  )
  c.label_smoothing = 0.1  # Group cross-entropy label smoothing.
  c.data.source = "npz"  # In-memory .npz (maskgit.data.arrays).
  c.data.dataset = os.path.join(_REPO, "data/emoji64_eval.npz")
  c.data.train_split = "fit"  # Never the evaluation's val/test/reference.
  c.data.eval_split = "reference"  # Eval metrics + calibration only.
  c.data.crop_area_range = ()  # Emoji are centred; no crops.
  c.data.random_flip = True  # Flips double the data.
  # The tokenizer whose reconstructions are one kind of fake.
  c.tokenizer_path = os.path.join(_REPO, "weights/emoji/tokenizer.msgpack")
  c.batch_size = 64  # Real images per step (+ as many degraded copies).
  c.num_steps = 3000
  c.optim.learning_rate = 2e-3
  c.optim.warmup_steps = 100
  c.optim.weight_decay = 0.01
  c.optim.b2 = 0.99
  # A classifier has no samples (sample=0).
  presets.cadence(c, checkpoint=500, log=50, evaluate=500, eval_batches=4,
                  sample=0)
  if preset == "tiny":
    c.features.image_size = 32
    c.features.widths = (8, 16)
    c.features.stem = 2
    c.features.num_classes = 10
    c.features.families = "blur,noise,paint_local,tokenize"
    c.features.source_data = ""
    c.data.source = "synthetic"
    c.data.dataset = ""
    c.tokenizer_path = ""
    c.batch_size = 8
    c.num_steps = 4
    c.sample_every = 0
  return c
