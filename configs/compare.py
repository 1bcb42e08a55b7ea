r"""Config of benchmarks/compare.py: every method and ablation on the benchmark.

  python benchmarks/compare.py --config=configs/compare.py:emoji
  python benchmarks/compare.py --config=configs/compare.py:emoji \
      --config.quick=True                      # smoke test, seconds
  python benchmarks/compare.py --config=configs/compare.py:emoji \
      --config.only=sdedit,inpaint             # a subset of the entries

Entries (`methods` and `ablations`) are config-driven: each is a dict with
`method` (a registered editing method), optional `strengths` (else the
config's `strengths`), optional `kinds`/`limit` (benchmark subset; else
`ablation_kinds`/`ablation_limit` for ablations, all for methods) and any
field of configs/edit.py to override (num_iter, patch_local, ...; a method's
own options as a dict under its section name, e.g. sdedit=dict(remask=False)).
A new method (e.g. a baseline another module registers) is compared by
adding one entry here. Results are cached per (entry settings, strength) in
`runs_dir`: a rerun only computes what changed.
"""

import os

import ml_collections

from configs import edit as edit_config

_REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _entries(**kw) -> ml_collections.ConfigDict:
  return ml_collections.ConfigDict(kw)


def get_config(preset: str = "emoji") -> ml_collections.ConfigDict:
  preset = preset or "emoji"
  if preset != "emoji":
    raise ValueError(f"Unknown compare preset {preset!r}: 'emoji'.")
  c = ml_collections.ConfigDict()
  # The model and the default edit settings every entry starts from.
  c.edit = edit_config.get_config(preset)
  c.edit.progress = False
  c.benchmark = ml_collections.ConfigDict(dict(
      # .npz of maskgit.data.arrays (docs/model_card.md builds it).
      data=os.path.join(_REPO, "data/emoji64.npz"),
      split="test",  # The split that is edited (all 369 images).
      seed=0,  # Benchmark seed (maskgit_edit/benchmark_set.py).
      limit=0,  # First N images only (0 = all).
      out=os.path.join(_REPO, "data/benchmark/emoji"),  # Built once here.
  ))
  c.reference_split = "train"  # Real images that KID/FID compare against,
  c.reference_data = ""  # from this .npz ('' = benchmark.data).
  c.features_path = os.path.join(_REPO, "weights/emoji/features.msgpack")
  c.kid_subsets = 100  # KID rounds.
  c.kid_subset_size = 1000  # Features per round (capped by the set sizes).
  c.seed = 0  # Editing seed (chunk i uses seed * 100003 + i).
  c.num_samples = 1  # Samples per edit.
  # Time budget: the shared 2-core CPU edits ~1-15 images/s (batch of 32,
  # full image, 12 steps, depending on load), so the full run uses
  # documented subsets: methods on the first `method_limit` images of every
  # kind, ablations on the first `ablation_limit` local edits.
  c.batch_size = 32  # Edits per Editor call.
  c.method_limit = 32  # First N images of each kind (0 = all 369).
  c.strengths = (0.15, 0.3, 0.5)  # Method grid (inpaint = strength 1).
  c.kinds = ("local", "segment_inversion", "segment_counterfactual",
             "global")  # Benchmark kinds the methods run on.
  c.ablation_kinds = ("local",)
  c.ablation_limit = 32  # First N images of each kind (0 = all).
  c.ablation_strengths = (0.3,)
  # Kind of the headline table and plots: 'all_inversion' pools the local,
  # segment inversion and global edits (they have a truth).
  c.headline_kind = "all_inversion"
  # Matched comparisons: targets are the `anchor` entry's values at these
  # strengths (interpolated along each entry's curve).
  c.anchor = "sdedit"
  c.anchor_strengths = (0.3, 0.5)
  # Latency: compiled median over this many single local edits (batch 1, 1
  # sample), per entry at `latency_strength`.
  c.latency_edits = 3
  c.latency_strength = 0.5
  # Comma-separated entries to time ('' = all).
  c.latency_only = ("inpaint,context,self_fixed,sdedit,selfcond,"
                    "sdedit_patch_local,sdedit_patch_local_m0,"
                    "diffusion_sdedit,diffusion_ddim10,"
                    "diffusion_ddim50")
  c.methods = _entries(
      inpaint=dict(method="inpaint"),
      context=dict(method="context"),
      self_fixed=dict(method="self_fixed"),
      sdedit=dict(method="sdedit"),
      selfcond=dict(method="selfcond"),
      # SDEdit with the pixel diffusion baseline (baselines/sdedit; weights
      # from configs/edit.py: weights/emoji_diffusion), DDIM at 10 and 50
      # steps (SDEdit's own ancestral sampler is an ablation: 1000 UNet calls
      # per unit of strength do not fit the CPU budget on every kind).
      diffusion_ddim10=dict(method="diffusion_ddim",
                            diffusion=dict(num_steps=10)),
      diffusion_ddim50=dict(method="diffusion_ddim",
                            diffusion=dict(num_steps=50)),
  )
  c.ablations = _entries(
      sdedit_no_remask=dict(method="sdedit", sdedit=dict(remask=False)),
      sdedit_start0=dict(method="sdedit", start_iter=0),
      sdedit_start4=dict(method="sdedit", start_iter=4),
      sdedit_iter8=dict(method="sdedit", num_iter=8),
      sdedit_iter16=dict(method="sdedit", num_iter=16),
      sdedit_linear=dict(method="sdedit", schedule="linear"),
      sdedit_dilate1=dict(method="sdedit", dilation=1),
      diffusion_sdedit=dict(method="diffusion_sdedit"),  # Ancestral.
      sdedit_patch_local=dict(method="sdedit", patch_local=True),
      sdedit_patch_local_m0=dict(method="sdedit", patch_local=True,
                                 window_margin=0, decoder_margin=0),
      self_fixed_codebook=dict(method="self_fixed",
                               self_fixed=dict(kernel="codebook")),
      self_fixed_pilot=dict(method="self_fixed", self_fixed=dict(form="pilot")),
      self_fixed_scale3=dict(method="self_fixed", self_fixed=dict(scale=3.0)),
      # Hints only on still-masked tokens of E (default: all of E). The
      # selfcond strength curve is itself the guidance ablation: s = 0.5 is
      # the hinted model without guidance (w = 1), s < 0.5 guides (w > 1).
      selfcond_masked=dict(method="selfcond",
                           selfcond=dict(positions="masked")),
  )
  # Each ablation is compared with this entry (same strengths and subset).
  c.ablation_base = _entries(
      sdedit_no_remask="sdedit", sdedit_start0="sdedit",
      sdedit_start4="sdedit", sdedit_iter8="sdedit", sdedit_iter16="sdedit",
      sdedit_linear="sdedit", sdedit_dilate1="sdedit",
      diffusion_sdedit="diffusion_ddim50",
      sdedit_patch_local="sdedit", sdedit_patch_local_m0="sdedit",
      self_fixed_codebook="self_fixed",
      self_fixed_pilot="self_fixed", self_fixed_scale3="self_fixed",
      selfcond_masked="selfcond")
  c.only = ""  # Comma-separated entry names to run ('' = all).
  c.runs_dir = os.path.join(_REPO, "data/compare/emoji")  # Per-run cache.
  c.out_json = os.path.join(_REPO, "benchmarks/results/compare.json")
  c.out_doc = os.path.join(_REPO, "docs/comparisons.md")
  c.plots_dir = os.path.join(_REPO, "docs/images")
  # README sections Comparisons + Ablations between compare.py markers.
  c.readme = os.path.join(_REPO, "README.md")
  c.command = "python benchmarks/compare.py --config=configs/compare.py:emoji"
  c.progress = True
  # Only write the report from cached runs (nothing is edited or timed).
  c.report_only = False
  # Smoke mode: 4 images per kind, inpaint + sdedit at 2 strengths, one
  # ablation, 10 KID rounds, all outputs under quick_dir.
  c.quick = False
  c.quick_dir = os.path.join(_REPO, "outputs/compare_quick")
  return c
