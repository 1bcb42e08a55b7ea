"""docs/comparisons.md and the plots, from the summary of `compare.run`.

Only numbers from the summary (measured by the run) appear; nothing is
typed in by hand.
"""

from __future__ import annotations

import math
import os

KIND_TITLES = {
    "all_inversion": "all inversion edits (local + segment inversion + "
                     "global)",
    "local": "local strokes (10-40% rectangle)",
    "segment_inversion": "segment inversion",
    "segment_counterfactual": "segment counterfactual",
    "global": "global strokes (SDEdit protocol)",
}


def _f(x, fmt="{:.1f}") -> str:
  if x is None or (isinstance(x, float) and math.isnan(x)):
    return "-"
  return fmt.format(x)


def _kid(x, std=None) -> str:
  """KID in units of 1e-3."""
  if x is None:
    return "-"
  if std is None:
    return f"{x * 1e3:.1f}"
  return f"{x * 1e3:.1f} ± {std * 1e3:.1f}"


def _load_note(summary) -> str:
  loads = [r["load_average"][0] for r in summary["runs"]
           if r.get("load_average")]
  if not loads:
    return ""
  cores = os.cpu_count() or 1
  if max(loads) <= cores + 0.5:  # Only this run's own threads.
    return (f" The machine was otherwise idle (1-minute load average "
            f"{min(loads):.1f}-{max(loads):.1f} on its {cores} cores, this "
            "run included).")
  return (f" The machine was shared: 1-minute load average {min(loads):.0f}"
          f"-{max(loads):.0f} on its {cores} cores during the runs, so every "
          "time below is several times what an idle machine gives (see "
          "[benchmarks.md](benchmarks.md) for idle latencies); quality "
          "numbers do not depend on load.")


def _subset_note(summary) -> list[str]:
  kind = summary["headline_kind"]
  orig = summary["references"].get("originals", {}).get(kind)
  if not summary.get("method_limit") or orig is None:
    return []
  rt = summary["real_test_vs_reference"]
  return [
      f"* **Caveat**: the subset is the first {summary['method_limit']} test "
      "images in id order, not a random sample, and KID on ~100 images has "
      f"a std near 1e-2: the unedited originals of this subset score KID "
      f"{_kid(orig['kid'], orig['kid_std'])} x1e-3 against the train split "
      f"(all 369 test images: {_kid(rt['kid'], rt['kid_std'])}). Compare "
      "KIDs with each other and with that row, not with 0."]


def _run(summary, name, strength):
  for r in summary["runs"]:
    if r["entry"] == name and abs(r["strength"] - strength) < 1e-9:
      return r
  return None


def _flat(overrides: dict) -> list[str]:
  out = []
  for k, v in sorted(overrides.items()):
    if isinstance(v, dict):
      out += [f"{k}.{a}={b}" for a, b in sorted(v.items())]
    else:
      out.append(f"{k}={v}")
  return out


def _entry_label(e) -> str:
  if e["overrides"]:
    ov = ", ".join(_flat(e["overrides"]))
    return f"{e['name']} ({e['method']}: {ov})"
  return e["name"]


def _lat_ms(e) -> str:
  lat = e.get("latency") or {}
  return _f(lat.get("median_s") and lat["median_s"] * 1e3, "{:.0f}")


def _best_rows(summary, kind):
  """[(entry, best-strength row)] of the methods for `kind`."""
  out = []
  for e in summary["entries"]:
    if e["group"] != "method" or e["best_strength"] is None:
      continue
    r = _run(summary, e["name"], e["best_strength"])
    if r is not None and kind in r["per_kind"]:
      out.append((e, r["per_kind"][kind]))
  return out


