"""Recipe `tokenizer`: VQGAN with discriminator, R1 and entropy losses.

  python train.py --config=configs/tokenizer.py:imagenet256 --workdir=/tmp/v
  python train.py --config=configs/tokenizer.py:emoji --workdir=/tmp/v
  python train.py --config=configs/tokenizer.py:tiny --workdir=/tmp/v
"""

from configs import train_common


def get_config(preset: str = "imagenet256"):
  c = train_common.base("tokenizer", preset or "imagenet256",
                        "maskgit.training.tokenizer")
  c.optim.learning_rate = 1e-4  # Both players.
  c.optim.b2 = 0.99  # GAN-friendly second moment.
  c.optim.weight_decay = 0.0  # No decay for the tokenizer.
  c.optim.warmup_steps = 1_000  # Short warmup.
  c.label_smoothing = 0.0  # Unused by this recipe.
  c.tokenizer_loss = dict(
      l1_weight=1.0,  # |x - x'|.
      l2_weight=1.0,  # (x - x')^2.
      beta=0.25,  # Commitment |z - sg(zq)|^2.
      codebook_weight=1.0,  # Codebook |sg(z) - zq|^2.
      entropy_weight=0.1,  # Per-sample minus batch code entropy.
      entropy_temperature=0.01,  # Soft assignment temperature.
      adv_weight=0.1,  # Generator's non-saturating GAN loss.
      disc_start=20_000,  # Steps before the discriminator switches on.
      r1_gamma=10.0,  # R1 penalty on real images.
      disc_filters=64,  # Discriminator base width.
      disc_layers=3,  # Strided conv layers (downsample 2^layers).
      perceptual_weight=0.0,  # Unsupported (no feature weights); keep 0.
      # Fine-tune only the decoder on the frozen encoder's codes (init_from
      # a tokenizer): token ids, and so any trained transformer, stay valid.
      decoder_only=False,
  )
  return train_common.finish(c, preset or "imagenet256")
