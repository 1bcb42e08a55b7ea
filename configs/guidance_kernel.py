"""Recipe `guidance_kernel`: the C x C guide->candidate kernel, model frozen.

  python train.py --config=configs/guidance_kernel.py:imagenet256 \
    --workdir=/tmp/k --config.init_from=maskgit_imagenet256.msgpack \
    --config.tokenizer_path=tokenizer_imagenet_256.msgpack
Writes <workdir>/export/guidance_kernel.npy (float32 [C, C] log-affinities,
row = guide code, column = candidate code).
"""

from configs import train_common


def get_config(preset: str = "imagenet256"):
  c = train_common.base("guidance_kernel", preset or "imagenet256",
                        "maskgit_edit.recipes.guidance_kernel")
  c.init_from = ""  # The FROZEN transformer (official msgpack); "" = random.
  c.label_smoothing = 0.0  # Plain CE for the kernel.
  c.optim.learning_rate = 1e-2  # One small matrix: a large lr is fine.
  c.optim.warmup_steps = 100  # Short warmup.
  c.optim.weight_decay = 0.0  # No decay on log-affinities.
  c.num_steps = 5_000  # Kernel training length.
  c.guidance = dict(
      **train_common.stroke_fields(),
  )
  return train_common.finish(c, preset or "imagenet256")
