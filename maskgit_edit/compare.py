"""Library side of benchmarks/compare.py: runs, caching, tables and plots.

A *run* is one entry (a method or an ablation: configs/compare.py) at one
strength over its benchmark subset. Each run is scored per benchmark kind
with `maskgit_edit.metrics` and cached as `<runs_dir>/<entry>__s<strength>
.json` (+ `.npz` with per-edit values and a few outputs) under a key that
hashes every setting that can change its numbers; a cached run with the same
key is reused, so a rerun is fast and a killed run resumes.

Faithfulness curves use the headline kind's in-mask stroke RMSE (x) and KID
(y). "Best strength" of an entry = the strength with the lowest in-mask RMSE
to the true original on the headline kind (an inversion edit: the paint was
made from a known image, so reproducing it is both faithful and realistic).
Matched comparisons interpolate each entry's (x, y) curve, walked in order
of strength, at the anchor entry's values (`anchor`, `anchor_strengths`).
"""

from __future__ import annotations

import dataclasses
import datetime
import functools
import hashlib
import json
import os
import platform
import sys
import time
from typing import Any

import numpy as np

from maskgit_edit import benchmark_set
from maskgit_edit.methods import pool as pool_lib
from maskgit_edit import metrics

RESULT_VERSION = 1  # Bump when the scoring changes (invalidates the cache).
NUM_KEPT_OUTPUTS = 8  # Outputs per kind kept in each run's .npz (figures).


@dataclasses.dataclass
class Entry:
  """One configured method or ablation."""
  name: str
  group: str  # 'method' | 'ablation' | 'reference'
  method: str
  overrides: dict
  strengths: tuple
  kinds: tuple
  limit: int
  base: str = ""


# ------------------------------------------------------------------ config
def apply_quick(config) -> None:
  """Smoke-mode settings (in place): a tiny subset, outputs in quick_dir."""
  if not config.quick:
    return
  q = config.quick_dir
  if not q:
    raise ValueError("quick=True needs a quick_dir for its outputs.")
  with config.unlocked():
    config.benchmark.limit = 4
    config.method_limit = 0
    config.benchmark.out = os.path.join(q, "benchmark")
    config.runs_dir = os.path.join(q, "runs")
    config.out_json = os.path.join(q, "compare.json")
    config.out_doc = os.path.join(q, "comparisons.md")
    config.plots_dir = os.path.join(q, "images")
    config.batch_size = 4
    config.strengths = (0.3, 0.7)
    config.ablation_strengths = (0.3,)
    config.ablation_limit = 4
    config.anchor_strengths = (0.3,)
    config.kid_subsets = 10
    config.latency_edits = 2
    config.latency_only = "sdedit"
    config.edit.num_iter = 4
    config.edit.start_iter = 1
    keep = [k for k in ("inpaint", "sdedit") if k in config.methods]
    abl = [k for k in sorted(config.ablations)
           if config.ablation_base.get(k) in keep][:1]
    config.only = ",".join(keep + abl)
    config.command += " --config.quick=True"


def _as_tuple(value) -> tuple:
  if isinstance(value, str):
    return tuple(v.strip() for v in value.split(",") if v.strip())
  return tuple(value)


