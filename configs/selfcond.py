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
  if preset == "emoji":
    c.selfcond.stroke_resolution = 0  # 64 px: simulate at full size.
    c.batch_size = 256
    c.num_steps = 1_000
    c.optim.learning_rate = 3e-4
    c.optim.warmup_steps = 100
    c.model.transformer.remat = False
    c.tokenizer_path = "weights/emoji/tokenizer.msgpack"
    c.init_from = ""  # The transformer recipe's export/transformer.msgpack.
  if preset == "emoji_v2":
    # Step count sized for scripts/train_emoji_v2.sh (see its header).
    c.selfcond.stroke_resolution = 0
    c.batch_size = 256
    c.num_steps = 300
    c.optim.learning_rate = 3e-4
    c.optim.warmup_steps = 30
    c.model.transformer.remat = False
    c.model.transformer.dtype = "bfloat16"
    c.model.transformer.attention_impl = "auto"
    c.model.transformer.attention_dropout_rate = 0.0
    c.tokenizer_path = "weights/emoji_v2/tokenizer.msgpack"
    c.init_from = ""  # The transformer stage's export.
    c.checkpoint.every_steps = 300
    c.eval_every = 300
    c.sample_every = 300
  if preset == "tiny":
    c.selfcond.stroke_resolution = 0  # 32 px images: simulate at full size.
    c.optim.learning_rate = 1e-3
    c.optim.warmup_steps = 1
    c.num_steps = 4
  return c
