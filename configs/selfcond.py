"""Recipe `selfcond`: fine-tune with the guide's appearance as hints.

  python train.py --config=configs/selfcond.py:imagenet256 --workdir=/tmp/s \
    --config.init_from=maskgit_imagenet256.msgpack \
    --config.tokenizer_path=tokenizer_imagenet_256.msgpack
"""

from configs import train_common


def get_config(preset: str = "imagenet256"):
  c = train_common.base("selfcond", preset or "imagenet256",
                        "maskgit_edit.recipes.selfcond")
  c.model.transformer.scan_layers = True  # nn.scan over layers.
  c.model.transformer.remat = True  # Rematerialise layers in backward.
  # One hint row per image code (+ the "no hint" row added by the net).
  c.model.transformer.num_hint_codes = c.model.transformer.num_codes
  c.optim.learning_rate = 3e-5  # Fine-tuning.
  c.optim.warmup_steps = 1_000  # Fine-tuning warmup.
  c.num_steps = 50_000  # Fine-tuning length.

  c.selfcond = dict(
      # appearance (guide pixels pooled per token) | token (guide token ids).
      hint="appearance",
      hint_res=2,  # Appearance hints: guide pooled to r x r x 3 per token.
      hint_positions="edit",  # Hinted tokens: edit (all of E) | masked.
      p_hint=0.7,  # Hinted examples; the rest unhinted (hint dropout).
      edit_mask_min=0.5,  # Hinted: masked fraction of E >= this.
      outside_mask=0.0,  # Hinted: masked fraction outside E (x cosine).
      # .npz of precomputed (tokens, hints), pool_guides guides per train
      # image, built on first use from the npz train split ("" = simulate
      # every step).
      pool="",
      pool_guides=1,  # Simulated guides per training image in the pool.
      **train_common.stroke_fields(),
  )
  # SDEdit-style whole-image strokes or one superpixel in its mean colour
  # (no counterfactual recolours: their target does not show the paint).
  c.selfcond.simulator = "sdedit_inversion"
  return train_common.finish(c, preset or "imagenet256")