def entries(config) -> list[Entry]:
  """Configured entries (methods, then ablations), filtered by `only`."""
  only = set(_as_tuple(config.only))
  known = set(config.methods) | set(config.ablations)
  unknown = only - known
  if unknown:
    raise ValueError(f"config.only names unknown entries {sorted(unknown)}; "
                     f"known: {sorted(known)}.")
  out = []
  for group, table in (("method", config.methods),
                       ("ablation", config.ablations)):
    for name, spec in table.items():
      spec = dict(spec)
      if "method" not in spec:
        raise ValueError(f"Entry {name!r} has no 'method'.")
      method = spec.pop("method")
      default_s = (config.strengths if group == "method"
                   else config.ablation_strengths)
      strengths = tuple(float(s) for s in spec.pop("strengths", default_s))
      strengths = pool_lib.method(config.edit, method).strengths(strengths)
      kinds = _as_tuple(spec.pop("kinds", config.kinds if group == "method"
                                 else config.ablation_kinds))
      limit = int(spec.pop("limit", config.method_limit if group == "method"
                           else config.ablation_limit))
      base = (config.ablation_base.get(name, "") if group == "ablation"
              else "")
      spec = {k: (v.to_dict() if hasattr(v, "to_dict") else v)
              for k, v in spec.items()}
      for key, value in spec.items():
        if key not in config.edit:
          raise ValueError(f"Entry {name!r}: {key!r} is not a field of the "
                           "edit config (configs/edit.py).")
        if isinstance(value, dict):
          for sub in value:
            if sub not in config.edit[key]:
              raise ValueError(f"Entry {name!r}: {key}.{sub} is not a "
                               "field of the edit config.")
      for s in strengths:
        if not 0.0 <= s <= 1.0:
          raise ValueError(f"Entry {name!r}: strength {s} not in [0, 1].")
      if not only or name in only:
        out.append(Entry(name, group, method, spec, strengths, kinds, limit,
                         base))
  return out


def edit_config_for(config, entry: Entry):
  """A copy of `config.edit` with the entry's method and overrides."""
  cfg = config.edit.copy_and_resolve_references()
  with cfg.unlocked():
    cfg.method = entry.method
    for k, v in entry.overrides.items():
      if isinstance(v, dict):  # A method's sub-section: merge its keys.
        for sub, x in v.items():
          cfg[k][sub] = x
      else:
        cfg[k] = v
  return cfg


# ------------------------------------------------------------- benchmark
def load_benchmark(config) -> benchmark_set.BenchmarkArrays:
  b = config.benchmark
  manifest = benchmark_set.ensure(b.data, b.out, b.split, int(b.seed),
                                  int(b.limit))
  return benchmark_set.load(manifest)


def subset(bench: benchmark_set.BenchmarkArrays, kinds, limit: int
           ) -> benchmark_set.BenchmarkArrays:
  """Edits of `kinds` (in that order), the first `limit` images of each."""
  keep = []
  for kind in kinds:
    idx = [i for i, k in enumerate(bench.kinds) if k == kind]
    if not idx:
      raise ValueError(f"Benchmark has no edits of kind {kind!r}.")
    keep.extend(idx[:limit] if limit else idx)
  return bench.select(np.asarray(keep, np.int64))


# ---------------------------------------------------------------- editing
def _pad(x: np.ndarray, n: int) -> np.ndarray:
  if len(x) == n:
    return x
  return np.concatenate([x, np.repeat(x[-1:], n - len(x), axis=0)])


def edit_all(editor, options, data: benchmark_set.BenchmarkArrays,
             strength: float, seed: int, num_samples: int, batch_size: int,
             on_batch=None) -> dict:
  """Edits every benchmark item in fixed-size batches, grouped by kind.

  Chunk i of a kind (in benchmark order) uses seed `seed * 100003 + i`; the
  last chunk is padded by repeating its last edit (one compiled shape).

  Returns:
    dict(images float32 [N, S, H, W, 3], weights float32 [N, H, W],
    seconds: device+host seconds of the calls that did not compile,
    edits_timed: how many edits those calls produced).
  """
  n = len(data)
  out = np.zeros((n, num_samples) + data.images.shape[1:], np.float32)
  weights = np.zeros(data.masks.shape, np.float32)
  seconds, timed = 0.0, 0
  chunk_id = 0
  for kind in dict.fromkeys(data.kinds):
    idx = np.asarray([i for i, k in enumerate(data.kinds) if k == kind])
    for start in range(0, len(idx), batch_size):
      sel = idx[start:start + batch_size]
      b = min(batch_size, len(idx))
      images = _pad(data.images[sel], b).astype(np.float32) / 255.0
      guides = _pad(data.guides[sel], b).astype(np.float32) / 255.0
      masks = list(_pad(data.masks[sel], b))
      labels = _pad(data.labels[sel], b)
      res = editor.edit(images, guides, masks, labels=labels,
                        strength=strength, seed=seed * 100003 + chunk_id,
                        num_samples=num_samples, options=options)
      chunk_id += 1
      out[sel] = res.images[:len(sel)]
      weights[sel] = res.feather_weights[:len(sel)]
      if not res.compiled:
        seconds += res.timings["total"]
        timed += len(sel) * num_samples
      if on_batch is not None:
        on_batch(len(sel))
  return dict(images=out, weights=weights, seconds=seconds,
              edits_timed=timed)


