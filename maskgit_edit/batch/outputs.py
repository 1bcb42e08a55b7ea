"""Batch outputs: per-item files, the run summary grid and the final report.

Layout, per run (method, strength) and item:
  OUT/<method>_s<strength>/<name>/sample_XX.png, grid.png (image | guide |
  feather weights | samples), record.json (every setting, timings).
  OUT/<method>_s<strength>/grid.png: one row per item (summary_grid).

Every file is written atomically (`maskgit.io_utils`). record.json is written
last: an item is done iff it exists. Redoing an item first removes its
record.json (so a kill mid-redo leaves it not done), the temp files a killed
write left, and samples beyond the new `num_samples`. `Writer` writes items
on a background thread (a bounded queue) while the device edits the next
batch.
"""

from __future__ import annotations

import dataclasses
import json
import os
import queue
import re
import sys
import threading
import time
from typing import Any, Callable

import jax
import numpy as np

from maskgit import image_io
from maskgit import io_utils

RECORD = "record.json"
GRID = "grid.png"
_SAMPLE_RE = re.compile(r"^sample_\d+\.png$")


def run_name(method: str, strength: float, candidates: int = 1) -> str:
  """'<method>[_rerank<N>]_s<strength>': best-of-N runs get their own name."""
  rerank = f"_rerank{candidates}" if candidates > 1 else ""
  return f"{method}{rerank}_s{strength:.3f}"


def run_dir(output_dir: str, method: str, strength: float,
            candidates: int = 1) -> str:
  return os.path.join(output_dir, run_name(method, strength, candidates))


def is_done(item_dir: str) -> bool:
  return os.path.exists(os.path.join(item_dir, RECORD))


def check_writable(output_dir: str) -> None:
  """Raises OSError naming `output_dir` if it cannot be created or written.

  Creates nothing: the nearest existing folder above it must be writable.
  """
  path = os.path.abspath(output_dir)
  existing = path
  while not os.path.exists(existing):
    existing = os.path.dirname(existing)
  if not os.path.isdir(existing):
    raise NotADirectoryError(f"Output folder {output_dir} cannot be "
                             f"created: {existing} is a file.")
  if not os.access(existing, os.W_OK | os.X_OK):
    raise PermissionError(f"Output folder {output_dir} is not writable "
                          f"(no write permission on {existing}).")


def start_run(run_path: str) -> None:
  """Removes the temp files a killed run left at the run-folder level."""
  io_utils.remove_temp_files(run_path)


def write_item(item_dir: str, samples: np.ndarray, panels: np.ndarray,
               record: dict[str, Any]) -> None:
  """Writes samples [S, H, W, 3], grid.png (panels in one row), record.json.

  record.json goes last; stale files of an earlier run of the item go first.
  """
  if os.path.isdir(item_dir):
    stale = os.path.join(item_dir, RECORD)
    if os.path.exists(stale):
      os.remove(stale)  # Not done until the new record is written.
    io_utils.remove_temp_files(item_dir)
    keep = {_sample_name(i) for i in range(len(samples))}
    for name in os.listdir(item_dir):
      if _SAMPLE_RE.match(name) and name not in keep:
        os.remove(os.path.join(item_dir, name))
  for i, s in enumerate(samples):
    image_io.save_png(os.path.join(item_dir, _sample_name(i)), s)
  image_io.save_png(os.path.join(item_dir, GRID),
                    image_io.grid(panels, len(panels)))
  record = dict(record, samples=[_sample_name(i) for i in range(len(samples))])
  io_utils.write_json(os.path.join(item_dir, RECORD), record)


class Writer:
  """`write_item` on a background thread, at most `depth` items behind.

      with outputs.Writer(depth=8) as w:
        w.put(item_dir, samples, panels, record, on_done=callback)

  `put` blocks while `depth` items wait (bounded memory) and raises the
  error of a failed write; leaving the block writes what is queued, then
  raises a write error (if the block itself raised, its error wins). After
  a failed write the items still queued are not written: each file is
  atomic and record.json comes last, so nothing is half-written and an
  unwritten item is simply not done. `depth` 0 writes in the caller's
  thread.
  """

  def __init__(self, depth: int = 8):
    self.depth = int(depth)
    self.error: BaseException | None = None
    self._queue: queue.Queue = queue.Queue(maxsize=max(1, self.depth))
    self._thread = None
    if self.depth > 0:
      self._thread = threading.Thread(target=self._work, daemon=True,
                                      name="outputs.Writer")
      self._thread.start()

  def _write(self, job) -> None:
    args, on_done = job
    write_item(*args)
    if on_done is not None:
      on_done()

  def _work(self) -> None:
    while True:
      job = self._queue.get()
      if job is None:
        return
      if self.error is None:  # After a failure: drop, not write.
        try:
          self._write(job)
        except BaseException as e:  # pylint: disable=broad-except
          self.error = e

  def _raise(self) -> None:
    if self.error is not None:
      raise self.error

  def put(self, item_dir: str, samples: np.ndarray, panels: np.ndarray,
          record: dict[str, Any],
          on_done: Callable[[], None] | None = None) -> None:
    """Queues one item (`write_item`'s arguments); `on_done` after it."""
    self._raise()
    job = ((item_dir, samples, panels, record), on_done)
    if self._thread is None:
      self._write(job)
    else:
      self._queue.put(job)

  def close(self) -> None:
    """Writes what is queued and stops the thread; raises a write error."""
    if self._thread is not None:
      self._queue.put(None)
      self._thread.join()
      self._thread = None
    self._raise()

  def __enter__(self) -> "Writer":
    return self

  def __exit__(self, kind, value, tb) -> None:
    if kind is None:
      self.close()
    else:  # The block's error wins; queued writes still finish.
      try:
        self.close()
      except BaseException:  # pylint: disable=broad-except
        pass