def findings(summary) -> list[str]:
  """Plain statements computed from the numbers (no hand-typed values)."""
  kind = summary["headline_kind"]
  rows = _best_rows(summary, kind)
  if not rows:
    return []
  lines = []
  by_truth = sorted(rows, key=lambda x: x[1].get("truth_rmse_mask", 1e9))
  e, r = by_truth[0]
  lines.append(
      f"* Lowest RMSE to the true image ({KIND_TITLES.get(kind, kind)}): "
      f"**{e['name']}** at strength {e['best_strength']:g} "
      f"({r['truth_rmse_mask']:.1f} levels; next: " + ", ".join(
          f"{x['name']} {y['truth_rmse_mask']:.1f}" for x, y in
          by_truth[1:]) + ").")
  by_kid = sorted(rows, key=lambda x: x[1]["kid"])
  e, r = by_kid[0]
  spread = by_kid[-1][1]["kid"] - r["kid"]
  lines.append(
      f"* Lowest KID at the best strengths: {e['name']} "
      f"({_kid(r['kid'], r['kid_std'])} x1e-3); the methods span "
      f"{spread * 1e3:.1f} x1e-3, " +
      ("less than" if spread < r["kid_std"] else "more than") +
      " one std of a single KID estimate, so on this subset realism "
      + ("does not separate the methods." if spread < r["kid_std"] else
         "separates the extremes."))
  by_stroke = sorted(rows, key=lambda x: x[1]["stroke_rmse_mask"])
  e, r = by_stroke[0]
  lines.append(f"* Most faithful to the paint at its best strength: "
               f"{e['name']} (stroke RMSE {r['stroke_rmse_mask']:.1f}).")
  for k in KIND_TITLES:
    if k == kind or k not in summary["benchmark"]["edits_per_kind"]:
      continue
    krows = _best_rows(summary, k)
    if not krows:
      continue
    key = ("truth_rmse_mask" if "truth_rmse_mask" in krows[0][1]
           else "stroke_rmse_mask")
    e, r = min(krows, key=lambda x: x[1][key])
    name = "RMSE to truth" if key == "truth_rmse_mask" else "stroke RMSE"
    lines.append(f"* {KIND_TITLES[k]}: lowest {name} {e['name']} "
                 f"({r[key]:.1f}).")
  for m in summary["matched"]:
    vals = [(n, v["kid_at_faithfulness"]) for n, v in m["at"].items()
            if v["kid_at_faithfulness"] is not None and n != summary["anchor"]]
    reach = ", ".join(f"{n} {_kid(v)}" for n, v in sorted(
        vals, key=lambda x: x[1])) or "no other method reaches it"
    lines.append(
        f"* At the faithfulness of {summary['anchor']} "
        f"{m['anchor_strength']:g} (stroke RMSE {m['faithfulness']:.1f}, KID "
        f"{_kid(m['kid'])}): {reach}.")
  return lines


def headline_rows(summary) -> list[str]:
  kind = summary["headline_kind"]
  lines = [
      "| method | best strength | stroke RMSE in mask | stroke RMSE image "
      "| SDEdit L2 | RMSE to truth (mask) | KID x1e3 | FID | max change "
      "outside | latency ms |",
      "|---|---|---|---|---|---|---|---|---|---|"]
  for e in summary["entries"]:
    if e["group"] != "method" or e["best_strength"] is None:
      continue
    r = _run(summary, e["name"], e["best_strength"])["per_kind"][kind]
    lines.append(
        f"| {e['name']} | {e['best_strength']:g} | "
        f"{_f(r['stroke_rmse_mask'])} | {_f(r['stroke_rmse_image'])} | "
        f"{_f(r['sdedit_l2'], '{:.2f}')} | {_f(r.get('truth_rmse_mask'))} | "
        f"{_kid(r['kid'], r['kid_std'])} | {_f(r['fid'], '{:.2f}')} | "
        f"{_f(r['max_change_outside'], '{:.0f}')} | {_lat_ms(e)} |")
  return lines