def latency(editor, options, data: benchmark_set.BenchmarkArrays,
            strength: float, num_edits: int, seed: int) -> dict:
  """Compiled latency of single edits (batch 1, 1 sample), seconds.

  Each of the first `num_edits` edits is run twice; the second call (never
  a compilation) is timed (`EditResult.timings['total']`: host prep +
  device + composite).
  """
  times = []
  for i in range(min(num_edits, len(data))):
    args = (data.images[i:i + 1].astype(np.float32) / 255.0,
            data.guides[i:i + 1].astype(np.float32) / 255.0,
            [data.masks[i]])
    for attempt in range(2):
      res = editor.edit(*args, labels=data.labels[i:i + 1],
                        strength=strength, seed=seed, num_samples=1,
                        options=options)
      if attempt == 1 and not res.compiled:
        times.append(res.timings["total"])
  if not times:
    return {}
  return dict(median_s=float(np.median(times)), max_s=float(max(times)),
              num_edits=len(times))


# ---------------------------------------------------------------- scoring
def score(outputs: np.ndarray, weights: np.ndarray,
          data: benchmark_set.BenchmarkArrays, extractor, ref_features,
          config) -> tuple[dict, dict]:
  """Per-kind metrics of outputs [N, S, H, W, 3] (see metrics.py).

  Returns:
    (per-kind summary {kind: {metric: value}}, per-edit arrays {metric: [N]}
    averaged over samples).
  """
  n, s = outputs.shape[:2]
  flat = outputs.reshape((n * s,) + outputs.shape[2:])
  rep = lambda a: np.repeat(a, s, axis=0)
  guides, images, masks = rep(data.guides), rep(data.images), rep(data.masks)
  per = dict(
      stroke_rmse_mask=metrics.stroke_rmse(flat, guides, masks),
      stroke_rmse_image=metrics.stroke_rmse(flat, guides),
      sdedit_l2=metrics.sdedit_l2(flat, guides),
      change_rmse_mask=metrics.region_rmse(flat, images, masks),
      max_change_outside=metrics.max_change_outside(
          flat, images, rep(weights)),
  )
  per = {k: v.reshape(n, s).mean(1) for k, v in per.items()}
  feats = extractor.features(flat)
  summary = {}
  for kind in dict.fromkeys(data.kinds):
    sel = np.asarray([k == kind for k in data.kinds])
    row = {k: float(np.mean(v[sel])) for k, v in per.items()}
    row["max_change_outside"] = float(per["max_change_outside"][sel].max())
    row["num_edits"] = int(sel.sum())
    if data.has_truth[sel].all():
      # Truth = the original image for every inversion kind.
      row["truth_rmse_mask"] = row["change_rmse_mask"]
    fsel = np.repeat(sel, s)
    k_mean, k_std = metrics.kid(
        feats[fsel], ref_features, num_subsets=int(config.kid_subsets),
        subset_size=int(config.kid_subset_size), seed=int(config.seed))
    row["kid"], row["kid_std"] = k_mean, k_std
    row["fid"] = (metrics.fid(feats[fsel], ref_features)
                  if fsel.sum() > 2 else float("nan"))
    summary[kind] = row
  inv = [k for k in dict.fromkeys(data.kinds)
         if k in benchmark_set.INVERSION_KINDS]
  if len(inv) > 1:
    # Pooled: every inversion edit of the run (more images for KID).
    summary[POOLED] = _pooled(per, feats, data, inv, s, ref_features, config)
  return summary, per


POOLED = "all_inversion"


