"""The evaluation protocol: evidence that survives a careful reviewer.

    python benchmarks/evaluate.py --config=configs/evaluation.py:emoji

Modules (each holds one thing):
  splits         fit / reference / val / test splits of the dataset, by
                 code point.
  strokes        simulated user strokes (SDEdit's painting, the pilot's
                 segments).
  benchmark_set  the frozen benchmark: restore kinds (local, segment,
                 global: the input holds a distractor where the paint
                 describes the truth) and recolour (no truth).
  features       the feature network (realism head + groups), its
                 degradations and the sanity suite the features must pass.
  perceptual     the LPIPS-style distance on that network, calibrated.
  metrics        the metric table (`METRICS`: name, formula, direction,
                 what games it) and the formulas; KID/FID.
  stats          paired image-bootstrap intervals, KID resampling.
  runner         tune on val, edit test (through the batch loop), cache.
  analysis       intervals, comparisons with the references, the summary.
  report         docs/comparisons.md, plots, the README section.
  sheets         blind pairwise contact sheets for a person to judge.
"""
