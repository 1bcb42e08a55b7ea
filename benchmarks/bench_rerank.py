r"""Best-of-N reranking vs its base method on the VALIDATION split (issue 23).

  python benchmarks/bench_rerank.py --base=selfcond --strengths=0.2,0.35,0.5 \
      --candidates=2,4,8 --val_images_per_kind=16

Uses the evaluation's benchmark, samples and scoring
(`maskgit_edit.evaluation.runner`) on the validation split only (never
test): the base method edits `val_images_per_kind` images of each restore
kind (local, segment, global) at every strength of `--strengths`; its best
strength by the mean perceptual distance to the truth is kept (or
`--strength`), and the reranked method (maskgit_edit/rerank.py: N candidates
per sample, critic (1 - s) * blurred guide RMSE + lambda * token NLL) edits
the same images at that strength, for each N of `--candidates` and each
lambda of `--realism_weights`; and the base with critic-guided re-masking
(maskgit_edit/samplers/critic.py) for each weight of `--critics`. Each row
is compared with the base row with paired image-bootstrap 95% intervals
(`evaluation.stats`, resampling images) on the perceptual distance to the
truth, the stroke RMSE (faithfulness), the RMSE to the truth and the seam,
and likewise with the no-op and G_E reference rows. Latency per edit at
batch 1 and batched (`--latency_batch`) through the editing loop on local
val edits, every entry timed in the same rounds (alternating, so that they
share the machine's load), with the load average of each round. Runs are
cached (per row) in `--runs_dir`. Writes `--out`
(benchmarks/results/rerank_val.json).
"""

import os
import sys
import time

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, _ROOT)

# pylint: disable=g-import-not-at-top,wrong-import-position
from absl import app
from absl import flags
import numpy as np

from maskgit import cli
from maskgit import io_utils

_CONFIG = cli.define_config_flag(
    os.path.join(_ROOT, "configs", "evaluation.py"), "Evaluation config.")
_BASE = flags.DEFINE_string("base", "selfcond", "Base token method.")
_STRENGTHS = flags.DEFINE_list("strengths", ["0.2", "0.35", "0.5"],
                               "Base strengths tried on val (best kept).")
_CANDIDATES = flags.DEFINE_list("candidates", ["2", "4", "8"],
                                "Numbers of candidates N.")
_WEIGHTS = flags.DEFINE_list("realism_weights", ["1.0"],
                             "Critic lambdas (realism weight).")
_SIGMA = flags.DEFINE_float("blur_sigma", 2.0, "Critic blur sigma (px).")
_AT = flags.DEFINE_float(
    "strength", -1.0, "Compare at this strength (one of --strengths) "
    "instead of the base's best on val (-1).")
_KID = flags.DEFINE_bool(
    "kid", False, "Also KID (realism) against the reference split, with "
    "paired image-bootstrap differences (reference features cached in "
    "runs_dir).")
_CRITICS = flags.DEFINE_list(
    "critics", [], "Weights of the critic-guided re-masking option of the "
    "base (samplers/critic.py), one row each (no reranking).")
_VAL = flags.DEFINE_integer("val_images_per_kind", 16,
                            "Val images per restore kind.")
_RUNS = flags.DEFINE_string("runs_dir",
                            os.path.join(_ROOT, "data/i23/rerank_runs"),
                            "Run cache.")
_BENCH = flags.DEFINE_string("benchmark_dir",
                             os.path.join(_ROOT, "data/i23/benchmark"),
                             "Benchmark dir (built once if missing).")
_LAT_EDITS = flags.DEFINE_integer("latency_edits", 4,
                                  "Timed single edits per entry and round.")
_LAT_ROUNDS = flags.DEFINE_integer("latency_rounds", 3, "Timing rounds.")
_LAT_BATCH = flags.DEFINE_integer("latency_batch", 16, "Batched timing size.")
_BOOT = flags.DEFINE_integer("num_bootstrap", 1000, "Bootstrap resamples.")
_OUT = flags.DEFINE_string(
    "out", os.path.join(_ROOT, "benchmarks/results/rerank_val.json"),
    "Output JSON.")

AXES = ("perceptual", "stroke", "truth_rmse", "seam")


