"""The evaluation run: tune on validation, edit test, score, compare.

`run(config)` (configs/evaluation.py; benchmarks/evaluate.py):

1. The benchmark (`benchmark_set`) and the samples: per kind a seeded random
   sample of distinct images of the test split (`images_per_kind`), and of
   the validation split for the restore kinds (`val_images_per_kind`).
2. Tuning: every method with a strength grid edits the validation sample at
   each strength (seed 0); the strength with the lowest mean `tune_metric`
   (perceptual distance to the truth) is kept, and whether it sits at the
   edge of the grid is recorded.
3. Test: every method at its kept strength, and the reference rows (the
   no-op, the raw guide, G_E = the guide's tokens decoded), edit the test
   sample once per seed. Every edit goes through the one editing loop
   (`maskgit_edit.batch.loop`); an item's seed is a hash of (seed, name), the
   same for every method, so the comparisons are paired.
4. Scores: the per-image metrics of `metrics.METRICS` (averaged over seeds)
   and the feature network's features of every output (KID).
5. Statistics (`stats`): per kind and pooled, each row's value with a paired
   image-bootstrap 95% interval, and its difference with each `compare_to`
   row (better / tie / worse); ablations against their method.
6. Latency at the kept strength: batch 1 and batched, through the loop.
7. The feature sanity suite on the test images, then JSON + report
   (`report`).

Runs are cached in `runs_dir` under a key of every setting that can change
them (weights included), so a rerun reuses them and a killed run resumes.
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

import numpy as np

from maskgit import io_utils
from maskgit_edit.batch import loop
from maskgit_edit.evaluation import benchmark_set as bs
from maskgit_edit.evaluation import features as features_lib
from maskgit_edit.evaluation import metrics
from maskgit_edit.evaluation import splits as splits_lib
from maskgit_edit.methods import pool as pool_lib
from maskgit_edit.samplers import self_fixed

RESULT_VERSION = 1  # Bump when scoring changes (invalidates the cache).
REFERENCES = ("noop", "guide", "g_e")  # Rows that need no tuning.
REFERENCE_LABELS = {
    "noop": "no-op (the input unchanged)",
    "guide": "raw guide (the paint pasted)",
    "g_e": "G_E (the guide's tokens decoded; every token method at "
           "strength 0)"}
# Axes of the verdicts: (metric, kinds) pooled by image.
AXES = {
    "faithfulness": ("stroke", ("recolour",)),
    "truth": ("perceptual", bs.TRUTH_KINDS),
    "realism": ("kid", bs.KINDS),
    "seam": ("seam", ("local", "segment", "recolour")),
}


@dataclasses.dataclass(frozen=True)
class Entry:
  """A configured row: a method, or an ablation of one (`base`)."""
  name: str
  method: str
  overrides: dict
  strengths: tuple
  base: str = ""


# G_E: sdedit at strength 0, the guide's tokens decoded (a reference row).
G_E = Entry("g_e", "sdedit", {}, (0.0,))


def _plain(v):
  return v.to_dict() if hasattr(v, "to_dict") else v


def entries(config) -> tuple[list[Entry], list[Entry]]:
  """(methods, ablations) of the config, checked before any work."""
  methods, ablations = [], []
  for name, spec in config.methods.items():
    spec = {k: _plain(v) for k, v in _plain(spec).items()}
    if "method" not in spec:
      raise ValueError(f"Entry {name!r} has no 'method'.")
    method = spec.pop("method")
    record = pool_lib.method(config.edit, method)
    strengths = record.strengths(spec.pop("strengths", (0.5,)))
    _check_overrides(config, name, spec)
    methods.append(Entry(name, method, spec, strengths))
  by_name = {e.name: e for e in methods}
  for name, spec in config.ablations.items():
    spec = {k: _plain(v) for k, v in _plain(spec).items()}
    base = spec.pop("base", "")
    if base not in by_name:
      raise ValueError(f"Ablation {name!r}: base {base!r} is not a method "
                       f"entry ({', '.join(by_name)}).")
    _check_overrides(config, name, spec)
    b = by_name[base]
    ablations.append(Entry(name, b.method, {**b.overrides, **spec}, (),
                           base))
  for ref in config.compare_to:
    if ref not in REFERENCES and ref not in by_name:
      raise ValueError(f"compare_to {ref!r} is neither a reference row "
                       f"({', '.join(REFERENCES)}) nor a method entry.")
  if config.tune_metric not in metrics.METRIC_BY_NAME:
    raise ValueError(f"Unknown tune_metric {config.tune_metric!r}.")
  return methods, ablations


def _check_overrides(config, name: str, spec: dict) -> None:
  for key, value in spec.items():
    if key not in config.edit:
      raise ValueError(f"Entry {name!r}: {key!r} is not a field of the "
                       "edit config (configs/edit.py).")
    if isinstance(value, dict):
      for sub in value:
        if sub not in config.edit[key]:
          raise ValueError(f"Entry {name!r}: {key}.{sub} is not a field of "
                           "the edit config.")


def edit_config_for(config, entry: Entry):
  """A copy of `config.edit` with the entry's method and overrides."""
  cfg = config.edit.copy_and_resolve_references()
  with cfg.unlocked():
    cfg.method = entry.method
    for k, v in entry.overrides.items():
      if isinstance(v, dict):
        for sub, x in v.items():
          cfg[k][sub] = x
      else:
        cfg[k] = v
  return cfg


