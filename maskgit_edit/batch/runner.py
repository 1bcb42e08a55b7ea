"""Batch runner: every (method, strength) x item, with resume and keep_going.

Each run's items that are not done yet go through the one editing loop
(`batch/loop.py`): loaded on a background thread, checked one by one, edited
`config.batch_size` at a time (outputs identical to one at a time), split
over the local devices (`config.data_parallel`, `batch/parallel.py`), and
written on a background thread (`outputs.Writer`, `config.write_queue`)
while the next batch is edited.

Several hosts (sample_edit.py started like train.py, docs/batch.md): each
process edits its shard of the items (position % processes == process
index), skipping its items that are done; after every process is done the
primary one writes the summary grids and counts the items written on disk.

Two kinds of failure:
* item failures (a bad input file, an edit the editor refuses: empty mask,
  guide identical to the image, label out of range) print one line; the run
  stops (exit status 1) or, with `keep_going`, goes on and lists them at the
  end. Under `keep_going` an unexpected error in a batch re-runs its items
  one at a time, and those that still fail are item failures (with their
  traceback).
* run failures (bad settings, no inputs, an output folder that cannot be
  written, done items made with other output settings, a model that cannot
  be loaded, a failed write) raise one
  ValueError / OSError, once, whatever `keep_going` says. Settings, inputs
  and the output folder are checked before any work; the model is loaded on
  first use (a resumed run with nothing left to do loads nothing).
"""

from __future__ import annotations

import contextlib
import os
import sys

import jax

from maskgit import runtime
from maskgit_edit import anysize
from maskgit_edit.batch import inputs
from maskgit_edit.batch import loop
from maskgit_edit.batch import outputs
from maskgit_edit.batch import parallel
from maskgit_edit.methods import pool as pool_lib


def _as_list(value) -> list:
  """A config list given as a tuple, or as 'a,b' from the command line."""
  if isinstance(value, str):
    value = (value,)
  out = []
  for v in value:
    out.extend(p.strip() for p in v.split(",") if p.strip()) if isinstance(
        v, str) else out.append(v)
  return out


def runs_from_config(config) -> list[tuple[str, float]]:
  """(method, strength) pairs; validates them before any work."""
  methods = _as_list(config.sweep.methods) or [config.method]
  try:
    strengths = [float(s) for s in (_as_list(config.sweep.strengths)
                                    or [config.strength])]
  except ValueError as e:
    raise ValueError(f"Bad strength: {e}") from e
  records = [pool_lib.method(config, m) for m in methods]
  bad = [s for s in strengths if not 0.0 <= s <= 1.0]
  if bad:
    raise ValueError("strength must be in [0, 1], got "
                     f"{', '.join(f'{b:g}' for b in bad)}.")
  return [(m.name, s) for m in records for s in m.strengths(strengths)]


class _Job:
  """A run's state: the config and its editors (loaded on first use)."""

  def __init__(self, config):
    self.config = config
    self.size = int(config.model.image_size)
    self._pool = pool_lib.EditorPool()
    self._mesh = None

  def editor(self, method: str):
    """Loaded on first use; a load failure is a run failure (raises).

    With `data_parallel`, an editor that can split batches gets the mesh of
    this process's devices.
    """
    editor = self._pool.editor(self.config, method)
    if self.config.get("data_parallel", True) and self._mesh is None:
      self._mesh = parallel.local_mesh()
    parallel.use_mesh(editor, self._mesh)
    return editor

  def options(self, method: str):
    return self._pool.options(self.config, method)

  def todo(self, method: str, strength: float, items: list[inputs.Item],
           report: outputs.Report) -> list[inputs.Item]:
    """The items of a run that are not done yet (counts the skipped)."""
    c = self.config
    out = []
    for item in items:
      if outputs.is_done(self.item_dir(method, strength, item)) and (
          not c.overwrite):
        report.skipped += 1
      else:
        out.append(item)
    return out

  def item_dir(self, method: str, strength: float, item: inputs.Item) -> str:
    return os.path.join(_run_dir(self.config, method, strength), item.name)

  def edit_run(self, method: str, strength: float, items: list[inputs.Item],
               report: outputs.Report, bar) -> bool:
    """Edits and writes the run's items in batches; False if one failed.

    Raises:
      Run failures: the model cannot be loaded, a write fails, an error
      that is not an item's fault (without `keep_going`).
    """
    if not items:
      return True
    editor = self.editor(method)  # Loaded only when there is work.
    with outputs.Writer(int(self.config.get("write_queue", 8))) as writer:
      return self._edit_and_write(editor, method, strength, items, report,
                                  bar, writer)

  def _edit_and_write(self, editor, method, strength, items, report, bar,
                      writer) -> bool:
    c = self.config
    # Without `resize`, images of any size: windows (maskgit_edit/anysize).
    sources = [inputs.ItemLoader(it, self.size if c.resize else None,
                                 c.resize, c.label, c.seed) for it in items]
    ok = True
    stream = anysize.edit_items(
        editor, self.options(method), sources, strength=strength,
        num_samples=c.num_samples, batch_size=int(c.batch_size),
        isolate_errors=bool(c.keep_going), context=int(c.window_context),
        outpaint=c.outpaint, outpaint_strength=float(c.outpaint_strength))

    def written():
      report.done += 1
    for out in stream:
      bar.update(1)
      if isinstance(out, loop.ItemFailure):
        ok = False
        _failed(report, f"{method} s={strength:.3f} {out.name}",
                f"{out.name}: {out.error}" if not str(out.error).startswith(
                    out.name) else str(out.error))
        if not c.keep_going:
          return False
        continue
      item = out.item.data
      record = outputs.item_record(item, out, c, method, strength,
                                   out.item.label, not c.tokenizer_path)
      if isinstance(out, anysize.Output):  # Windows / outpainting done.
        record.update(size=list(out.images.shape[1:3]), layout=out.layout)
      writer.put(
          self.item_dir(method, strength, item), out.images,
          outputs.item_panels(out.item.image, out.item.guide, out), record,
          on_done=written)
      if not out.compiled:
        report.edit_seconds.append(out.seconds)
    return ok


