"""Batch runner: every (method, strength) x item, with resume and keep_going.

Two kinds of failure:
* item failures (a bad input file, an edit the editor refuses: empty mask,
  guide identical to the image, label out of range) print one line; the run
  stops (exit status 1) or, with `keep_going`, goes on and lists them at the
  end. Unexpected errors in one edit are item failures too under
  `keep_going` (with their traceback).
* run failures (bad settings, no inputs, an output folder that cannot be
  written, a model that cannot be loaded, a failed write) raise one
  ValueError / OSError, once, whatever `keep_going` says. Settings, inputs
  and the output folder are checked before any work; the model is loaded on
  first use (a resumed run with nothing left to do loads nothing).
"""

from __future__ import annotations

import contextlib
import os
import sys
import traceback

from maskgit import runtime
from maskgit_edit.batch import inputs
from maskgit_edit.batch import outputs
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
    raise ValueError(f"strength must be in [0, 1], got {bad}.")
  return [(m.name, s) for m in records for s in m.strengths(strengths)]


class _Job:
  """A run's state: the config, editors and decoded items (both lazy)."""

  def __init__(self, config):
    self.config = config
    self.size = int(config.model.image_size)
    self._pool = pool_lib.EditorPool()
    self._loaded: dict[str, tuple | inputs.ItemError] = {}

  def editor(self, method: str):
    """Loaded on first use; a load failure is a run failure (raises)."""
    return self._pool.editor(self.config, method)

  def options(self, method: str):
    return self._pool.options(self.config, method)

  def load(self, item: inputs.Item):
    """(image, guide, mask); decoded once per item, errors included."""
    if item.name not in self._loaded:
      try:
        self._loaded[item.name] = inputs.load_item(item, self.size,
                                                   self.config.resize)
      except inputs.ItemError as e:
        self._loaded[item.name] = e
    if isinstance(self._loaded[item.name], inputs.ItemError):
      raise self._loaded[item.name]
    return self._loaded[item.name]

  def edit_item(self, method: str, strength: float, item: inputs.Item,
                options,
                report: outputs.Report) -> bool:
    """Edits and writes one item (or skips it when done); False if it failed.

    Raises:
      Run failures: the model cannot be loaded, a write fails; any error
      without `keep_going` that is not an item's fault.
    """
    c = self.config
    item_dir = os.path.join(outputs.run_dir(c.output_dir, method, strength),
                            item.name)
    if outputs.is_done(item_dir) and not c.overwrite:
      report.skipped += 1
      return True
    where = f"{method} s={strength:.3f} {item.name}"
    try:
      image, guide, mask = self.load(item)
    except inputs.ItemError as e:
      return _failed(report, where, str(e))
    editor = self.editor(method)  # After the item: a bad item loads nothing.
    label = c.label if item.label is None else item.label
    try:
      res = editor.edit(image[None], guide[None], [mask], labels=label,
                        strength=strength, seed=c.seed,
                        num_samples=c.num_samples, options=options)
    except ValueError as e:  # The item's fault (GuidanceError, label, ...).
      return _failed(report, where, f"{item.name}: {e}")
    except Exception as e:  # pylint: disable=broad-except
      if not c.keep_going:
        raise
      traceback.print_exc()
      return _failed(report, where, f"{type(e).__name__}: {e}")
    outputs.write_item(item_dir, res.images[0],
                       outputs.item_panels(image, guide, res),
                       outputs.item_record(item, res, c, method, strength,
                                           label, not c.tokenizer_path))
    report.done += 1
    if not res.compiled:
      report.edit_seconds.append(res.timings["total"])
    return True


def _failed(report: outputs.Report, where: str, message: str) -> bool:
  report.fail(where, message)
  print(f"\nerror: {message}", file=sys.stderr)
  return False


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

  Raises:
    ValueError, OSError: a run failure (see the module docstring), once.
  """
  runtime.enable_compilation_cache(config.compilation_cache)
  runs = runs_from_config(config)
  job = _Job(config)
  options = {m: job.options(m) for m, _ in runs}
  outputs.check_writable(config.output_dir)
  items, errors = inputs.discover(config.inputs)
  report = outputs.Report(failures=[("discovery", e) for e in errors])
  if errors and not config.keep_going:
    for e in errors:
      print(f"error: {e}", file=sys.stderr)
    return 1
  with _progress(config.progress, len(runs) * len(items)) as bar:
    for method, strength in runs:
      outputs.start_run(outputs.run_dir(config.output_dir, method, strength))
      for item in items:
        bar.set_description(f"{method} s={strength:.2f} {item.name}")
        ok = job.edit_item(method, strength, item, options[method], report)
        bar.update(1)
        if not ok and not config.keep_going:
          return 1
  if config.get("summary_grid", False):
    _summary_grids(config, runs, [it.name for it in items])
  report.print(config.output_dir, config.num_samples)
  return 1 if report.failures else 0


def _summary_grids(config, runs, names: list[str]) -> None:
  for method, strength in runs:
    path = outputs.write_summary_grid(
        outputs.run_dir(config.output_dir, method, strength), names)
    if path:
      print(f"Grid ({method}, strength {strength:g}; rows: image | guide |"
            f" mask | {config.num_samples} samples): {path}",
            file=sys.stderr)
