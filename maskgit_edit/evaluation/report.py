"""The evaluation's report: docs/comparisons.md, plots and the README part.

Everything here is written from the summary dictionary
(`analysis.summarize`): the numbers, the dataset facts, the machine, the
metric definitions (`metrics.METRICS`) and the settings. A new metric or
axis appears in every table without touching this module.
"""

from __future__ import annotations

import os

import numpy as np

from maskgit import io_utils

BEGIN = "<!-- evaluate.py:begin (generated; do not edit) -->"
END = "<!-- evaluate.py:end -->"
AXIS_TEXT = {
    "faithfulness": "faithfulness to the paint",
    "truth": "closeness to the truth (perceptual)",
    "realism": "realism (KID x1e3)",
    "seam": "seam",
}


def _iv(v, fmt: str = "{:.2f}") -> str:
  """'value [lo, hi]'."""
  if v is None:
    return "-"
  a, lo, hi = v
  f = lambda x: fmt.format(x)
  return f"{f(a)} [{f(lo)}, {f(hi)}]"


def _row_label(s: dict, name: str) -> str:
  if name in s["references"]:
    return f"*{s['references'][name]}*"
  e = s["entries"][name]
  tuned = " (tuned)" if e["tuned"] else ""
  return f"{name}, s={e['strength']:g}{tuned}"


def _rows(s: dict) -> list[str]:
  return list(s["references"]) + list(s["entries"])


def _fmt_axis(axis: str) -> str:
  return "{:.2f}" if axis in ("realism", "seam") else "{:.1f}"


def headline_table(s: dict) -> list[str]:
  axes = list(s["axes"])
  head = ["row"] + [AXIS_TEXT.get(a, a) for a in axes] + [
      "latency ms (batch 1)", "ms/edit (batched)"]
  lines = ["| " + " | ".join(head) + " |",
           "|" + "---|" * len(head)]
  for name in _rows(s):
    t = s["table"][name]["axes"]
    lat = s["latency"].get(name, {})
    b1 = lat.get("batch1", {})
    bb = lat.get("batched", {})
    cells = [_row_label(s, name)] + [_iv(t[a], _fmt_axis(a)) for a in axes]
    cells += [f"{b1['median_ms']:.0f}" if b1 else "-",
              f"{bb['ms_per_edit']:.0f} (batch {bb['batch']})" if bb
              else "-"]
    lines.append("| " + " | ".join(cells) + " |")
  return lines


def verdict_table(s: dict) -> list[str]:
  axes = list(s["axes"])
  refs = s["settings"]["compare_to"]
  head = ["row", "vs"] + [AXIS_TEXT.get(a, a) for a in axes]
  lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
  for name in s["entries"]:
    for ref in refs:
      cmp_ = s["compare"].get(name, {}).get(ref)
      if not cmp_:
        continue
      cells = [name, ref]
      for a in axes:
        d = cmp_[a]
        cells.append(f"**{d['verdict']}** {_iv(d['diff'], _fmt_axis(a))}")
      lines.append("| " + " | ".join(cells) + " |")
  return lines


def verdict_sentences(s: dict) -> list[str]:
  """One line per method: better / tie / worse against each reference."""
  out = []
  for name in s["entries"]:
    parts = []
    for ref, cmp_ in s["compare"].get(name, {}).items():
      groups = {}
      for a, d in cmp_.items():
        groups.setdefault(d["verdict"], []).append(AXIS_TEXT.get(a, a))
      text = "; ".join(f"{v} on {', '.join(axes)}" for v, axes in
                       sorted(groups.items()))
      parts.append(f"vs {ref}: {text}")
    out.append(f"* **{name}** (strength {s['entries'][name]['strength']:g})"
               f" - " + " | ".join(parts) + ".")
  return out


def kind_tables(s: dict) -> list[str]:
  names = [m["name"] for m in s["metrics"]]
  labels = {m["name"]: m["label"] for m in s["metrics"]}
  out = []
  kinds = list(next(iter(s["table"].values()))["per_kind"])
  for kind in kinds:
    n = s["facts"]["test_images_per_kind"].get(kind)
    out += [f"### {kind} ({n} test images)", ""]
    cols = [m for m in names if any(
        m in s["table"][r]["per_kind"][kind] for r in _rows(s))] + ["kid"]
    head = ["row"] + [labels.get(m, "KID x1e3") for m in cols]
    out += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in _rows(s):
      pk = s["table"][r]["per_kind"][kind]
      cells = [_row_label(s, r)]
      for m in cols:
        v = pk.get(m)
        if m == "max_change_outside" and v is not None:
          cells.append(f"{v[0]:.0f}")
        else:
          cells.append(_iv(v, "{:.2f}" if m in ("kid", "seam")
                           else "{:.1f}"))
      out.append("| " + " | ".join(cells) + " |")
    out.append("")
  return out


