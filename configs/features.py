r"""Recipe `features`: the realism feature network (maskgit_edit/features.py).

  python train.py --config=configs/features.py:emoji --workdir=/tmp/feat \
    --config.data.dataset=/work/data/emoji64.npz
Trains a small CNN classifier over the 9 emoji Unicode groups on the TRAIN
split (the benchmark edits the test split). Writes
<workdir>/export/features.msgpack (+ features.json, the architecture); the
shipped copy is weights/emoji/features.msgpack (docs/comparisons.md).
"""

from configs import train_common


def get_config(preset: str = "emoji"):
  preset = preset or "emoji"
  c = train_common.base("features", preset, "maskgit_edit.features")
  c.features = dict(
      num_classes=9,  # Emoji Unicode groups (maskgit.data.emoji).
      image_size=64,  # Input side; divisible by stem * 4.
      widths=(48, 96, 192),  # Channels per stage; features = widths[-1].
      stem=4,  # Patchify stem: stem x stem conv with stride stem.
  )
  c.label_smoothing = 0.1  # Cross-entropy label smoothing.
  c.data.source = "npz"  # In-memory .npz (maskgit.data.arrays).
  c.data.dataset = "data/emoji64.npz"  # python -m maskgit.data.arrays ...
  c.data.train_split = "train"
  c.data.eval_split = "test"  # Eval loss/accuracy only; never trained on.
  c.data.crop_area_range = ()  # Emoji are centred; no crops.
  c.data.random_flip = True  # Flips double the data.
  c.batch_size = 128
  c.num_steps = 400  # ~15 epochs of the 3,419 train images.
  c.optim.learning_rate = 2e-3
  c.optim.warmup_steps = 40
  c.optim.weight_decay = 0.01
  c.optim.b2 = 0.99
  c.checkpoint.every_steps = 100
  c.log_every = 20
  c.eval_every = 100
  c.eval_batches = 2
  c.sample_every = 0  # A classifier has no samples.
  if preset == "tiny":
    c.features.image_size = 32
    c.features.widths = (8, 16)
    c.features.stem = 2
    c.features.num_classes = 10
    c.data.source = "synthetic"
    c.data.dataset = ""
    c.batch_size = 8
    c.num_steps = 4
    c.sample_every = 0
  return c