def _sample_name(i: int) -> str:
  return f"sample_{i:02d}.png"


def item_panels(image: np.ndarray, guide: np.ndarray, out) -> np.ndarray:
  """[3 + S, H, W, 3]: image | guide | feather weights | samples.

  `out`: the item's `loop.ItemOutput`.
  """
  weights = np.repeat(out.weights[..., None], 3, -1)
  return np.concatenate([image[None], guide[None], weights[None],
                         out.images])


# Settings that never change an item's outputs (how the job runs, where it
# writes); everything else in a record's settings does.
_JOB_SETTINGS = ("batch_size", "compilation_cache", "data_parallel",
                 "keep_going", "output_dir", "overwrite", "plugins", "progress",
                 "summary_grid", "sweep", "write_queue")
# Sections of method options: only the run's own method's section counts.
_METHOD_SECTIONS = ("diffusion", "sdedit", "self_fixed", "self_learned",
                    "selfcond")


def _output_settings(settings: dict[str, Any]) -> dict[str, Any]:
  method = settings.get("method", "")
  return {k: v for k, v in settings.items() if k not in _JOB_SETTINGS and (
      k not in _METHOD_SECTIONS or method == k or method.startswith(k + "_"))}


def run_settings(config, method: str, strength: float) -> dict[str, Any]:
  """The settings a record stores: the config with the run's method."""
  settings = json.loads(config.to_json_best_effort())
  settings.update(method=method, strength=strength)
  return settings


def check_same_settings(item_dir: str, settings: dict[str, Any]) -> None:
  """Raises ValueError if the done item in `item_dir` was made otherwise.

  A resumed run skips the items that are done; an item made with other
  output settings (seed, samples, a method option, reranking...) would be
  skipped silently and mixed with this run's, so it is an error instead.
  """
  try:
    with open(os.path.join(item_dir, RECORD)) as f:
      old = json.load(f).get("settings")
  except (OSError, ValueError):
    return  # Unreadable: the writer replaces it only with overwrite.
  if not isinstance(old, dict):
    return
  old, new = _output_settings(old), _output_settings(settings)
  diffs = [k for k in sorted(set(old) | set(new)) if old.get(k) != new.get(k)]
  if diffs:
    shown = "; ".join(f"{k}: {json.dumps(old.get(k))} -> "
                      f"{json.dumps(new.get(k))}" for k in diffs[:3])
    more = f" (+{len(diffs) - 3} more)" if len(diffs) > 3 else ""
    raise ValueError(
        f"{item_dir} is done with other settings ({shown}{more}). Pass "
        "--config.overwrite=True to redo it, or another "
        "--config.output_dir.")


def item_record(item, out, config, method: str, strength: float, label: int,
                random_weights: bool) -> dict[str, Any]:
  """record.json of one edited item (every setting, window, timings).

  `out`: the item's `loop.ItemOutput`.
  """
  settings = run_settings(config, method, strength)
  tokens = {}
  if out.tokens is not None:  # Token methods: E and the window.
    tokens = dict(edited_tokens=int(np.sum(out.tokens.edit[0])),
                  window_side=int(np.shape(out.tokens.samples[0])[-1]),
                  window_offset=out.tokens.offsets[0].tolist())
  return dict(
      name=item.name, image=item.image, guide=item.guide, mask=item.mask,
      label=int(label), method=method, strength=strength,
      edited_pixels=int(out.pixel_mask.sum()), **tokens,
      seconds_per_item=out.seconds, batch_size=out.batch,
      compiled_this_call=out.compiled,
      backend=jax.default_backend(), random_weights=random_weights,
      settings=settings, time=time.strftime("%Y-%m-%dT%H:%M:%S"))


def write_summary_grid(run_path: str, names: list[str]) -> str | None:
  """Stacks the items' grid.png files (one row each) into run_path/grid.png.

  Items without a grid (failed, or not run) are left out; returns the path,
  or None when there is nothing to stack.
  """
  rows = [image_io.load_image(p) for p in
          (os.path.join(run_path, n, GRID) for n in names)
          if os.path.exists(p)]
  if not rows:
    return None
  path = os.path.join(run_path, GRID)
  image_io.save_png(path, image_io.stack_rows(rows))
  return path


@dataclasses.dataclass
class Report:
  """What a run did: counts, failures and compiled-edit latencies."""
  done: int = 0
  skipped: int = 0
  failures: list[tuple[str, str]] = dataclasses.field(default_factory=list)
  edit_seconds: list[float] = dataclasses.field(default_factory=list)

  def fail(self, where: str, message: str) -> None:
    self.failures.append((where, message))

  def print(self, output_dir: str, num_samples: int) -> None:
    """The closing lines on stderr: latency, counts, then every failure."""
    if self.edit_seconds:
      print(f"Edit latency ({num_samples} samples per edit, "
            f"{jax.default_backend()}): median "
            f"{np.median(self.edit_seconds):.3f} s, max "
            f"{max(self.edit_seconds):.3f} s per edit over the "
            f"{len(self.edit_seconds)} edit(s) of batches that did not "
            "compile (each edit's share of its batch's time).",
            file=sys.stderr)
    print(f"Done: {self.done} written, {self.skipped} skipped (already "
          f"done), {len(self.failures)} failed; outputs in {output_dir}.",
          file=sys.stderr)
    self.print_failures()

  def print_failures(self) -> None:
    if self.failures:
      print("Failures:", file=sys.stderr)
      for where, message in self.failures:
        print(f"  {where}: {message}", file=sys.stderr)