def tuning_table(s: dict) -> list[str]:
  metric = s["settings"]["tune_metric"]
  out = []
  for name, t in s["tuning"].items():
    vals = ", ".join(f"{st:g}: {c[metric]:.2f}"
                     for st, c in zip(t["strengths"], t["curve"]))
    edge = (" **at the edge of the grid**" if t["at_edge"] else "")
    out.append(f"* {name}: {vals} -> kept {t['chosen']:g}{edge}.")
  return out


def ablation_table(s: dict) -> list[str]:
  if not s["ablations"]:
    return []
  metric_cols = ["stroke", "perceptual", "seam", "kid"]
  head = ["ablation", "of", "strength", "images"] + metric_cols
  out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
  for name, a in s["ablations"].items():
    cells = [name, a["base"], f"{a['strength']:g}", str(a["images"])]
    for m in metric_cols:
      d = a["diffs"].get(m)
      cells.append("-" if d is None else
                   f"{d['verdict']} {_iv(d['diff'])} (base {d['base']:.2f})")
    out.append("| " + " | ".join(cells) + " |")
  return out


def sanity_lines(s: dict) -> list[str]:
  san = s["sanity"]
  o = san["originals"]
  lines = [f"Feature sanity suite (`features.sanity`, {san['num_images']} "
           f"test images vs {san['num_reference']} reference images; KID "
           f"x1e3): originals {o['kid']:.2f} [{o['ci'][0]:.2f}, "
           f"{o['ci'][1]:.2f}]; "
           + "; ".join(f"{fam} " + ", ".join(
               f"{u:g}: {k:.1f}" for u, k in zip(d["strengths"], d["kid"]))
                       for fam, d in san.items()
                       if isinstance(d, dict) and "strengths" in d)
           + (". Passed." if san["passed"] else
              ". FAILED: " + "; ".join(san["failures"]) + ".")]
  return lines


def metric_lines(s: dict) -> list[str]:
  out = ["| metric | axis | definition (lower is better) | gamed by |",
         "|---|---|---|---|"]
  for m in s["metrics"]:
    out.append(f"| {m['label']} | {m['axis']} | {m['formula']}"
               f"{' (restore kinds only)' if m['truth_only'] else ''} | "
               f"{m['gamed_by']} |")
  out.append("| KID x1e3 | realism | unbiased MMD^2, kernel (x.y/d + 1)^3, "
             "of the feature network's features of the outputs vs the "
             "reference images, per kind | the no-op (real images) |")
  return out


def protocol_lines(s: dict) -> list[str]:
  f, st = s["facts"], s["settings"]
  per_kind = ", ".join(f"{k} {n}" for k, n in
                       f["test_images_per_kind"].items())
  val = ", ".join(f"{k} {n}" for k, n in f["val_images_per_kind"].items())
  return [
      f"`{s['command']}` ({s['machine']}; {s['date']}; "
      f"{s['wall_minutes']} min).",
      "",
      f"* Data: {f['dataset']}, {f['classes']} classes; evaluation splits "
      + ", ".join(f"{k} {n}" for k, n in f["splits"].items())
      + f" images (by code point). Benchmark: {f['benchmark_edits']} edits "
      f"(seed {st['benchmark_seed']}).",
      f"* Test sample (seeded random, distinct images per kind): {per_kind};"
      f" {f['distinct_test_images']} distinct images. Validation sample: "
      f"{val}. Seeds per test row: {len(st['seeds'])} "
      f"({', '.join(map(str, st['seeds']))}); deterministic references: 1.",
      f"* Strengths tuned on validation by mean {st['tune_metric']}; "
      f"intervals: paired image bootstrap, {st['num_bootstrap']} "
      "resamples, 95%; a difference whose interval holds 0 is a tie.",
      f"* Model: {os.path.basename(st['tokenizer'])} + "
      f"{os.path.basename(st['transformer'])}, {st['num_iter']} steps, "
      f"feather {st['feather']} px; KID reference: "
      f"{f['reference_images']} real images.",
  ]


