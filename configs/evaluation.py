r"""Config of benchmarks/evaluate.py: the evaluation protocol.

  python benchmarks/evaluate.py --config=configs/evaluation.py:emoji
  python benchmarks/evaluate.py --config=configs/evaluation.py:quick  # tests
  python benchmarks/evaluate.py --config=configs/evaluation.py:emoji \
      --config.full=True            # every image of every kind (see docs)

Protocol (maskgit_edit/evaluation/__init__.py has the whole story): every
tuned setting (a method's strength) is chosen on the VALIDATION split on a
grid, by the mean perceptual distance to the truth over the restore kinds;
the TEST split is edited once per seed at that setting, on a seeded random
sample of distinct images per kind; every number has a paired
image-bootstrap 95% interval, and every method is compared with the
`compare_to` references (better / tie / worse).

`methods` entries: `method` (a registered method), optional `strengths` (the
validation grid; one value = fixed, no tuning) and any field of
configs/edit.py to override (a method's own options as a dict under its
section, e.g. sdedit=dict(remask=False)). `ablations` run one change of a
method at that method's tuned strength on the test sample of
`ablation_kind`, one seed, compared pairwise with the method.
"""

import os

import ml_collections

from configs import edit as edit_config

_REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# The validation grid of strength-tuned methods: wide enough to bracket the
# optimum (0 is G_E itself, a reference row).
GRID = (0.02, 0.05, 0.1, 0.2, 0.35, 0.5, 0.7)


def get_config(preset: str = "emoji") -> ml_collections.ConfigDict:
  preset = preset or "emoji"
  if preset not in ("emoji", "quick"):
    raise ValueError(f"Unknown evaluation preset {preset!r}: emoji or "
                     "quick.")
  c = ml_collections.ConfigDict()
  # The model and the edit settings every entry starts from.
  c.edit = edit_config.get_config("emoji")
  c.edit.progress = False
  c.data = os.path.join(_REPO, "data/emoji64.npz")  # docs/model_card.md.
  c.splits_path = ""  # Evaluation splits file ("" = <data>_eval.npz).
  c.benchmark_dir = os.path.join(_REPO, "data/benchmark/emoji_v2")
  c.benchmark_seed = 0  # maskgit_edit/evaluation/benchmark_set.py.
  c.benchmark_limit = 0  # Build from the first N images per split (tests).
  c.features_path = os.path.join(_REPO, "weights/emoji/features.msgpack")
  c.reference_limit = 0  # Reference images for KID (0 = the whole split).
  # ---- Samples: seeded random, distinct images per kind (never first N).
  c.images_per_kind = 128  # Test images per kind (0 = all of them).
  c.val_images_per_kind = 64  # Validation images per restore kind.
  c.full = False  # True: every val and test image (overrides the two).
  c.sample_seed = 0
  c.seeds = (0, 1, 2)  # Editing seeds of every test row.
  c.batch_size = 32  # Edits per call (through the batch loop).
  c.num_bootstrap = 1000  # Image resamples per interval.
  # ---- Tuning on validation.
  c.tune_metric = "perceptual"  # metrics.METRICS name, lower is better.
  # ---- Entries.
  c.methods = ml_collections.ConfigDict(dict(
      inpaint=dict(method="inpaint"),
      sdedit=dict(method="sdedit", strengths=GRID),
      selfcond=dict(method="selfcond", strengths=GRID),
      self_fixed=dict(method="self_fixed", strengths=GRID),
      # Best of 4 samples by the critic (maskgit_edit/rerank.py; ~4x the
      # method's cost). On 48 val images with the new feature network
      # (benchmarks/results/rerank_val*.json, docs/editing.md): sdedit's at
      # s = 0.05 is better than sdedit and than G_E on perceptual (-1.45
      # [-2.54, -0.37] vs G_E), KID a tie; selfcond's at s = 0.2 better than
      # selfcond, a tie with G_E.
      sdedit_rerank4=dict(method="sdedit", strengths=(0.02, 0.05, 0.1, 0.2),
                          rerank=dict(num_candidates=4)),
      selfcond_rerank4=dict(method="selfcond",
                            strengths=(0.05, 0.1, 0.2, 0.35),
                            rerank=dict(num_candidates=4)),
      diffusion_ddim10=dict(method="diffusion_ddim", strengths=GRID,
                            diffusion=dict(num_steps=10)),
  ))
  # References: the verdict columns (better / tie / worse against these).
  c.compare_to = ("noop", "g_e", "sdedit")
  c.ablations = ml_collections.ConfigDict(dict(
      sdedit_no_remask=dict(base="sdedit", sdedit=dict(remask=False)),
      sdedit_patch_local=dict(base="sdedit", patch_local=True),
      selfcond_masked=dict(base="selfcond", selfcond=dict(positions="masked")),
      # The critic without its realism term (faithfulness only).
      selfcond_rerank4_no_realism=dict(
          base="selfcond_rerank4",
          rerank=dict(num_candidates=4, realism_weight=0.0)),
  ))
  c.ablation_kind = "local"
  # ---- Latency at the tuned strength: batch 1 and batched.
  c.latency_edits = 24  # Timed single edits (after one warm-up).
  c.latency_batch = 32  # Batch size of the batched timing.
  c.latency_batches = 2  # Timed batches.
  # ---- Outputs.
  c.runs_dir = os.path.join(_REPO, "data/evaluation/emoji")  # Run cache.
  c.out_json = os.path.join(_REPO, "benchmarks/results/evaluation.json")
  c.out_doc = os.path.join(_REPO, "docs/comparisons.md")
  c.plots_dir = os.path.join(_REPO, "docs/images")
  c.readme = os.path.join(_REPO, "README.md")  # Between evaluation markers.
  c.command = "python benchmarks/evaluate.py --config=configs/evaluation.py:emoji"
  c.progress = True
  if preset == "quick":
    # Seconds-scale smoke run on the committed slices (the test suite).
    c.data = ",".join(os.path.join(_REPO, "tests/data", f) for f in (
        "emoji_train_slice.npz", "emoji_test_slice.npz"))
    c.splits_path = os.path.join(_REPO, "outputs/eval_quick/splits.npz")
    c.benchmark_dir = os.path.join(_REPO, "outputs/eval_quick/benchmark")
    c.benchmark_limit = 6
    c.images_per_kind = 4
    c.val_images_per_kind = 4
    c.seeds = (0, 1)
    c.batch_size = 4
    c.num_bootstrap = 100
    c.edit.num_iter, c.edit.start_iter = 4, 1
    c.methods = ml_collections.ConfigDict(dict(
        inpaint=dict(method="inpaint"),
        sdedit=dict(method="sdedit", strengths=(0.2, 0.5)),
    ))
    c.ablations = ml_collections.ConfigDict(dict(
        sdedit_no_remask=dict(base="sdedit", sdedit=dict(remask=False))))
    c.latency_edits, c.latency_batch, c.latency_batches = 2, 2, 1
    c.runs_dir = os.path.join(_REPO, "outputs/eval_quick/runs")
    c.out_json = os.path.join(_REPO, "outputs/eval_quick/evaluation.json")
    c.out_doc = os.path.join(_REPO, "outputs/eval_quick/comparisons.md")
    c.plots_dir = os.path.join(_REPO, "outputs/eval_quick/images")
    c.readme = ""
    c.command = ("python benchmarks/evaluate.py "
                 "--config=configs/evaluation.py:quick")
  return c
