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
  return train_common.finish(c, preset or "imagenet256")