def axes_plot(s: dict, path: str) -> str:
  import matplotlib  # pylint: disable=g-import-not-at-top
  matplotlib.use("Agg")
  import matplotlib.pyplot as plt  # pylint: disable=g-import-not-at-top
  axes = list(s["axes"])
  rows = _rows(s)
  fig, ax = plt.subplots(1, len(axes), figsize=(4 * len(axes), 0.5 * len(
      rows) + 1.2), sharey=True)
  for a, sub in zip(axes, np.atleast_1d(ax)):
    for i, r in enumerate(rows):
      v, lo, hi = s["table"][r]["axes"][a]
      color = "grey" if r in s["references"] else "C0"
      sub.errorbar(v, i, xerr=[[v - lo], [hi - v]], fmt="o", color=color,
                   capsize=3)
    sub.set_title(AXIS_TEXT.get(a, a) + " (lower is better)", fontsize=9)
    sub.grid(axis="x", alpha=0.3)
  np.atleast_1d(ax)[0].set_yticks(range(len(rows)))
  np.atleast_1d(ax)[0].set_yticklabels(rows)
  fig.tight_layout()
  with io_utils.atomic_write(path) as f:
    fig.savefig(f, format="png", dpi=110)
  plt.close(fig)
  return path


def tuning_plot(s: dict, path: str) -> str | None:
  if not s["tuning"]:
    return None
  import matplotlib  # pylint: disable=g-import-not-at-top
  matplotlib.use("Agg")
  import matplotlib.pyplot as plt  # pylint: disable=g-import-not-at-top
  metric = s["settings"]["tune_metric"]
  fig, ax = plt.subplots(figsize=(6, 4))
  for name, t in s["tuning"].items():
    ax.plot(t["strengths"], [c[metric] for c in t["curve"]], "o-",
            label=name)
    ax.axvline(t["chosen"], color=ax.lines[-1].get_color(), alpha=0.3)
  ax.set_xlabel("strength")
  ax.set_ylabel(f"validation mean {metric}")
  ax.legend(fontsize=8)
  ax.grid(alpha=0.3)
  fig.tight_layout()
  with io_utils.atomic_write(path) as f:
    fig.savefig(f, format="png", dpi=110)
  plt.close(fig)
  return path


def write(s: dict, config) -> list[str]:
  """Writes the plots, the doc and the README part; returns the paths."""
  os.makedirs(config.plots_dir, exist_ok=True)
  prefix = "eval_"
  paths = [axes_plot(s, os.path.join(config.plots_dir, prefix + "axes.png"))]
  tp = tuning_plot(s, os.path.join(config.plots_dir, prefix + "tuning.png"))
  if tp:
    paths.append(tp)
  rel = lambda p: os.path.relpath(p, os.path.dirname(os.path.abspath(
      config.out_doc)))
  doc = (["# Comparisons: the evaluation protocol", ""]
         + protocol_lines(s) + ["", "## Headline (test split)", ""]
         + headline_table(s)
         + ["", f"![axes]({rel(paths[0])})", "",
            "## Against the references", ""] + verdict_table(s)
         + [""] + verdict_sentences(s)
         + ["", "## Tuning (validation split)", ""] + tuning_table(s)
         + ([f"![tuning]({rel(paths[1])})"] if tp else [])
         + ["", "## Per kind", ""] + kind_tables(s)
         + ["## Ablations", ""] + ablation_table(s)
         + ["", "## Feature network", ""] + sanity_lines(s)
         + ["", "## Metrics", ""] + metric_lines(s) + [""])
  with io_utils.atomic_write(config.out_doc, "w") as f:
    f.write("\n".join(doc))
  paths.append(config.out_doc)
  if config.readme:
    update_readme(s, config.readme, paths[0])
  return paths


def readme_section(s: dict, axes_png: str, readme: str) -> list[str]:
  rel = os.path.relpath(axes_png, os.path.dirname(os.path.abspath(readme)))
  return ([BEGIN, "## Comparisons", ""] + protocol_lines(s)
          + [""] + headline_table(s) + [""] + verdict_sentences(s)
          + ["", f"![axes]({rel})", "",
             "Per kind, tuning curves, ablations, the feature network's "
             "sanity suite and the metric definitions: "
             "[docs/comparisons.md](docs/comparisons.md).", END])


def update_readme(s: dict, readme: str, axes_png: str) -> bool:
  with open(readme) as f:
    text = f.read()
  if BEGIN not in text or END not in text:
    return False
  head, rest = text.split(BEGIN, 1)
  _, tail = rest.split(END, 1)
  with io_utils.atomic_write(readme, "w") as f:
    f.write(head + "\n".join(readme_section(s, axes_png, readme)) + tail)
  return True