def reference_rows(summary, kind) -> list[str]:
  lines = []
  names = {"originals": "the original images (no edit)",
           "raw_guides": "the raw guides (the paint itself)",
           "guide_tokens": "G_E: the guide's tokens (every method at "
                           "strength 0)"}
  for key, label in names.items():
    r = summary["references"].get(key, {}).get(kind)
    if r is None:
      continue
    lines.append(
        f"| *{label}* | - | {_f(r['stroke_rmse_mask'])} | "
        f"{_f(r['stroke_rmse_image'])} | {_f(r['sdedit_l2'], '{:.2f}')} | "
        f"{_f(r.get('truth_rmse_mask'))} | {_kid(r['kid'], r['kid_std'])} | "
        f"{_f(r['fid'], '{:.2f}')} | - | - |")
  return lines


def per_kind_rows(summary) -> list[str]:
  kinds = [k for k in KIND_TITLES if k in summary["benchmark"][
      "edits_per_kind"]]
  head = "| method | best strength | " + " | ".join(
      f"{k}: stroke RMSE / truth RMSE / KID x1e3" for k in kinds) + " |"
  lines = [head, "|---|---|" + "---|" * len(kinds)]
  for e in summary["entries"]:
    if e["group"] != "method" or e["best_strength"] is None:
      continue
    cells = []
    r = _run(summary, e["name"], e["best_strength"])
    for k in kinds:
      x = r["per_kind"].get(k)
      cells.append("-" if x is None else
                   f"{_f(x['stroke_rmse_mask'])} / "
                   f"{_f(x.get('truth_rmse_mask'))} / {_kid(x['kid'])}")
    lines.append(f"| {e['name']} | {e['best_strength']:g} | " +
                 " | ".join(cells) + " |")
  for key in ("originals", "raw_guides", "guide_tokens"):
    cells = []
    for k in kinds:
      x = summary["references"].get(key, {}).get(k)
      cells.append("-" if x is None else
                   f"{_f(x['stroke_rmse_mask'])} / "
                   f"{_f(x.get('truth_rmse_mask'))} / {_kid(x['kid'])}")
    lines.append(f"| *{key}* | - | " + " | ".join(cells) + " |")
  return lines


def matched_rows(summary) -> list[str]:
  lines = []
  for m in summary["matched"]:
    lines.append("")
    lines.append(
        f"**At {summary['anchor']} strength {m['anchor_strength']:g}**: "
        f"stroke RMSE in mask {m['faithfulness']:.1f}, KID "
        f"{_kid(m['kid'])} x1e-3.")
    lines.append("")
    lines.append("| method | KID x1e3 at matched faithfulness (its "
                 "strength) | stroke RMSE at matched KID (its strength) |")
    lines.append("|---|---|---|")
    for name, v in m["at"].items():
      a = ("-" if v["kid_at_faithfulness"] is None else
           f"{_kid(v['kid_at_faithfulness'])} "
           f"({v['strength_at_faithfulness']:.2f})")
      b = ("-" if v["faithfulness_at_kid"] is None else
           f"{v['faithfulness_at_kid']:.1f} ({v['strength_at_kid']:.2f})")
      lines.append(f"| {name} | {a} | {b} |")
  return lines


def grid_rows(summary, group: str, kind: str) -> list[str]:
  lines = ["| entry | strength | stroke RMSE mask | RMSE to truth | KID x1e3 "
           "| FID | max change outside | s per edit (batched) |",
           "|---|---|---|---|---|---|---|---|"]
  for e in summary["entries"]:
    if e["group"] != group:
      continue
    for s in e["strengths"]:
      r = _run(summary, e["name"], s)
      if r is None or kind not in r["per_kind"]:
        continue
      x = r["per_kind"][kind]
      lines.append(
          f"| {_entry_label(e)} | {s:g} | {_f(x['stroke_rmse_mask'])} | "
          f"{_f(x.get('truth_rmse_mask'))} | {_kid(x['kid'], x['kid_std'])}"
          f" | {_f(x['fid'], '{:.2f}')} | "
          f"{_f(x['max_change_outside'], '{:.0f}')} | "
          f"{_f(r['seconds_per_edit'], '{:.4f}')} |")
  return lines