# Edit-config keys that cannot change an edit's output here: run plumbing,
# the batch CLI's devices and writer (outputs bit-identical, tested in
# tests/test_batch_parallel.py and test_batch_writer.py), and the any-size
# windows and outpainting (maskgit_edit/anysize.py; the evaluation edits
# model-size items through `loop.edit_items`).
_NOT_SETTINGS = ("inputs", "output_dir", "progress", "compilation_cache",
                 "summary_grid", "sweep", "strength", "overwrite",
                 "keep_going", "batch_size", "data_parallel", "write_queue",
                 "window_context", "outpaint", "outpaint_strength")
# Options that are off at these values: the method bit for bit (tested in
# tests/test_rerank.py and tests/test_samplers.py). Left out of the cache
# key when off, so adding such an option keeps the cached rows valid.
_OFF = (("rerank", None, ("num_candidates", 1)),
        ("sdedit", ("critic", "critic_sigma"), ("critic", 0.0)),
        ("selfcond", ("critic", "critic_sigma"), ("critic", 0.0)))


def cache_settings(settings: dict) -> dict:
  """The edit settings (config JSON) that a cached row's key holds."""
  settings = {k: v for k, v in settings.items() if k not in _NOT_SETTINGS}
  for section, keys, (key, off) in _OFF:
    sec = settings.get(section)
    if isinstance(sec, dict) and sec.get(key, off) == off:
      if keys is None:
        settings.pop(section)
      else:
        settings[section] = {k: v for k, v in sec.items() if k not in keys}
  return settings


def item_seed(seed: int, name: str) -> int:
  """The editing seed of one item: the same for every method (paired)."""
  return int.from_bytes(hashlib.sha256(f"{seed}/{name}".encode()).digest()[
      :4], "big")


def _digest(path: str) -> str:
  """Content digest of a file ('' if none); re-read when the file changes."""
  if not path or not os.path.isfile(path):
    return ""
  st = os.stat(path)
  return _digest_of(os.path.realpath(path), st.st_mtime_ns, st.st_size)


@functools.lru_cache(maxsize=None)
def _digest_of(path: str, mtime_ns: int, size: int) -> str:
  del mtime_ns, size  # Part of the cache key only.
  with open(path, "rb") as f:
    return hashlib.sha1(f.read()).hexdigest()[:16]


def _key(payload: dict) -> str:
  return hashlib.sha1(json.dumps(payload, sort_keys=True, default=str)
                      .encode()).hexdigest()[:16]


def machine() -> str:
  import jax  # pylint: disable=g-import-not-at-top
  return (f"{platform.machine()} {platform.system()}, {os.cpu_count()} CPU "
          f"cores, jax {jax.__version__} on {jax.default_backend()}")


