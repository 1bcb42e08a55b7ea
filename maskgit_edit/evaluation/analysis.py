"""Statistics of an evaluation run: intervals, comparisons, the summary JSON.

Everything the report writes comes from `summarize`'s dictionary: the
dataset facts are counted here, the machine is read here, and every number
carries its paired image-bootstrap 95% interval (`stats`).

* Per kind: each row's mean of every metric (`metrics.METRICS`) and its KID
  against the real reference images (x1e3), resampling that kind's images.
* Axes (`runner.AXES`), pooled over kinds: faithfulness = stroke RMSE on
  recolour edits; truth = perceptual distance on the restore kinds; realism
  = the mean over kinds of each kind's KID (never one KID over pooled
  kinds: an image appears once per kind); seam = seam RMSE on the kinds
  with a boundary. Pooled intervals resample IMAGES (an image drawn brings
  its edits of every kind).
* Comparisons: each row minus each `compare_to` row, per axis, on the same
  resamples: 'better' (interval below 0; every axis is lower-is-better),
  'worse' (above 0) or 'tie' (holds 0).
"""

from __future__ import annotations

import numpy as np

from maskgit_edit.evaluation import benchmark_set as bs
from maskgit_edit.evaluation import metrics
from maskgit_edit.evaluation import stats

KID_SCALE = 1e3


def _verdict(iv: stats.Interval) -> str:
  return {"tie": "tie", "-": "better", "+": "worse"}[iv.verdict]


class _Resamples:
  """Paired resamples of the test rows: per kind, and pooled by image."""

  def __init__(self, kinds: np.ndarray, ids: np.ndarray, num: int,
               seed: int):
    self.kinds = kinds
    self.pos = {k: np.flatnonzero(kinds == k) for k in dict.fromkeys(kinds)}
    self.within = np.zeros(len(kinds), int)  # Position within its kind.
    for k, p in self.pos.items():
      self.within[p] = np.arange(len(p))
    self.per_kind = {k: [p[r] for r in stats.bootstrap_indices(
        len(p), num, seed + i)] for i, (k, p) in enumerate(self.pos.items())}
    self.pooled = stats.cluster_indices(ids, num, seed + 100)

  def pooled_in(self, kinds) -> tuple[np.ndarray, list[np.ndarray]]:
    """Rows of `kinds` and the pooled resamples restricted to them."""
    sel = np.isin(self.kinds, kinds)
    return np.flatnonzero(sel), [r[sel[r]] for r in self.pooled]


class _Row:
  """One row's per-image metrics and per-kind KID estimators."""

  def __init__(self, data: dict, res: _Resamples, ref_feats: np.ndarray):
    self.per = data["per"]
    k = data["per_image"]
    feats = data["features"].reshape(len(res.kinds), k, -1)
    self.kid = {kind: stats.KidBootstrap(
        feats[p].reshape(-1, feats.shape[-1]), ref_feats, per_image=k)
                for kind, p in res.pos.items()}

  def kid_mean_replicates(self, res: _Resamples, kinds) -> tuple:
    """Mean over kinds of KID: value and pooled replicates (x1e3)."""
    value = np.mean([self.kid[k].value() for k in kinds]) * KID_SCALE
    reps = []
    for r in res.pooled:
      vals = []
      for k in kinds:
        idx = res.within[r[res.kinds[r] == k]]
        vals.append(self.kid[k]._mmd2(idx))  # pylint: disable=protected-access
      # A resample without (enough) images of a kind: that kind is left
      # out of this replicate's mean.
      reps.append(np.nanmean(vals) * KID_SCALE if np.isfinite(vals).any()
                  else np.nan)
    return value, np.asarray(reps)


def _axis(row: _Row, res: _Resamples, axis: tuple):
  """(value, replicates) of one pooled axis of a row."""
  metric, kinds = axis
  if metric == "kid":
    return row.kid_mean_replicates(res, kinds)
  pos, resamples = res.pooled_in(kinds)
  v = row.per[metric]
  return float(np.nanmean(v[pos])), np.asarray(
      [np.nanmean(v[r]) for r in resamples])