def ablation_rows(summary) -> list[str]:
  """Each ablation vs its base entry at the same strengths (deltas)."""
  kind = summary["ablation_kind"]
  lines = ["| ablation | vs | strength | stroke RMSE mask (delta) | RMSE to "
           "truth (delta) | KID x1e3 (delta) | latency ms (base) |",
           "|---|---|---|---|---|---|---|"]
  by_name = {e["name"]: e for e in summary["entries"]}
  for e in summary["entries"]:
    if e["group"] != "ablation":
      continue
    base = by_name.get(e["base"])
    for s in e["strengths"]:
      r = _run(summary, e["name"], s)
      b = _run(summary, e["base"], s) if base else None
      if r is None:
        continue
      x = r["per_kind"][kind]
      y = b["per_kind"].get(kind) if b else None
      d = lambda k, fmt="{:+.1f}", scale=1.0: (
          "" if y is None or x.get(k) is None or y.get(k) is None
          else " (" + fmt.format((x[k] - y[k]) * scale) + ")")
      lines.append(
          f"| {_entry_label(e)} | {e['base'] or '-'} | {s:g} | "
          f"{_f(x['stroke_rmse_mask'])}{d('stroke_rmse_mask')} | "
          f"{_f(x.get('truth_rmse_mask'))}{d('truth_rmse_mask')} | "
          f"{_kid(x['kid'])}{d('kid', scale=1e3)} | {_lat_ms(e)} "
          f"({_lat_ms(base) if base else '-'}) |")
  return lines