def _failed(report: outputs.Report, where: str, message: str) -> None:
  report.fail(where, message)
  print(f"\nerror: {message}", file=sys.stderr)


class _NoBar:
  def set_description(self, _):
    pass

  def update(self, _):
    pass


@contextlib.contextmanager
def _progress(enabled: bool, total: int):
  try:
    from tqdm import tqdm  # pylint: disable=g-import-not-at-top
  except ImportError:  # pragma: no cover
    yield _NoBar()
    return
  with tqdm(total=total, disable=not enabled, file=sys.stderr,
            unit="edit") as bar:
    yield bar


def run(config) -> int:
  """Runs every (method, strength) x item; returns the process exit code.

  With several processes (`jax.process_count()`), this process edits its
  shard of the items; every process waits for the others before the
  primary writes the summary.

  Raises:
    ValueError, OSError: a run failure (see the module docstring), once.
  """
  runtime.enable_compilation_cache(config.compilation_cache)
  runs = runs_from_config(config)
  if int(config.batch_size) < 1:
    raise ValueError(f"batch_size must be >= 1, got {config.batch_size}.")
  anysize.parse_sides(config.outpaint)  # Bad sides fail before any work.
  if int(config.window_context) < 0:
    raise ValueError("window_context must be >= 0, got "
                     f"{config.window_context}.")
  if not 0.0 <= float(config.outpaint_strength) <= 1.0:
    raise ValueError("outpaint_strength must be in [0, 1], got "
                     f"{config.outpaint_strength}.")
  job = _Job(config)
  for m, _ in runs:
    job.options(m)  # A bad setting fails before any work.
  outputs.check_writable(config.output_dir)
  items, errors = inputs.discover(config.inputs)
  report = outputs.Report(failures=[("discovery", e) for e in errors])
  if errors and not config.keep_going:
    for e in errors:
      print(f"error: {e}", file=sys.stderr)
    return 1
  if not config.overwrite:
    for m, s in runs:  # A resume never mixes two runs' outputs.
      settings = outputs.run_settings(config, m, s)
      for it in items:
        d = job.item_dir(m, s, it)
        if outputs.is_done(d):
          outputs.check_same_settings(d, settings)
  processes, primary = jax.process_count(), jax.process_index() == 0
  mine = parallel.shard(items)
  try:
    ok = _edit_runs(config, job, runs, mine, report, primary)
  except Exception:
    parallel.wait_for_all("maskgit_edit_done")  # The others may finish.
    raise
  parallel.wait_for_all("maskgit_edit_done")
  if not ok:  # An item failed (without keep_going): its error was printed.
    return 1
  if primary and config.get("summary_grid", False):
    _summary_grids(config, runs, [it.name for it in items])
  if processes > 1:
    print(f"Process {jax.process_index()} of {processes} "
          f"({len(mine)} of {len(items)} items):", file=sys.stderr)
  report.print(config.output_dir, config.num_samples)
  if processes > 1 and primary:
    done = sum(outputs.is_done(job.item_dir(m, s, it))
               for m, s in runs for it in items)
    print(f"Job ({processes} processes): {done} of "
          f"{len(runs) * len(items)} edits done in {config.output_dir}.",
          file=sys.stderr)
  return 1 if report.failures else 0


def _candidates(config) -> int:
  rerank = config.get("rerank")
  return int(rerank.get("num_candidates", 1)) if rerank else 1


def _run_dir(config, method: str, strength: float) -> str:
  return outputs.run_dir(config.output_dir, method, strength,
                         _candidates(config))


def _edit_runs(config, job: _Job, runs, items: list[inputs.Item],
               report: outputs.Report, primary: bool) -> bool:
  """Edits this process's items of every run; False if one failed."""
  with _progress(config.progress and primary, len(runs) * len(items)) as bar:
    for method, strength in runs:
      if primary:
        outputs.start_run(_run_dir(config, method, strength))
      bar.set_description(f"{method} s={strength:.2f}")
      todo = job.todo(method, strength, items, report)
      bar.update(len(items) - len(todo))
      if not job.edit_run(method, strength, todo, report, bar) and (
          not config.keep_going):
        return False
  return True


def _summary_grids(config, runs, names: list[str]) -> None:
  for method, strength in runs:
    path = outputs.write_summary_grid(_run_dir(config, method, strength),
                                      names)
    n = _candidates(config)
    best_of = f" + best-of-{n}" if n > 1 else ""
    if path:
      print(f"Grid ({method}{best_of}, strength {strength:g}; rows: image | "
            f"guide | mask | {config.num_samples} samples): {path}",
            file=sys.stderr)
