"""The one editing loop: items in, edited items out, in batches.

    for out in loop.edit_items(editor, options, items, strength=0.3,
                               num_samples=4, batch_size=8):
      if isinstance(out, loop.ItemFailure): ...   # one bad item, with why
      else: out.images                            # [S, H, W, 3]

Every caller that edits more than one image goes through here: the batch CLI
(sample_edit.py, `batch/runner.py`), the evaluation
(`maskgit_edit.evaluation`), the benchmarks and the scripts.

* Items are checked one by one first (`protocol.check_inputs`: sizes, label,
  an edit to make), so a bad item is an `ItemFailure` and never spoils a
  batch.
* Valid items are grouped by the editor's `batch_key` (the MaskGIT editor's
  patch-local window sides; one group otherwise) and edited `batch_size` at
  a time. A short last batch is padded by repeating its last item, so each
  group compiles one program; padded outputs are dropped. An editor with a
  mesh (`batch/parallel.py`) gets batches padded to a multiple of the mesh
  size, which it splits over the devices.
* An item's samples depend only on its own inputs and seed, never on the
  rest of its batch (the editors' promise, tests/test_methods.py), so the
  outputs are the same, bit for bit, as editing one item at a time.
* Items may be given lazily (a callable that loads them): a background
  thread loads up to `prefetch` ahead while the device works.

Outputs come in batch order (by group), not input order; each carries its
item.
"""

from __future__ import annotations

import dataclasses
import queue
import threading
import time
import traceback
from typing import Any, Callable, Iterable, Iterator

import numpy as np

from maskgit_edit import protocol
from maskgit_edit.batch import parallel


@dataclasses.dataclass(frozen=True)
class EditItem:
  """One edit to make.

  Attributes:
    name: the item's name (unique within a run).
    image: float32 [S, S, 3] in [0, 1].
    guide: float32 [S, S, 3] in [0, 1].
    mask: None (edited = where guide != image) or bool/float [S, S].
    label: class label.
    seed: the edit's seed.
    data: anything the caller wants back with the output.
  """
  name: str
  image: np.ndarray
  guide: np.ndarray
  mask: Any = None
  label: int = 0
  seed: int = 0
  data: Any = None


@dataclasses.dataclass
class ItemOutput:
  """One edited item.

  Attributes:
    item: the EditItem.
    images: float32 [S, H, W, 3] composited samples.
    pixel_mask: bool [H, W] edited pixels.
    weights: float32 [H, W] composite weights (0 = the input).
    region: bool [H, W] pixels the method regenerated.
    tokens: the item's `protocol.TokenInfo` (N = 1) or None.
    seconds: its share of its batch's editing time.
    compiled: its batch compiled a new program.
    batch: the size of the batch it was edited in (padding excluded).
  """
  item: EditItem
  images: np.ndarray
  pixel_mask: np.ndarray
  weights: np.ndarray
  region: np.ndarray
  tokens: Any
  seconds: float
  compiled: bool
  batch: int


@dataclasses.dataclass
class ItemFailure:
  """An item that could not be edited (nothing was made for it)."""
  item: EditItem | None
  name: str
  error: Exception


ItemSource = EditItem | Callable[[], EditItem]


def _prefetched(items: Iterable[ItemSource], depth: int
                ) -> Iterator[EditItem | ItemFailure]:
  """Resolves lazy items on a background thread, `depth` ahead."""
  def resolve(x):
    if isinstance(x, EditItem):
      return x
    try:
      return x()
    except (ValueError, OSError) as e:  # A bad file: the item's fault.
      return ItemFailure(None, getattr(x, "name", "?"), e)

  if depth <= 0:
    for x in items:
      yield resolve(x)
    return
  q: queue.Queue = queue.Queue(maxsize=depth)
  done = object()
  error: list[BaseException] = []

  def work():
    try:
      for x in items:
        q.put(resolve(x))
    except BaseException as e:  # pylint: disable=broad-except
      error.append(e)
    finally:
      q.put(done)

  threading.Thread(target=work, daemon=True).start()
  while True:
    x = q.get()
    if x is done:
      break
    yield x
  if error:
    raise error[0]