class Evaluation:
  """One evaluation run (see the module docstring)."""

  def __init__(self, config):
    self.c = config
    self.methods, self.ablations = entries(config)
    self.pool = pool_lib.EditorPool()
    manifest = bs.ensure(config.data, config.benchmark_dir,
                         int(config.benchmark_seed),
                         int(config.benchmark_limit), config.splits_path)
    self.bench = bs.load(manifest)
    self.parts = splits_lib.load(splits_lib.ensure(config.data,
                                                   config.splits_path))
    self.extractor = features_lib.FeatureExtractor.load(config.features_path)
    self.ref_feats = self._reference_features()
    self.test_rows = self._sample("test", bs.KINDS, config.images_per_kind)
    self.val_rows = self._sample("val", bs.TRUTH_KINDS,
                                 config.val_images_per_kind)
    self.bar = None

  # ------------------------------------------------------------- samples
  def _sample(self, split: str, kinds, n: int) -> np.ndarray:
    """Benchmark rows: per kind a seeded random sample of distinct images."""
    rows = []
    for k, kind in enumerate(kinds):
      where = self.bench.where(kind, split)
      if not len(where):
        raise ValueError(f"The benchmark has no {kind} edits in {split}.")
      rng = np.random.default_rng([int(self.c.sample_seed),
                                   bs.KINDS.index(kind), len(split)])
      take = len(where) if (self.c.full or not n) else min(n, len(where))
      rows.append(np.sort(rng.permutation(where)[:take]))
      del k
    return np.concatenate(rows)

  def _reference_features(self) -> np.ndarray:
    ref = self.parts["reference"].images
    if self.c.reference_limit:
      ref = ref[:int(self.c.reference_limit)]
    path = os.path.join(self.c.runs_dir, "reference_features.npz")
    key = _key(dict(n=len(ref), ids=list(self.parts["reference"].ids[
        :len(ref)]), features=_digest(self.c.features_path)))
    if os.path.isfile(path):
      with np.load(path) as f:
        if str(f["key"]) == key:
          return f["features"]
    feats = self.extractor.features(ref)
    os.makedirs(self.c.runs_dir, exist_ok=True)
    with io_utils.atomic_write(path) as fh:
      np.savez(fh, features=feats, key=key)
    return feats

  # --------------------------------------------------------------- edits
  def _edit(self, entry: Entry | str, strength: float, rows: np.ndarray,
            seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Outputs uint8 [R, S, S, 3] and weights [R, S, S] of rows."""
    b = self.bench
    if entry == "noop":
      return b.images[rows], np.zeros(b.masks[rows].shape, np.float32)
    if entry == "guide":
      return b.guides[rows], b.masks[rows].astype(np.float32)
    cfg = edit_config_for(self.c, entry)
    editor = self.pool.editor(cfg, entry.method)
    options = self.pool.options(cfg, entry.method)
    items = [loop.EditItem(
        name=b.names[r], image=b.images[r].astype(np.float32) / 255.0,
        guide=b.guides[r].astype(np.float32) / 255.0, mask=b.masks[r],
        label=int(b.labels[r]), seed=item_seed(seed, b.names[r]), data=k)
             for k, r in enumerate(rows)]
    out = np.zeros(b.images[rows].shape, np.uint8)
    weights = np.zeros(b.masks[rows].shape, np.float32)
    for o in loop.edit_items(editor, options, items, strength=strength,
                             num_samples=1, batch_size=int(self.c.batch_size)):
      if isinstance(o, loop.ItemFailure):
        raise ValueError(f"Benchmark edit {o.name} failed: {o.error}")
      out[o.item.data] = metrics.to_uint8(o.images[:1])[0]
      weights[o.item.data] = o.weights
      if self.bar is not None:
        self.bar.update(1)
    return out, weights

  def cache_key(self, entry: Entry | str, strength: float, rows: np.ndarray,
                seed: int, keep_outputs: bool) -> str:
    """The key of one cached run: everything that can change its scores.

    Weight files count by their content, never by their path: a model
    moved or copied keeps its cached rows, and a file replaced in place
    (new weights under the old name) invalidates them.
    """
    name = entry if isinstance(entry, str) else entry.name
    settings = ({} if isinstance(entry, str) else cache_settings(json.loads(
        edit_config_for(self.c, entry).to_json_best_effort())))
    weights = {k: _digest(settings.pop(k, "")) for k in (
        "tokenizer_path", "transformer_path", "selfcond_transformer_path")}
    if "diffusion" in settings:
      weights["diffusion"] = _digest(settings["diffusion"].pop("weights", ""))
    if "self_fixed" in settings:
      table = settings["self_fixed"].pop("table", "")
      if settings.get("method") == "self_fixed":
        weights["self_fixed_table"] = _digest(
            table or self_fixed.default_table_path())
    return _key(dict(
        version=RESULT_VERSION, entry=name, strength=float(strength),
        settings=settings, rows=[self.bench.names[r] for r in rows],
        seed=int(seed), keep=keep_outputs, weights=weights,
        features=_digest(self.c.features_path),
        benchmark=_digest(os.path.join(self.c.benchmark_dir, bs.MANIFEST))))

  def _run(self, entry: Entry | str, strength: float, rows: np.ndarray,
           seed: int, tag: str, keep_outputs: bool) -> dict:
    """Scores of one (entry, strength, rows, seed), cached in runs_dir."""
    name = entry if isinstance(entry, str) else entry.name
    key = self.cache_key(entry, strength, rows, seed, keep_outputs)
    path = os.path.join(self.c.runs_dir,
                        f"{name}__s{strength:.3f}__{tag}__seed{seed}.npz")
    if os.path.isfile(path):
      with np.load(path) as f:
        if str(f["key"]) == key:
          if self.bar is not None:
            self.bar.update(len(rows))
          return {k: f[k] for k in f.files}
    t0 = time.perf_counter()
    out, weights = self._edit(entry, strength, rows, seed)
    wall = time.perf_counter() - t0
    b = self.bench
    per = metrics.score(out, b.images[rows], b.guides[rows], b.masks[rows],
                        b.truths[rows], b.has_truth[rows], weights,
                        self.extractor, int(self.c.edit.feather))
    rec = {f"metric_{k}": v for k, v in per.items()}
    rec.update(features=self.extractor.features(out), key=key,
               wall_s=np.float64(wall))
    if keep_outputs:
      rec["outputs"] = out
    os.makedirs(self.c.runs_dir, exist_ok=True)
    with io_utils.atomic_write(path) as fh:
      np.savez_compressed(fh, **rec)
    return rec

  # ---------------------------------------------------------------- steps
  def tune(self, entry: Entry) -> dict:
    """The validation curve of an entry and its kept strength."""
    curve = []
    for s in entry.strengths:
      rec = self._run(entry, s, self.val_rows, 0, "val", False)
      curve.append({m.name: float(np.nanmean(rec[f"metric_{m.name}"]))
                    for m in metrics.METRICS})
    obj = [c[self.c.tune_metric] for c in curve]
    best = int(np.argmin(obj))
    return dict(strengths=list(entry.strengths), curve=curve,
                chosen=float(entry.strengths[best]),
                at_edge=len(obj) > 1 and best in (0, len(obj) - 1))

  def kept_strength(self, entry: Entry) -> float:
    """The entry's strength: tuned on validation, or its only one."""
    if len(entry.strengths) > 1:
      return self.tune(entry)["chosen"]
    return float(entry.strengths[0])

  def test_row(self, entry: Entry | str, strength: float,
               seeds=None) -> dict:
    """Seed-averaged metrics [R] and features [R * k, d] on the test rows."""
    if seeds is None:  # Reference rows are deterministic: one seed.
      name = entry if isinstance(entry, str) else entry.name
      seeds = tuple(self.c.seeds)[:1 if name in REFERENCES else None]
    recs = [self._run(entry, strength, self.test_rows, s, "test", i == 0)
            for i, s in enumerate(seeds)]
    per = {m.name: np.mean([r[f"metric_{m.name}"] for r in recs], 0)
           for m in metrics.METRICS}
    per["max_change_outside"] = np.max([r["metric_max_change_outside"]
                                        for r in recs], 0)
    feats = np.stack([r["features"] for r in recs], 1)  # [R, k, d]
    return dict(per=per, features=feats.reshape(-1, feats.shape[-1]),
                per_image=len(seeds), outputs=recs[0].get("outputs"),
                wall_s=float(sum(float(r["wall_s"]) for r in recs)))

  def latency(self, entry: Entry, strength: float) -> dict:
    """Seconds per edit through the loop: batch 1 and batched."""
    cfg = edit_config_for(self.c, entry)
    editor = self.pool.editor(cfg, entry.method)
    options = self.pool.options(cfg, entry.method)
    b = self.bench
    rows = [r for r in self.test_rows if b.kinds[r] == "local"]
    item = lambda k: loop.EditItem(
        name=f"lat{k}", image=b.images[rows[k % len(rows)]].astype(
            np.float32) / 255.0,
        guide=b.guides[rows[k % len(rows)]].astype(np.float32) / 255.0,
        mask=b.masks[rows[k % len(rows)]],
        label=int(b.labels[rows[k % len(rows)]]), seed=k)
    out = {}
    n1 = int(self.c.latency_edits)
    one = []
    for k in range(n1 + 1):
      t0 = time.perf_counter()
      o, = loop.edit_items(editor, options, [item(k)], strength=strength,
                           batch_size=1, prefetch=0)
      if k and not o.compiled:
        one.append(time.perf_counter() - t0)
    if one:
      out["batch1"] = dict(median_ms=1e3 * float(np.median(one)),
                           max_ms=1e3 * float(np.max(one)), edits=len(one))
    bsz, nb = int(self.c.latency_batch), int(self.c.latency_batches)
    times = []
    for j in range(nb + 1):
      batch = [item(1000 + j * bsz + k) for k in range(bsz)]
      t0 = time.perf_counter()
      outs = list(loop.edit_items(editor, options, batch, strength=strength,
                                  batch_size=bsz, prefetch=0))
      if j and not any(o.compiled for o in outs):
        times.append((time.perf_counter() - t0) / bsz)
    if times:
      out["batched"] = dict(batch=bsz, ms_per_edit=1e3 * float(np.median(
          times)), edits_per_s=float(1.0 / np.median(times)),
                            edits=bsz * len(times))
    out["load_average"] = [round(x, 2) for x in os.getloadavg()]
    return out

  # ----------------------------------------------------------------- run
  def run(self) -> dict:
    c = self.c
    t_start = time.perf_counter()
    todo = (sum(len(e.strengths) for e in self.methods if len(e.strengths)
                > 1) * len(self.val_rows)
            + (len(self.methods) + 1) * len(c.seeds) * len(self.test_rows)
            + len(self.ablations) * len(self.test_rows))
    self.bar = _progress(todo, c.progress)
    tuning = {}
    for e in self.methods:
      if len(e.strengths) > 1:
        _say(self.bar, f"tune {e.name}")
        tuning[e.name] = self.tune(e)
    strength = {e.name: tuning[e.name]["chosen"] if e.name in tuning
                else e.strengths[0] for e in self.methods}
    rows = {}
    for ref in REFERENCES:
      _say(self.bar, f"test {ref}")
      # Deterministic rows: one seed.
      rows[ref] = self.test_row(G_E if ref == "g_e" else ref, 0.0)
    for e in self.methods:
      _say(self.bar, f"test {e.name}")
      rows[e.name] = self.test_row(e, strength[e.name])
    abl = {}
    kind_rows = np.asarray([self.bench.kinds[r] == c.ablation_kind
                            for r in self.test_rows])
    for a in self.ablations:
      _say(self.bar, f"ablation {a.name}")
      base = next(e for e in self.methods if e.name == a.base)
      abl[a.name] = dict(
          entry=a, strength=strength[a.base], kind_rows=kind_rows,
          rec=self._run(a, strength[a.base], self.test_rows, c.seeds[0],
                        "test", False),
          base=self._run(base, strength[a.base], self.test_rows, c.seeds[0],
                         "test", True))
    if self.bar is not None:
      self.bar.close()
      self.bar = None
    lat = {}
    for e in self.methods:
      _say(None, f"latency {e.name}")
      lat[e.name] = self.latency(e, strength[e.name])
    test_images = self.parts["test"].images
    sanity = features_lib.sanity(self.extractor, test_images, self.ref_feats)
    from maskgit_edit.evaluation import analysis  # pylint: disable=g-import-not-at-top
    summary = analysis.summarize(self, tuning, strength, rows, abl, lat,
                                 sanity)
    summary["wall_minutes"] = round((time.perf_counter() - t_start) / 60, 1)
    io_utils.write_json(c.out_json, summary)
    self._keep_outputs(rows)
    from maskgit_edit.evaluation import report  # pylint: disable=g-import-not-at-top
    paths = report.write(summary, c)
    print(f"Wrote {c.out_json}, {c.out_doc}, {', '.join(paths)}.",
          file=sys.stderr)
    return summary

  def _keep_outputs(self, rows: dict) -> None:
    """The test outputs of seed 0 (for blind sheets): outputs.npz."""
    arrays = {f"{name}": r["outputs"] for name, r in rows.items()
              if r.get("outputs") is not None}
    arrays["names"] = np.asarray([self.bench.names[r]
                                  for r in self.test_rows])
    with io_utils.atomic_write(os.path.join(self.c.runs_dir,
                                            "test_outputs.npz")) as fh:
      np.savez_compressed(fh, **arrays)


def _say(bar, text: str) -> None:
  if bar is not None:
    bar.set_description(text)
  else:
    print(text, file=sys.stderr, flush=True)


def _progress(total: int, on: bool):
  try:
    from tqdm import tqdm  # pylint: disable=g-import-not-at-top
  except ImportError:  # pragma: no cover
    return None
  return tqdm(total=total, disable=not on, file=sys.stderr, unit="edit")


def today() -> str:
  return datetime.date.today().isoformat()


def run(config) -> dict:
  """Runs the whole evaluation (see the module docstring)."""
  from maskgit import runtime  # pylint: disable=g-import-not-at-top
  runtime.enable_compilation_cache(config.edit.compilation_cache)
  return Evaluation(config).run()