def _pooled(per, feats, data, kinds, s, ref_features, config) -> dict:
  sel = np.asarray([k in kinds for k in data.kinds])
  row = {k: float(np.mean(v[sel])) for k, v in per.items()}
  row["max_change_outside"] = float(per["max_change_outside"][sel].max())
  row["num_edits"] = int(sel.sum())
  row["truth_rmse_mask"] = row["change_rmse_mask"]
  fsel = np.repeat(sel, s)
  row["kid"], row["kid_std"] = metrics.kid(
      feats[fsel], ref_features, num_subsets=int(config.kid_subsets),
      subset_size=int(config.kid_subset_size), seed=int(config.seed))
  row["fid"] = metrics.fid(feats[fsel], ref_features)
  return row


# ----------------------------------------------------------------- caching
def _key(payload: dict) -> str:
  text = json.dumps(payload, sort_keys=True, default=str)
  return hashlib.sha1(text.encode()).hexdigest()[:16]


@functools.lru_cache(maxsize=None)
def _file_digest(path: str) -> str:
  """sha1 of a file's bytes ('' when missing): weights are part of keys."""
  if not path or not os.path.isfile(path):
    return ""
  with open(path, "rb") as f:
    return hashlib.sha1(f.read()).hexdigest()[:16]


def run_key(config, entry: Entry, strength: float, cfg) -> str:
  settings = json.loads(cfg.to_json_best_effort())
  for k in ("inputs", "output_dir", "overwrite", "keep_going", "progress",
            "compilation_cache", "summary_grid", "sweep", "strength"):
    settings.pop(k, None)
  return _key(dict(
      version=RESULT_VERSION, method=entry.method, strength=float(strength),
      settings=settings, kinds=list(entry.kinds), limit=entry.limit,
      benchmark=json.loads(config.benchmark.to_json_best_effort()),
      seed=int(config.seed), num_samples=int(config.num_samples),
      batch_size=int(config.batch_size),
      kid=(int(config.kid_subsets), int(config.kid_subset_size)),
      features=_file_digest(config.features_path),
      reference_split=config.reference_split,
      reference_data=os.path.abspath(config.reference_data or
                                     config.benchmark.data),
      weights=[_file_digest(cfg.tokenizer_path),
               _file_digest(cfg.transformer_path)]))


def run_name(entry_name: str, strength: float) -> str:
  return f"{entry_name}__s{strength:.3f}"


def _write_json(path: str, obj: Any) -> None:
  os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
  tmp = path + ".tmp"
  with open(tmp, "w") as f:
    json.dump(obj, f, indent=1, sort_keys=True)
  os.replace(tmp, path)


def _load_cached(path: str, key: str) -> dict | None:
  if not os.path.exists(path):
    return None
  with open(path) as f:
    rec = json.load(f)
  return rec if rec.get("key") == key else None


# --------------------------------------------------------------- the run
def reference_features(config, extractor) -> np.ndarray:
  """Features of the real reference images (cached in runs_dir)."""
  path = os.path.join(config.runs_dir, f"reference_{config.reference_split}"
                      ".npz")
  data = config.reference_data or config.benchmark.data
  key = _key(dict(data=os.path.abspath(data), split=config.reference_split,
                  features=_file_digest(config.features_path)))
  if os.path.exists(path):
    with np.load(path) as f:
      if str(f["key"]) == key:
        return f["features"]
  with np.load(data) as f:
    images = f[f"{config.reference_split}_image"]
  feats = extractor.features(images)
  os.makedirs(config.runs_dir, exist_ok=True)
  np.savez(path, features=feats, key=key)
  return feats


def _reference_rows(bench, extractor, ref_feats, config) -> dict:
  """Scores of the originals and of the raw guides (no editing)."""
  out = {}
  ones = np.zeros(bench.masks.shape, np.float32)
  for name, imgs in (("originals", bench.images), ("raw_guides",
                                                    bench.guides)):
    summary, _ = score(imgs[:, None].astype(np.float32) / 255.0, ones, bench,
                       extractor, ref_feats, config)
    out[name] = summary
  return out