def write_doc(summary, path: str, plots: dict) -> None:
  b = summary["benchmark"]
  kind = summary["headline_kind"]
  rel = lambda p: os.path.relpath(p, os.path.dirname(os.path.abspath(path)))
  feats = summary["features"]
  rt = summary["real_test_vs_reference"]
  ed = summary["edit_defaults"]
  lines = [
      "# Comparisons and ablations",
      "",
      "Generated by `benchmarks/compare.py`; every number below comes from "
      "that run (raw JSON: `benchmarks/results/compare.json`, per-run "
      "cache: `data/compare/`). Do not edit by hand.",
      "",
      f"* Command: `{summary['command']}`",
      f"* Machine: {summary['machine']}; run date(s): "
      f"{', '.join(summary['dates'])}." + _load_note(summary),
      f"* Benchmark: `maskgit_edit/benchmark_set.py`, seed {b['seed']}, the "
      f"{b['split']} split of `{os.path.basename(b['data'])}`: " +
      ", ".join(f"{n} {k}" for k, n in b["edits_per_kind"].items()) +
      " edits; the methods run on the first "
      f"{summary['method_limit'] or 'all'} images of each kind (time "
      "budget of the shared 2-core CPU). Model: `" + ed["transformer"] + "` (embedded emoji model), "
      f"{ed['num_iter']} steps from step {ed['start_iter']}, "
      f"{ed['schedule']} schedule, feather {ed['feather']} px, dilation "
      f"{ed['dilation']}, {summary['num_samples']} sample per edit, seed "
      f"{summary['seed']}, batches of {summary['batch_size']} edits.",
      f"* Realism features: `{feats['path']}` (our {feats.get('widths')} "
      "CNN classifier of the 9 emoji groups trained on the train split; "
      "NOT Inception, so KID/FID are comparable only within this page). "
      f"KID: {summary['kid']['subsets']} subsets of up to "
      f"{summary['kid']['subset_size']}, against the "
      f"{summary['kid']['reference']}. Sanity: real test images vs that "
      f"reference: KID {_kid(rt['kid'], rt['kid_std'])} x1e-3, FID "
      f"{rt['fid']:.2f}.",
      "",
      "Metrics (`maskgit_edit/metrics.py`), at 64 x 64 px:",
      "* **stroke RMSE**: output and guide both blurred (Gaussian sigma "
      "2 px), RMSE in 8-bit levels over the edit mask (*in mask*) or the "
      "whole image; lower = follows the paint. **SDEdit L2**: SDEdit's "
      "number, ||output - guide||_2 over the whole image in [0, 1] units, "
      "no blur (at 64 px; SDEdit's 256 px numbers are ~4x larger for the "
      "same per-pixel error).",
      "* **RMSE to truth**: the paint was simulated from a known image "
      "(local, segment inversion and global edits): RMSE in 8-bit levels to "
      "that image over the mask, no blur. Lower = faithful AND plausible.",
      "* **KID** (x1e-3, mean ± std over subsets) and **FID** of the "
      "edited images' features against the real reference; lower = more "
      "realistic. **max change outside**: largest change (8-bit levels) "
      "beyond the feather band; must be 0.",
      "* **latency**: compiled median of single edits (batch 1, 1 sample, "
      "full pipeline incl. compositing) in the same run; **s per edit "
      "(batched)**: wall time of the compiled batched calls / edits.",
      "* **best strength**: the strength with the lowest RMSE to truth on "
      f"the {kind} edits.",
      *_subset_note(summary),
      "",
      f"## Headline: every method at its best strength ({KIND_TITLES.get(kind, kind)})",
      "",
      *headline_rows(summary),
      *reference_rows(summary, kind),
      "",
      *findings(summary),
      "",
      f"![faithfulness vs KID]({rel(plots['pareto'])})",
      "",
      "Pareto front (methods, " + KIND_TITLES.get(kind, kind) + "): " +
      ", ".join(f"{n} {s:g}" for n, s in summary["pareto"].get(kind, [])) +
      ".",
      "",
      "## At matched faithfulness and matched realism",
      "",
      f"Each method's curve ({kind} edits, in order of strength) is "
      "interpolated linearly at the anchor's stroke RMSE (then its KID is "
      "read) and at the anchor's KID (then its stroke RMSE is read); '-' = "
      "the method's measured strengths never reach that value.",
      *matched_rows(summary),
      "",
      "## Every kind of edit (methods at their best strength)",
      "",
      *per_kind_rows(summary),
      "",
      "Pareto fronts per kind: " + "; ".join(
          f"{k}: " + ", ".join(f"{n} {s:g}" for n, s in v)
          for k, v in summary["pareto"].items()) + ".",
      "",
      "## Quality vs latency",
      "",
      f"![quality vs latency]({rel(plots['latency'])})",
      "",
      f"## Full strength grid ({kind})",
      "",
      *grid_rows(summary, "method", kind),
      "",
      "## Ablations",
      "",
  ]
  abl = [e for e in summary["entries"] if e["group"] == "ablation"]
  if abl:
    a = abl[0]
    lines += [
        f"On the first {a['limit'] or 'all'} images of the "
        f"{', '.join(a['kinds'])} edits; deltas against the base entry on "
        "the same subset. (`selfcond`'s strength s sets its classifier-"
        "free guidance on the hint: logits = unhinted + w (hinted - "
        "unhinted), w = (1 - s) / s; s = 0.5 is the hinted model without "
        "guidance (w = 1), s < 0.5 guides (w = 2.3 at 0.3, 5.7 at 0.15), "
        "so its strength grid above is the guidance ablation.)",
        "",
        *ablation_rows(summary),
        "",
        f"Every ablation run ({summary['ablation_kind']} edits):",
        "",
        *grid_rows(summary, "ablation", summary["ablation_kind"]),
        ""]
  lines += [
      "## Reproduce and extend",
      "",
      "* The benchmark is written once to `data/benchmark/emoji/` (PNG "
      "image / guide / mask + `manifest.jsonl` with `kind` and `truth`), so "
      "other tools edit exactly the same inputs: `python sample_edit.py "
      "--config.inputs=data/benchmark/emoji/manifest.jsonl ...`. Build it "
      "alone with `python -m maskgit_edit.benchmark_set "
      "--data=data/emoji64.npz --out=data/benchmark/emoji`.",
      "* A new method is compared by adding one entry to `configs/compare.py`"
      " (`methods` or `ablations`: a registered method name plus edit-config"
      " overrides); `--config.only=a,b` runs a subset. Runs are cached in "
      "`data/compare/` by their settings and the weights' hashes; delete it "
      "after changing sampler code.",
      "* Standard (Inception) KID/FID: compute features of the outputs and of"
      " real images elsewhere and run `python -m maskgit_edit.metrics "
      "outputs.npz reference.npz`.",
      ""]
  os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
  with open(path, "w") as f:
    f.write("\n".join(lines) + "\n")


