"""Recipe `selfcond`: fine-tune with hint tokens at masked positions.

  python train.py --config=configs/selfcond.py:imagenet256 --workdir=/tmp/s \
    --config.init_from=maskgit_imagenet256.msgpack \
    --config.tokenizer_path=tokenizer_imagenet_256.msgpack
"""

from configs import train_common


def get_config(preset: str = "imagenet256"):
  c = train_common.base("selfcond", preset or "imagenet256",
                        "maskgit_edit.training")
  c.model.transformer.scan_layers = True  # nn.scan over layers.
  c.model.transformer.remat = True  # Rematerialise layers in backward.
  # One hint row per image code (+ the "no hint" row added by the net).
  c.model.transformer.num_hint_codes = c.model.transformer.num_codes
  c.optim.learning_rate = 3e-5  # Fine-tuning.
  c.optim.warmup_steps = 1_000  # Fine-tuning warmup.
  c.num_steps = 50_000  # Fine-tuning length.

  c.selfcond = dict(
      p_guide=0.5,  # Fraction of examples hinted with guidance tokens.
      p_self=0.25,  # Fraction hinted with the model's own first-round samples.
      self_remask=0.5,  # Self hints: fraction of round-1 samples re-masked.
      **train_common.stroke_fields(),
  )
  return train_common.finish(c, preset or "imagenet256")
