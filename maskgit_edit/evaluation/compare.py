"""Two models on the evaluation protocol, entry by entry, paired.

`compare(config_a, config_b, names)`: each config is one model (its `edit`
paths and class count) with its own run cache. For G_E (which depends on the
tokenizer) and every method entry, each model is tuned on the validation
split and edits the test sample at its own kept strength, as
`runner.Evaluation.run` does (cached rows are reused); then each axis of B
minus A gets a paired image-bootstrap 95% interval over the same test images
(`analysis`'s resamples). Every axis is lower-is-better: an interval below 0
means B is better. CLI: benchmarks/compare_models.py.
"""

from __future__ import annotations

import sys

import numpy as np

from maskgit_edit.evaluation import analysis
from maskgit_edit.evaluation import runner
from maskgit_edit.evaluation import stats


def compare(config_a, config_b, names, skip=()) -> dict:
  """{'rows': {entry: {axis: {a, b, diff, verdict}}}, 'strength': ...}."""
  evs = [runner.Evaluation(c) for c in (config_a, config_b)]
  for ev in evs:
    ev.c.progress = False
  ea, eb = evs
  if [ea.bench.names[r] for r in ea.test_rows] != [
      eb.bench.names[r] for r in eb.test_rows]:
    raise ValueError("A and B do not edit the same test sample (benchmark, "
                     "data or sample settings differ).")
  test = ea.test_rows
  kinds = np.asarray([ea.bench.kinds[r] for r in test])
  ids = np.asarray([ea.bench.ids[r] for r in test])
  res = analysis._Resamples(kinds, ids, int(config_a.num_bootstrap), 0)  # pylint: disable=protected-access
  axes = {a: (m, tuple(k for k in ks if k in res.pos))
          for a, (m, ks) in runner.AXES.items()}
  out = {"names": list(names), "strength": {}, "rows": {}}
  todo = [runner.G_E] + [e for e in ea.methods if e.name not in skip]
  for entry in todo:
    built, kept = [], []
    for ev in evs:
      e = next((m for m in ev.methods if m.name == entry.name), entry)
      s = ev.kept_strength(e)
      print(f"{entry.name}: {names[len(built)]} at strength {s}",
            file=sys.stderr)
      built.append(analysis._Row(ev.test_row(e, s), res, ev.ref_feats))  # pylint: disable=protected-access
      kept.append(s)
    out["strength"][entry.name] = kept
    row = {}
    for a, ax in axes.items():
      (va, ra), (vb, rb) = (analysis._axis(r, res, ax) for r in built)  # pylint: disable=protected-access
      iv = stats.interval(vb - va, rb - ra)
      row[a] = dict(a=va, b=vb, diff=iv.as_list(),
                    verdict={"tie": "tie", "-": "better",
                             "+": "worse"}[iv.verdict])
    out["rows"][entry.name] = row
  return out


def markdown(summary: dict) -> str:
  a, b = summary["names"]
  lines = [f"| entry | strength {a} / {b} | axis | {a} | {b} | "
           f"{b} - {a} [95%] | {b} is |", "|---|---|---|---|---|---|---|"]
  for name, row in summary["rows"].items():
    sa, sb = summary["strength"][name]
    for axis, v in row.items():
      d = v["diff"]
      lines.append(f"| {name} | {sa:g} / {sb:g} | {axis} | {v['a']:.2f} | "
                   f"{v['b']:.2f} | {d[0]:+.2f} [{d[1]:+.2f}, {d[2]:+.2f}]"
                   f" | {v['verdict']} |")
  return "\n".join(lines)