def _machine() -> str:
  import jax  # pylint: disable=g-import-not-at-top
  return (f"{platform.machine()} {platform.system()}, {os.cpu_count()} CPU "
          f"cores, jax {jax.__version__} on {jax.default_backend()}")


def run(config) -> dict:
  """Runs (or reuses) every run, then writes JSON, doc and plots."""
  from maskgit import runtime  # pylint: disable=g-import-not-at-top
  from maskgit_edit import features  # pylint: disable=g-import-not-at-top
  apply_quick(config)
  runtime.enable_compilation_cache(config.edit.compilation_cache)
  todo = entries(config)
  bench = load_benchmark(config)
  extractor = features.FeatureExtractor.load(config.features_path)
  ref_feats = reference_features(config, extractor)
  headline = config.headline_kind
  # Strength 0 returns the guide's tokens (G_E) for every method.
  ref_entry = Entry("guide_tokens", "reference", "sdedit", {}, (0.0,),
                    _as_tuple(config.kinds), int(config.method_limit))
  plan = [(ref_entry, 0.0)] + [(e, s) for e in todo for s in e.strengths]
  pool = pool_lib.EditorPool()
  os.makedirs(config.runs_dir, exist_ok=True)
  results, pending = {}, []
  for entry, s in plan:
    cfg = edit_config_for(config, entry)
    key = run_key(config, entry, s, cfg)
    path = os.path.join(config.runs_dir, run_name(entry.name, s) + ".json")
    rec = _load_cached(path, key)
    if rec is None:
      pending.append((entry, s, cfg, key, path))
    else:
      results[(entry.name, s)] = rec
  skipped = len(pending) if config.report_only else 0
  if config.report_only and pending:
    print(f"report_only: {len(pending)} runs not cached are left out: " +
          ", ".join(run_name(e.name, s) for e, s, *_ in pending),
          file=sys.stderr)
    pending = []
  sizes = {}
  for entry, *_ in pending:
    if entry.name not in sizes:
      sizes[entry.name] = len(subset(bench, entry.kinds, entry.limit))
  total = sum(sizes[e.name] for e, *_ in pending)
  bar = _progress(total, config.progress)
  print(f"{len(plan)} runs: {len(plan) - len(pending) - skipped} cached, "
        f"{len(pending)} to do ({total} edits).", file=sys.stderr)
  for entry, s, cfg, key, path in pending:
    data = subset(bench, entry.kinds, entry.limit)
    editor = pool.editor(cfg, entry.method)
    options = pool.options(cfg, entry.method)
    if bar is not None:
      bar.set_description(f"{entry.name} s={s:.2f}")
    t0 = time.perf_counter()
    out = edit_all(editor, options, data, s, int(config.seed),
                   int(config.num_samples), int(config.batch_size),
                   on_batch=bar.update if bar is not None else None)
    wall = time.perf_counter() - t0
    summary, per = score(out["images"], out["weights"], data, extractor,
                         ref_feats, config)
    rec = dict(
        key=key, entry=entry.name, group=entry.group, method=entry.method,
        strength=s, overrides=entry.overrides, kinds=list(entry.kinds),
        limit=entry.limit, per_kind=summary,
        seconds_per_edit=(out["seconds"] / out["edits_timed"]
                          if out["edits_timed"] else None),
        wall_s=round(wall, 2), date=datetime.date.today().isoformat(),
        load_average=[round(x, 1) for x in os.getloadavg()],
        machine=_machine())
    keep = np.concatenate([
        np.flatnonzero(np.asarray(data.kinds) == k)[:NUM_KEPT_OUTPUTS]
        for k in dict.fromkeys(data.kinds)])
    np.savez_compressed(
        path[:-5] + ".npz", names=np.asarray(data.names),
        outputs=(np.clip(out["images"][keep, 0], 0, 1) * 255 + 0.5
                 ).astype(np.uint8), output_names=np.asarray(
                     [data.names[i] for i in keep]),
        **{k: v.astype(np.float32) for k, v in per.items()})
    _write_json(path, rec)
    results[(entry.name, s)] = rec
  if bar is not None:
    bar.close()
  # Latency (same process, same machine), cached like the runs.
  lat = {}
  lat_kind = _as_tuple(config.ablation_kinds)[0]
  lat_data = subset(bench, (lat_kind,), int(config.latency_edits))
  for entry in todo:
    if lat_kind not in entry.kinds:
      continue
    if config.latency_only and entry.name not in _as_tuple(
        config.latency_only):
      continue
    cfg = edit_config_for(config, entry)
    s = pool_lib.method(cfg, entry.method).strengths(
        (config.latency_strength,))[0]
    key = run_key(config, entry, s, cfg) + f"-lat{config.latency_edits}"
    path = os.path.join(config.runs_dir, entry.name + "__latency.json")
    rec = _load_cached(path, key)
    if rec is None and config.report_only:
      continue
    if rec is None:
      editor = pool.editor(cfg, entry.method)
      rec = dict(key=key, strength=s, **latency(
          editor, pool.options(cfg, entry.method), lat_data, s,
          int(config.latency_edits), int(config.seed)),
                 load_average=[round(x, 1) for x in os.getloadavg()],
                 machine=_machine(), date=datetime.date.today().isoformat())
      _write_json(path, rec)
    lat[entry.name] = rec
  refs = _reference_rows(subset(bench, _as_tuple(config.kinds),
                                int(config.method_limit)), extractor,
                         ref_feats, config)
  refs["guide_tokens"] = results[("guide_tokens", 0.0)]["per_kind"]
  # All test images (each kind holds every image once).
  first = _as_tuple(config.kinds)[0]
  test_feats = extractor.features(bench.images[np.asarray(
      [k == first for k in bench.kinds])])
  summary = summarize(config, todo, results, lat, refs, test_feats,
                      ref_feats, extractor, bench)
  _write_json(config.out_json, summary)
  from maskgit_edit import compare_report  # pylint: disable=g-import-not-at-top
  paths = compare_report.write_plots(summary, config.plots_dir,
                                     prefix="compare_quick_"
                                     if config.quick else "compare_")
  compare_report.write_doc(summary, config.out_doc, paths)
  if config.readme and not config.quick:
    if not compare_report.update_readme(summary, config.readme, paths):
      print(f"NOTE: {config.readme} has no compare.py markers; README not "
            "updated.", file=sys.stderr)
  print(f"Wrote {config.out_json}, {config.out_doc}, "
        f"{', '.join(paths.values())}.", file=sys.stderr)
  return summary