# ------------------------------------------------------------------ plots
def write_plots(summary, plots_dir: str, prefix: str = "compare_") -> dict:
  import matplotlib  # pylint: disable=g-import-not-at-top
  matplotlib.use("Agg")
  from matplotlib import pyplot as plt  # pylint: disable=g-import-not-at-top
  os.makedirs(plots_dir, exist_ok=True)
  kinds = [summary["headline_kind"]] + [
      k for k in KIND_TITLES if k in summary["benchmark"]["edits_per_kind"]]
  methods = [e for e in summary["entries"] if e["group"] == "method"]
  colors = plt.get_cmap("tab10")
  fig, axes = plt.subplots(2, 3, figsize=(16, 9))
  for ax, kind in zip(axes.ravel(), kinds):
    for i, e in enumerate(methods):
      pts = []
      for s in e["strengths"]:
        r = _run(summary, e["name"], s)
        if r is not None and kind in r["per_kind"]:
          x = r["per_kind"][kind]
          pts.append((s, x["stroke_rmse_mask"], x["kid"] * 1e3,
                      x["kid_std"] * 1e3))
      if not pts:
        continue
      s, xs, ys, es = zip(*sorted(pts))
      ax.plot(xs, ys, "-o", color=colors(i % 10), label=e["name"], ms=4)
      ax.errorbar(xs, ys, yerr=es, fmt="none", ecolor=colors(i % 10),
                  alpha=0.25, capsize=2)
      for si, xi, yi in zip(s, xs, ys):
        ax.annotate(f"{si:g}", (xi, yi), fontsize=6, xytext=(2, 2),
                    textcoords="offset points")
    front = summary["pareto"].get(kind, [])
    fx, fy = [], []
    for name, s in front:
      x = _run(summary, name, s)["per_kind"][kind]
      fx.append(x["stroke_rmse_mask"])
      fy.append(x["kid"] * 1e3)
    if fx:
      ax.plot(fx, fy, "--", color="black", lw=1, zorder=0)
      ax.scatter(fx, fy, s=90, facecolors="none", edgecolors="black",
                 label="Pareto front", zorder=3)
    for key, marker in (("originals", "*"), ("raw_guides", "x"),
                        ("guide_tokens", "s")):
      x = summary["references"].get(key, {}).get(kind)
      if x is not None:
        ax.scatter([x["stroke_rmse_mask"]], [x["kid"] * 1e3], marker=marker,
                   color="gray", s=60, label=key)
    ax.set_title(KIND_TITLES[kind])
    ax.set_xlabel("stroke RMSE in mask (8-bit levels; lower = more faithful)")
    ax.set_ylabel("KID x1e3 ± std (lower = more realistic)")
    ax.grid(alpha=0.3)
  for ax in axes.ravel()[len(kinds):]:
    ax.axis("off")
  axes.ravel()[0].legend(fontsize=7)
  fig.tight_layout()
  pareto = os.path.join(plots_dir, prefix + "faithfulness_kid.png")
  fig.savefig(pareto, dpi=110)
  plt.close(fig)

  kind = summary["headline_kind"]
  fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
  for i, e in enumerate(summary["entries"]):
    lat = (e.get("latency") or {}).get("median_s")
    if not lat or e["best_strength"] is None:
      continue
    x = _run(summary, e["name"], e["best_strength"])["per_kind"][kind]
    style = dict(marker="o" if e["group"] == "method" else "^",
                 color=colors(i % 10))
    for ax, key, scale in ((axes[0], "truth_rmse_mask", 1.0),
                           (axes[1], "kid", 1e3)):
      if x.get(key) is None:
        continue
      ax.scatter([lat * 1e3], [x[key] * scale], **style)
      ax.annotate(f"{e['name']} {e['best_strength']:g}",
                  (lat * 1e3, x[key] * scale), fontsize=6, xytext=(3, 2),
                  textcoords="offset points")
  axes[0].set_ylabel(f"RMSE to truth in mask ({kind}; lower = better)")
  axes[1].set_ylabel(f"KID x1e3 ({kind}; lower = better)")
  for ax in axes:
    ax.set_xscale("log")
    ax.set_xlabel("latency per edit, ms (compiled median, batch 1, this CPU)")
    ax.grid(alpha=0.3)
  fig.suptitle("Each entry at its best strength")
  fig.tight_layout()
  latency_path = os.path.join(plots_dir, prefix + "latency.png")
  fig.savefig(latency_path, dpi=110)
  plt.close(fig)
  return {"pareto": pareto, "latency": latency_path}


