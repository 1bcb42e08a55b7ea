"""Recipe `transformer`: MaskGIT masked-token training (scratch or fine-tune).

  python train.py --config=configs/transformer.py:imagenet256 --workdir=/tmp/t
  python train.py --config=configs/transformer.py:emoji --workdir=/tmp/t
  python train.py --config=configs/transformer.py:tiny --workdir=/tmp/t
Fine-tune from the official checkpoint with
  --config.init_from=maskgit_imagenet256.msgpack
  --config.tokenizer_path=tokenizer_imagenet_256.msgpack
"""

from configs import train_common


def get_config(preset: str = "imagenet256"):
  c = train_common.base("transformer", preset or "imagenet256",
                        "maskgit.training.transformer")
  # Training layout: layers under nn.scan with remat (export converts back).
  c.model.transformer.scan_layers = True
  c.model.transformer.remat = True
  if preset == "emoji":
    c.batch_size = 256
    c.num_steps = 12_000
    c.optim.learning_rate = 1e-3
    c.optim.warmup_steps = 1_000
    c.model.transformer.remat = False  # Small model: memory is no issue.
    c.tokenizer_path = "weights/emoji/tokenizer.msgpack"  # Or your export.
  return c