def _rel(path: str) -> str:
  """Path relative to the repository when inside it (portable JSON)."""
  root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
  path = os.path.abspath(path)
  return os.path.relpath(path, root) if path.startswith(root) else path


def _progress(total: int, on: bool):
  try:
    from tqdm import tqdm  # pylint: disable=g-import-not-at-top
  except ImportError:  # pragma: no cover
    return None
  return tqdm(total=total, disable=not on, file=sys.stderr, unit="edit")


# ---------------------------------------------------------------- summary
def _curve(results, entry: Entry, kind: str):
  pts = []
  for s in entry.strengths:
    rec = results.get((entry.name, s))
    if rec is None or kind not in rec["per_kind"]:
      continue
    r = rec["per_kind"][kind]
    pts.append((s, r["stroke_rmse_mask"], r["kid"]))
  return sorted(pts)


def summarize(config, todo, results, lat, refs, test_feats, ref_feats,
              extractor, bench) -> dict:
  """Everything the doc and plots need (JSON-serialisable)."""
  del extractor
  headline = config.headline_kind
  k_mean, k_std = metrics.kid(test_feats, ref_feats,
                              num_subsets=int(config.kid_subsets),
                              subset_size=int(config.kid_subset_size),
                              seed=int(config.seed))
  runs = []
  for (name, s), rec in sorted(results.items()):
    runs.append({k: rec.get(k) for k in (
        "entry", "group", "method", "strength", "overrides", "kinds", "limit",
        "per_kind", "seconds_per_edit", "wall_s", "date", "machine",
        "load_average")})
  entries_out = []
  for e in todo:
    best = None
    for s in e.strengths:
      rec = results.get((e.name, s))
      if rec is None or headline not in rec["per_kind"]:
        continue
      t = rec["per_kind"][headline].get("truth_rmse_mask")
      if t is not None and (best is None or t < best[1]):
        best = (s, t)
    entries_out.append(dict(
        name=e.name, group=e.group, method=e.method, overrides=e.overrides,
        strengths=list(e.strengths), kinds=list(e.kinds), limit=e.limit,
        base=e.base, best_strength=best[0] if best else None,
        latency=lat.get(e.name)))
  # Matched comparisons on the headline kind (methods only).
  anchor = next((e for e in todo if e.name == config.anchor), None)
  matched = []
  if anchor is not None:
    acurve = _curve(results, anchor, headline)
    for s_a in _as_tuple(config.anchor_strengths):
      s_a = float(s_a)
      hit = [p for p in acurve if abs(p[0] - s_a) < 1e-9]
      if not hit:
        continue
      _, f_t, k_t = hit[0]
      row = dict(anchor_strength=s_a, faithfulness=f_t, kid=k_t, at={})
      for e in todo:
        if e.group != "method":
          continue
        c = _curve(results, e, headline)
        if not c:
          continue
        ss, ff, kk = zip(*c)
        row["at"][e.name] = dict(
            kid_at_faithfulness=metrics.interpolate_at(ff, kk, f_t),
            faithfulness_at_kid=metrics.interpolate_at(kk, ff, k_t),
            strength_at_faithfulness=metrics.interpolate_at(ff, ss, f_t),
            strength_at_kid=metrics.interpolate_at(kk, ss, k_t))
      matched.append(row)
  # Pareto front over all method points, per kind.
  pareto = {}
  for kind in _as_tuple(config.kinds) + (POOLED,):
    pts, labels = [], []
    for e in todo:
      if e.group != "method":
        continue
      for s, f, k in _curve(results, e, kind):
        pts.append((f, k))
        labels.append([e.name, s])
    pareto[kind] = ([labels[i] for i in metrics.pareto_front(pts)]
                    if pts else [])
  dates = sorted({r["date"] for r in runs})
  from maskgit_edit import features as features_lib  # pylint: disable=g-import-not-at-top
  feat_meta_path = os.path.splitext(config.features_path)[0] + ".json"
  feat_meta = {}
  if os.path.exists(feat_meta_path):
    with open(feat_meta_path) as f:
      feat_meta = json.load(f)
  del features_lib
  counts = {k: int(sum(1 for x in bench.kinds if x == k))
            for k in _as_tuple(config.kinds)}
  return dict(
      version=RESULT_VERSION, command=config.command, quick=bool(config.quick),
      machine=runs[0]["machine"] if runs else _machine(),
      dates=dates, headline_kind=headline,
      benchmark=dict(**{k: (_rel(v) if k in ("data", "out") else v)
                        for k, v in json.loads(
                            config.benchmark.to_json_best_effort()).items()},
                     edits_per_kind=counts),
      edit_defaults=dict(
          num_iter=config.edit.num_iter, start_iter=config.edit.start_iter,
          schedule=config.edit.schedule, feather=config.edit.feather,
          dilation=config.edit.dilation,
          transformer=_rel(config.edit.transformer_path)),
      seed=int(config.seed), num_samples=int(config.num_samples),
      batch_size=int(config.batch_size),
      kid=dict(subsets=int(config.kid_subsets),
               subset_size=int(config.kid_subset_size),
               reference=f"{config.reference_split} split "
                         f"({len(ref_feats)} images)"),
      features=dict(path=os.path.basename(config.features_path), **feat_meta),
      real_test_vs_reference=dict(kid=k_mean, kid_std=k_std,
                                  fid=metrics.fid(test_feats, ref_feats)),
      references=refs, entries=entries_out, runs=runs, matched=matched,
      pareto=pareto, anchor=config.anchor,
      ablation_kind=_as_tuple(config.ablation_kinds)[0],
      method_limit=int(config.method_limit))