BEGIN = "<!-- compare.py:begin (generated; do not edit) -->"
END = "<!-- compare.py:end -->"


def update_readme(summary, path: str, plots: dict) -> bool:
  """Replaces the README's text between BEGIN and END with the Comparisons
  and Ablations sections; False when the markers are missing."""
  with open(path) as f:
    text = f.read()
  if BEGIN not in text or END not in text:
    return False
  kind = summary["headline_kind"]
  rel = lambda p: os.path.relpath(p, os.path.dirname(os.path.abspath(path)))
  lines = [
      BEGIN,
      "## Comparisons",
      "",
      f"`{summary['command']}` ({summary['machine']}; "
      f"{', '.join(summary['dates'])}) runs every method on the frozen "
      "benchmark of simulated edits (`maskgit_edit/benchmark_set.py`: "
      "SDEdit-style local strokes, segment inversions and counterfactuals, "
      "whole-image strokes on the emoji test split; first "
      f"{summary['method_limit'] or 'all'} images of each kind) and scores "
      "them with `maskgit_edit/metrics.py`. Every method at its best "
      f"strength on {KIND_TITLES.get(kind, kind)} (stroke RMSE: blurred "
      "output vs guide in the mask, 8-bit levels; RMSE to truth: vs the "
      "image the paint was made from; KID on our own emoji feature network, "
      "x1e-3)." + _load_note(summary).replace("(benchmarks.md)",
                                              "(docs/benchmarks.md)"),
      "",
      *headline_rows(summary),
      *reference_rows(summary, kind),
      "",
      *findings(summary),
      "",
      f"![faithfulness vs KID]({rel(plots['pareto'])})",
      "",
      "Matched faithfulness/realism, every kind of edit, the full grid and "
      "the latency plot: [docs/comparisons.md](docs/comparisons.md).",
      "",
      "## Ablations",
      "",
      f"On the first {summary['method_limit'] or 'all'} "
      f"{summary['ablation_kind']} edits, against the base method at the "
      "same strength (deltas in parentheses):",
      "",
      *ablation_rows(summary),
      END]
  start = text.index(BEGIN)
  end = text.index(END) + len(END)
  with open(path, "w") as f:
    f.write(text[:start] + "\n".join(lines) + text[end:])
  return True