def summarize(ev, tuning: dict, strength: dict, rows: dict, ablations: dict,
              latency: dict, sanity: dict) -> dict:
  """The summary JSON of a run (`runner.Evaluation`)."""
  from maskgit_edit.evaluation import runner  # pylint: disable=g-import-not-at-top
  c, b = ev.c, ev.bench
  test = ev.test_rows
  kinds = np.asarray([b.kinds[r] for r in test])
  ids = np.asarray([b.ids[r] for r in test])
  res = _Resamples(kinds, ids, int(c.num_bootstrap), 0)
  built = {name: _Row(data, res, ev.ref_feats) for name, data in rows.items()}
  present = [k for k in bs.KINDS if k in res.pos]
  axes = {a: (m, tuple(k for k in ks if k in res.pos))
          for a, (m, ks) in runner.AXES.items()}
  table = {}
  axis_cache = {}
  for name, row in built.items():
    per_kind = {}
    for kind in present:
      p, rs = res.pos[kind], res.per_kind[kind]
      out = {}
      for m in metrics.METRICS:
        v = row.per[m.name][p]
        if np.all(np.isnan(v)):
          continue
        if m.name == "max_change_outside":
          out[m.name] = [float(np.nanmax(v))] * 3
          continue
        iv = stats.interval(float(np.nanmean(v)),
                            [np.nanmean(row.per[m.name][r]) for r in rs])
        out[m.name] = iv.as_list()
      iv = row.kid[kind].interval([res.within[r] for r in rs])
      out["kid"] = [x * KID_SCALE for x in iv.as_list()]
      per_kind[kind] = out
    pooled = {}
    for a, ax in axes.items():
      value, reps = _axis(row, res, ax)
      axis_cache[(name, a)] = (value, reps)
      pooled[a] = stats.interval(value, reps).as_list()
    table[name] = dict(per_kind=per_kind, axes=pooled)
  compare = {}
  for name in built:
    compare[name] = {}
    for ref in c.compare_to:
      if ref == name or ref not in built:
        continue
      compare[name][ref] = {}
      for a in axes:
        va, ra = axis_cache[(name, a)]
        vb, rb = axis_cache[(ref, a)]
        iv = stats.interval(va - vb, ra - rb)
        compare[name][ref][a] = dict(diff=iv.as_list(), verdict=_verdict(iv))
  abl_out = {}
  for name, a in ablations.items():
    sel = a["kind_rows"]
    p = np.flatnonzero(sel)
    rs = [p[r] for r in stats.bootstrap_indices(len(p), int(c.num_bootstrap),
                                                7)]
    diffs = {}
    for m in metrics.METRICS:
      x, y = a["rec"][f"metric_{m.name}"], a["base"][f"metric_{m.name}"]
      if np.all(np.isnan(x[p])) or m.name == "max_change_outside":
        continue
      iv = stats.interval(float(np.nanmean(x[p] - y[p])),
                          [np.nanmean(x[r] - y[r]) for r in rs])
      diffs[m.name] = dict(diff=iv.as_list(), verdict=_verdict(iv),
                           base=float(np.nanmean(y[p])))
    kx = stats.KidBootstrap(a["rec"]["features"][p], ev.ref_feats)
    ky = stats.KidBootstrap(a["base"]["features"][p], ev.ref_feats)
    local = [np.searchsorted(p, r) for r in rs]
    iv = stats.kid_diff_interval(kx, ky, local)
    diffs["kid"] = dict(diff=[x * KID_SCALE for x in iv.as_list()],
                        verdict=_verdict(iv), base=ky.value() * KID_SCALE)
    e = a["entry"]
    abl_out[name] = dict(base=e.base, strength=a["strength"],
                         kind=c.ablation_kind, images=int(len(p)),
                         overrides=e.overrides, diffs=diffs)
  parts = ev.parts
  facts = dict(
      dataset=c.data, splits={k: int(len(v)) for k, v in parts.items()},
      classes=int(len(np.unique(np.concatenate(
          [v.labels for v in parts.values()])))),
      benchmark_edits=int(len(b)),
      test_images_per_kind={k: int(len(p)) for k, p in res.pos.items()},
      val_images_per_kind={k: int(np.sum([b.kinds[r] == k
                                          for r in ev.val_rows]))
                           for k in bs.TRUTH_KINDS},
      distinct_test_images=int(len(np.unique(ids))),
      reference_images=int(len(ev.ref_feats)))
  entries = {e.name: dict(method=e.method, overrides=e.overrides,
                          strength=strength[e.name],
                          tuned=e.name in tuning) for e in ev.methods}
  return dict(
      version=runner.RESULT_VERSION, command=c.command, date=runner.today(),
      machine=runner.machine(), facts=facts,
      settings=dict(seeds=list(c.seeds), num_bootstrap=int(c.num_bootstrap),
                    sample_seed=int(c.sample_seed),
                    benchmark_seed=int(c.benchmark_seed),
                    tune_metric=c.tune_metric, full=bool(c.full),
                    compare_to=list(c.compare_to),
                    num_iter=int(c.edit.num_iter),
                    feather=int(c.edit.feather),
                    transformer=c.edit.transformer_path,
                    tokenizer=c.edit.tokenizer_path,
                    features=c.features_path),
      metrics=[dict(name=m.name, label=m.label, axis=m.axis,
                    formula=m.formula, gamed_by=m.gamed_by,
                    truth_only=m.truth_only) for m in metrics.METRICS],
      axes={a: dict(metric=m, kinds=list(ks)) for a, (m, ks) in axes.items()},
      references={k: runner.REFERENCE_LABELS[k] for k in runner.REFERENCES},
      entries=entries, tuning=tuning, table=table, compare=compare,
      ablations=abl_out, latency=latency, sanity=sanity,
      edit_seconds={name: d["wall_s"] for name, d in rows.items()})
