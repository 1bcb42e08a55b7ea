r"""Config of sample_edit.py: guided editing of a folder or manifest of edits.

    python sample_edit.py          # the bundled examples, embedded model
    python sample_edit.py --config.inputs=DIR --config.output_dir=out \
      --config.method=sdedit --config.strength=0.5
    python sample_edit.py --config=configs/edit.py:imagenet256 \
      --config.tokenizer_path=T --config.transformer_path=M ...

The argument after ':' is a model preset (configs/models.py), default
'emoji': the embedded model in weights/emoji (docs/model_card.md), editing
examples/edits.jsonl with the default method and strength. Other presets
start with empty model paths = a RANDOMLY INITIALISED model (clearly labelled
in the log and the JSON record; outputs are noise; tests use 'tiny').
"""

import os

import ml_collections

from configs import models
from maskgit import embedded

_REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def get_config(preset: str = "emoji") -> ml_collections.ConfigDict:
  preset = preset or "emoji"
  c = ml_collections.ConfigDict()
  c.model = models.get_config(preset)  # Architecture (configs/models.py).
  # ---- Model source (official msgpack format). Empty = random weights.
  c.tokenizer_path = ""
  c.transformer_path = ""
  # Self-conditioned transformer for method=selfcond (its hint kind, token
  # table or appearance projection, is read from the file). Empty: the base
  # transformer if it is hinted, else a zero hint table (= inpaint).
  c.selfcond_transformer_path = ""
  c.selfcond_num_hint_codes = 0  # 0 = num_codes.
  c.random_init_seed = 0  # Seed of the random weights when no paths given.
  # ---- Inputs: a folder (NAME.png + NAME.guide.png [+ NAME.mask.png]) or a
  # JSONL manifest (one {"image", "guide", ["mask"], ["label"], ["name"]} per
  # line; relative paths are relative to the manifest).
  c.inputs = ""
  c.label = 0  # Default class label (a manifest line may override it).
  # Resize inputs to model.image_size. False: images of any size are edited
  # in model-size windows around the edit (maskgit_edit/anysize.py: native
  # scale when the edit plus margins fits a window, else a downscaled
  # context window pasted back around E only); outputs have the input's size.
  c.resize = False
  c.window_context = 8  # Px of image context around E's feather band.
  # Outpainting: extend every image by N px on the given sides, e.g.
  # "left:32,right:32" (sides: left, right, top, bottom); "" = off. The new
  # area is filled window by window (known pixels bit-identical); the item's
  # paint, if any, is edited first. With outpainting a guide identical to
  # its image (no mask) is allowed: the item is only outpainted.
  c.outpaint = ""
  c.outpaint_strength = 1.0  # Strength of the outpainting edits (1 = inpaint).
  # ---- Editing.
  # A registered method (maskgit_edit/methods: inpaint, context, self_fixed,
  # self_learned, sdedit, selfcond) or a plug-in's (diffusion_sdedit,
  # diffusion_ddim).
  c.method = "sdedit"
  c.strength = 0.5  # In [0, 1]: 0 = the guide tokens, 1 = inpaint.
  c.num_samples = 4  # Samples per edit.
  # Items edited per call (outputs are identical to one at a time; larger
  # batches give more edits/s, benchmarks/bench_batch.py).
  c.batch_size = 8
  # Split each batch over this process's devices (a 1-D mesh 'data';
  # batches are padded to a multiple of the device count; outputs are
  # identical to one device). Several hosts: sample_edit.py --distributed,
  # docs/batch.md.
  c.data_parallel = True
  c.write_queue = 8  # Items written on a background thread (0 = inline).
  c.seed = 0
  c.num_iter = 12  # Schedule length (steps).
  c.start_iter = 2  # First step (as the pilot and box editing).
  c.choice_temperature = 4.5
  c.schedule = "cosine"
  c.dilation = 0  # Dilate E by this many tokens.
  c.feather = 8  # Feather radius in pixels (pixels beyond are unchanged).
  c.patch_local = False  # Transformer + tokenizer on a window around E.
  c.window_margin = 1  # Tokens of transformer context around E.
  c.decoder_margin = 1  # Tokens of tokenizer context around the window.
  # ---- Best-of-N reranking of any token method (maskgit_edit/rerank.py,
  # docs/editing.md): N candidates per sample in one batch, keep the one
  # with the lowest (1 - strength) * faithfulness + realism_weight *
  # realism. N = 1 is off (the method bit for bit).
  c.rerank = ml_collections.ConfigDict()
  c.rerank.num_candidates = 1  # N candidates per sample.
  # lambda: 8-bit levels of blurred guide RMSE per nat of the transformer's
  # mean token NLL in E (0 = faithfulness only).
  c.rerank.realism_weight = 1.0
  c.rerank.blur_sigma = 2.0  # px, Gaussian blur of the faithfulness term.
  # ---- Each method's own options: a sub-section named after the method
  # (maskgit_edit/samplers/<method>.py, class Options; docs/editing.md).
  # Methods without options (inpaint, context) have no section.
  c.self_fixed = ml_collections.ConfigDict()
  c.self_fixed.kernel = "appearance"  # appearance or codebook.
  c.self_fixed.form = "poe"  # poe (product of experts) or pilot.
  c.self_fixed.scale = 1.0  # Product-of-experts lambda at strength 0.5.
  c.self_fixed.sigma = 0.1  # Appearance kernel colour tolerance.
  c.self_fixed.res = 2  # Low-res appearance grid per token.
  # Code-appearance table (.npz, scripts/code_appearance.py); '' = the
  # embedded model's when it fits the tokenizer, else codes decoded alone.
  c.self_fixed.table = ""
  c.self_learned = ml_collections.ConfigDict()
  # Learned kernel .npy float32 [C, C] of log-affinities (configs/
  # guidance_kernel.py exports one).
  c.self_learned.kernel = ""
  c.self_learned.form = "poe"  # poe or pilot.
  c.self_learned.scale = 1.0
  c.sdedit = ml_collections.ConfigDict()
  c.sdedit.remask = True  # Unlikely guide tokens may be re-masked.
  # Critic-guided re-masking (maskgit_edit/samplers/critic.py): weight of
  # the tokens' agreement with the guide in the re-masking choice (0 = off)
  # and its colour tolerance.
  c.sdedit.critic = 0.0
  c.sdedit.critic_sigma = 0.1
  c.selfcond = ml_collections.ConfigDict()
  c.selfcond.positions = "edit"  # Hints on all of E (edit) or masked only.
  c.selfcond.critic = 0.0  # As sdedit.critic.
  c.selfcond.critic_sigma = 0.1
  # ---- Plug-in modules that register more methods on import
  # (maskgit_edit/methods).
  c.plugins = ("baselines.sdedit",)  # diffusion_sdedit, diffusion_ddim.
  # SDEdit with a pixel diffusion model (baselines/sdedit, its model card
  # docs/diffusion_card.md): diffusion_sdedit = ancestral (one UNet call per
  # 1/1000 of strength), diffusion_ddim = DDIM in num_steps steps.
  c.diffusion = ml_collections.ConfigDict()
  # Exported diffusion.msgpack; "" = random weights. The emoji preset uses
  # the shipped baseline (weights/emoji_diffusion, docs/diffusion_card.md).
  c.diffusion.weights = (
      os.path.join(_REPO, "weights/emoji_diffusion/diffusion.msgpack")
      if preset == "emoji" else "")
  c.diffusion.model = "tiny" if preset == "tiny" else "emoji"  # Preset of
  # configs/diffusion.py (its image_size must equal model.image_size).
  c.diffusion.num_steps = 50  # DDIM steps (diffusion_ddim).
  c.diffusion.repeats = 1  # SDEdit's K: perturb-denoise passes.
  c.diffusion.masked = True  # Re-noise the original outside every step.
  # ---- Sweep: non-empty lists run every method x strength in one process
  # (each method compiles once per shape; strengths never recompile).
  c.sweep = ml_collections.ConfigDict()
  c.sweep.methods = ()  # e.g. ("sdedit", "self_fixed"); () = (method,).
  c.sweep.strengths = ()  # e.g. (0.25, 0.5, 0.75); () = (strength,).
  # ---- Output / run control.
  c.output_dir = "outputs/edit"
  c.overwrite = False  # Redo items whose record.json exists.
  c.keep_going = False  # Continue past a bad item; summary at the end.
  c.progress = True  # Progress bar on stderr.
  c.compilation_cache = "~/.cache/maskgit_edit/jax"  # '' = off.
  c.summary_grid = True  # Also write OUT/<run>/grid.png: one row per item.
  if preset == "emoji":
    # The embedded model: one hinted transformer serves every method (hint
    # id -1 = plain MaskGIT), so selfcond needs no second file.
    c.model = embedded.config()  # Hint table and class count of the files.
    c.tokenizer_path = embedded.TOKENIZER_PATH
    c.transformer_path = embedded.TRANSFORMER_PATH
    c.diffusion.weights = os.path.join(
        _REPO, "weights/emoji_diffusion/diffusion.msgpack")
    c.inputs = os.path.join(_REPO, "examples/edits.jsonl")
    c.output_dir = "outputs"
    # The default for hand-painted edits: sdedit follows the paint (removals
    # included); 0.3 trades some faithfulness for realism. The evaluation's
    # best on restoring known truths is selfcond at 0.35 with
    # rerank.num_candidates=4 (README, docs/comparisons.md).
    c.method = "sdedit"
    c.strength = 0.3
  return c