def _evaluation(config, with_kid: bool):
  """The evaluation's samples and scoring; KID's reference features only
  when `with_kid` (`runs_dir/reference_features.npz`, used when its key
  matches, else computed)."""
  from maskgit_edit.evaluation import runner

  class ValOnly(runner.Evaluation):

    def _reference_features(self):
      return super()._reference_features() if with_kid else None

  return ValOnly(config)


class _Latency:
  """Seconds per edit through the loop on local val edits, every entry
  timed in the same rounds (alternating), so that they share the load."""

  def __init__(self, ev, strength: float, bsz: int):
    self.ev, self.strength, self.bsz = ev, strength, bsz
    b = ev.bench
    self.rows = [r for r in ev.val_rows if b.kinds[r] == "local"]
    self.one, self.batched, self.setup = {}, {}, {}

  def _item(self, k):
    from maskgit_edit.batch import loop
    b, r = self.ev.bench, self.rows[k % len(self.rows)]
    return loop.EditItem(name=f"lat{k}", image=b.images[r] / np.float32(255),
                         guide=b.guides[r] / np.float32(255),
                         mask=b.masks[r], label=int(b.labels[r]), seed=k)

  def _run(self, name, items, bsz):
    from maskgit_edit.batch import loop
    editor, options = self.setup[name]
    t0 = time.perf_counter()
    outs = list(loop.edit_items(editor, options, items,
                                strength=self.strength, batch_size=bsz,
                                prefetch=0))
    return (time.perf_counter() - t0) / len(items), any(
        o.compiled for o in outs)

  def add(self, entry):
    """Builds and compiles (batch 1 and batched) one entry."""
    from maskgit_edit.evaluation import runner
    cfg = runner.edit_config_for(self.ev.c, entry)
    self.setup[entry.name] = (self.ev.pool.editor(cfg, entry.method),
                              self.ev.pool.options(cfg, entry.method))
    self._run(entry.name, [self._item(0)], 1)
    self._run(entry.name, [self._item(k) for k in range(self.bsz)],
              self.bsz)
    self.one[entry.name], self.batched[entry.name] = [], []

  def round(self, r: int, singles: int):
    for name in self.setup:
      for k in range(singles):
        t, compiled = self._run(name, [self._item(1 + r * singles + k)], 1)
        if not compiled:
          self.one[name].append(t)
      t, compiled = self._run(name, [self._item(1000 + r * self.bsz + k)
                                     for k in range(self.bsz)], self.bsz)
      if not compiled:
        self.batched[name].append(t)

  def result(self, name) -> dict:
    return dict(batch1_median_ms=1e3 * float(np.median(self.one[name])),
                batch1_max_ms=1e3 * float(np.max(self.one[name])),
                batch1_edits=len(self.one[name]),
                batched_ms_per_edit=1e3 * float(np.median(
                    self.batched[name])),
                batch=self.bsz, batches=len(self.batched[name]))


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
  from maskgit import runtime
  from maskgit_edit.evaluation import runner
  from maskgit_edit.evaluation import stats
  c = _CONFIG.value
  c.val_images_per_kind = _VAL.value
  c.runs_dir = _RUNS.value
  c.benchmark_dir = _BENCH.value
  c.methods = {}
  c.ablations = {}
  c.compare_to = ()
  runtime.enable_compilation_cache(c.edit.compilation_cache)
  t_start = time.perf_counter()
  load0 = [round(x, 2) for x in os.getloadavg()]
  ev = _evaluation(c, _KID.value)
  rows = ev.val_rows
  b = ev.bench
  base = _BASE.value

  def score(entry, s):
    t0 = time.perf_counter()
    rec = ev._run(entry, s, rows, 0, "val", False)  # pylint: disable=protected-access
    name = entry if isinstance(entry, str) else entry.name
    print(f"{name} s={s}: perceptual "
          f"{np.nanmean(rec['metric_perceptual']):.2f} stroke "
          f"{np.nanmean(rec['metric_stroke']):.2f} "
          f"({time.perf_counter() - t0:.0f} s)", file=sys.stderr, flush=True)
    out = {k: np.asarray(rec[f"metric_{k}"], np.float64) for k in AXES}
    if ev.ref_feats is not None:
      out["kid"] = stats.KidBootstrap(rec["features"], ev.ref_feats)
    return out

  base_entry = runner.Entry(base, base, {}, ())
  curve = {float(s): score(base_entry, float(s)) for s in _STRENGTHS.value}
  strength = min(curve, key=lambda s: np.nanmean(curve[s]["perceptual"]))
  best = strength
  if _AT.value >= 0:
    strength = float(_AT.value)
    if strength not in curve:
      raise app.UsageError(f"--strength {strength} is not in --strengths.")
  ref = curve[strength]
  resamples = stats.cluster_indices([b.ids[r] for r in rows], _BOOT.value,
                                    seed=0)
  mean_iv = lambda v: stats.interval(np.nanmean(v), [np.nanmean(v[r])
                                                     for r in resamples])
  result = dict(
      command="python benchmarks/bench_rerank.py " + " ".join(sys.argv[1:]),
      split="val", kinds=sorted({b.kinds[r] for r in rows}),
      images=len(rows), base=base, base_curve={
          str(s): {k: float(np.nanmean(v[k])) for k in AXES}
          for s, v in curve.items()},
      strength=strength, base_best_strength=best,
      features=c.features_path,
      machine=runner.machine(), load_average_start=load0,
      rows={})
  # References (no tuning): the input unchanged and G_E (every token
  # method at strength 0); each row is also compared with them.
  refs = {"noop": score("noop", 0.0),
          "g_e": score(runner.Entry("g_e", "sdedit", {}, (0.0,)), 0.0)}
  result["references"] = {k: {a: mean_iv(v[a]).as_list() for a in AXES}
                          for k, v in refs.items()}
  kid_x1e3 = lambda iv: [1e3 * x for x in iv.as_list()]
  if ev.ref_feats is not None:
    for k, v in refs.items():
      result["references"][k]["kid_x1e3"] = kid_x1e3(v["kid"].interval(
          resamples))
  entries = [(base_entry, dict(num_candidates=1))]
  for lam in _WEIGHTS.value:
    for n in _CANDIDATES.value:
      rr = dict(num_candidates=int(n), realism_weight=float(lam),
                blur_sigma=_SIGMA.value)
      entries.append((runner.Entry(f"{base}_rerank{n}_l{lam}", base,
                                   dict(rerank=rr), ()), rr))
  for w in _CRITICS.value:
    entries.append((runner.Entry(f"{base}_critic{w}", base,
                                 {base: dict(critic=float(w))}, ()),
                    dict(num_candidates=1, critic=float(w))))
  for entry, rr in entries:
    per = ref if entry is base_entry else score(entry, strength)
    row = dict(setting=rr, mean={k: mean_iv(per[k]).as_list() for k in AXES})
    if "kid" in per:
      row["mean"]["kid_x1e3"] = kid_x1e3(per["kid"].interval(resamples))
    others = dict(refs)
    if entry is not base_entry:
      others["base"] = ref
    for other, vals in others.items():
      row[f"minus_{other}"] = {}
      for k in AXES:
        d = per[k] - vals[k]  # NaN where either is undefined.
        iv = stats.interval(np.nanmean(d), [np.nanmean(d[r])
                                            for r in resamples])
        row[f"minus_{other}"][k] = iv.as_list() + [
            {"tie": "tie", "-": "better", "+": "worse"}[iv.verdict]]
      if "kid" in per:
        iv = stats.kid_diff_interval(per["kid"], vals["kid"], resamples)
        row[f"minus_{other}"]["kid_x1e3"] = kid_x1e3(iv) + [
            {"tie": "tie", "-": "better", "+": "worse"}[iv.verdict]]
    result["rows"][entry.name] = row
    print(entry.name, row, file=sys.stderr, flush=True)
    io_utils.write_json(_OUT.value, result)
  lat = _Latency(ev, strength, _LAT_BATCH.value)
  for entry, _ in entries:
    lat.add(entry)
  loads = []
  for r in range(_LAT_ROUNDS.value):
    lat.round(r, _LAT_EDITS.value)
    loads.append([round(x, 2) for x in os.getloadavg()])
  for entry, _ in entries:
    result["rows"][entry.name]["latency"] = lat.result(entry.name)
  result["latency_load_average"] = loads
  result["wall_minutes"] = round((time.perf_counter() - t_start) / 60, 1)
  io_utils.write_json(_OUT.value, result)
  print(f"Wrote {_OUT.value}", file=sys.stderr)


if __name__ == "__main__":
  app.run(main, flags_parser=cli.parse_flags_or_exit)