def _take(res: protocol.EditResult, k: int) -> protocol.TokenInfo | None:
  t = res.tokens
  if t is None:
    return None
  one = lambda a: np.asarray(a[k])[None]
  return protocol.TokenInfo(samples=one(t.samples), original=one(t.original),
                            guide=one(t.guide), edit=one(t.edit),
                            offsets=t.offsets[k:k + 1])


def edit_items(editor: protocol.BaseEditor, options: Any,
               items: Iterable[ItemSource], strength: float = 0.5,
               num_samples: int = 1, batch_size: int = 8,
               prefetch: int = 2, isolate_errors: bool = False
               ) -> Iterator[ItemOutput | ItemFailure]:
  """Edits `items` in batches (see the module docstring).

  Args:
    editor: any editor of the protocol.
    options: the method's options (None: the editor's defaults).
    items: EditItems, or callables returning one (loaded on a thread).
    strength: the strength of every edit.
    num_samples: samples per item.
    batch_size: items per editor call (>= 1).
    prefetch: lazy items loaded ahead (0 = load in this thread).
    isolate_errors: an unexpected error in a batch re-runs its items one at
      a time; those that still fail are ItemFailures (with the traceback
      printed) instead of the error propagating.

  Yields:
    ItemOutput per edited item, ItemFailure per item that cannot be edited.

  Raises:
    Errors that are not an item's fault (a failing device, bad options).
  """
  if batch_size < 1:
    raise ValueError(f"batch_size must be >= 1, got {batch_size}.")
  options = editor.default_options() if options is None else options
  devices = parallel.mesh_size(editor)
  groups: dict[Any, list[tuple[EditItem, np.ndarray]]] = {}

  def flush(key) -> Iterator[ItemOutput | ItemFailure]:
    batch = groups.pop(key)
    if not isolate_errors:
      yield from run(batch, batch_size)
      return
    try:
      outs = list(run(batch, batch_size))
    except Exception:  # pylint: disable=broad-except
      outs = []
      for one in batch:  # One at a time (no padding): find the culprit.
        try:
          outs.extend(run([one], 1))
        except Exception as e:  # pylint: disable=broad-except
          traceback.print_exc()
          outs.append(ItemFailure(one[0], one[0].name, e))
    yield from outs

  def run(batch, size: int) -> Iterator[ItemOutput]:
    n = len(batch)
    if size > 1:  # Whole blocks per device (one at a time: one device).
      size = -(-size // devices) * devices
    padded = batch + [batch[-1]] * (size - n)
    its = [b[0] for b in padded]
    t0 = time.perf_counter()
    res = editor.edit(np.stack([i.image for i in its]),
                      np.stack([i.guide for i in its]),
                      [i.mask for i in its], labels=[i.label for i in its],
                      strength=strength, seed=[i.seed for i in its],
                      num_samples=num_samples, options=options)
    seconds = (time.perf_counter() - t0) / n
    for k, (item, _) in enumerate(batch):
      yield ItemOutput(item=item, images=res.images[k],
                       pixel_mask=res.pixel_masks[k],
                       weights=res.feather_weights[k],
                       region=res.regions[k], tokens=_take(res, k),
                       seconds=seconds, compiled=res.compiled, batch=n)

  for x in _prefetched(items, prefetch):
    if isinstance(x, ItemFailure):
      yield x
      continue
    try:
      checked = protocol.check_inputs(
          x.image, x.guide, [x.mask], x.label, strength, x.seed,
          num_samples, editor.image_size, editor.num_classes)
      key = editor.batch_key(checked.pixel_masks[0], options)
    except ValueError as e:  # GuidanceError included: the item's fault.
      yield ItemFailure(x, x.name, e)
      continue
    groups.setdefault(key, []).append((x, checked.pixel_masks[0]))
    if len(groups[key]) == batch_size:
      yield from flush(key)
  for key in list(groups):
    yield from flush(key)
