r"""Any-size editing of collages: windows vs the whole image downscaled.

    python benchmarks/bench_anysize.py --num_edits=24

Each of the first `num_edits` 'local' test edits of the frozen benchmark
(data/benchmark/emoji_v2: a rectangle of another emoji to restore, with
SDEdit-style strokes of the truth as paint) becomes a 192x128 collage: its
tile at one of the 6 positions (cycling), the other tiles the inputs of
other test edits. Three ways of making the same edit, all through
`anysize.edit_items` / `loop.edit_items` with the embedded model, method
`sdedit`, the config's strength and seed:

  alone       the 64x64 edit by itself (what the model does at its size);
  windows     the collage, any-size windows (native when the edit plus
              margins fits 64 px, else a downscaled context window);
  downscaled  the collage, whole image edge-padded to 192x192 and
              downscaled to 64 (a window as large as the image: the same code
              with window_context = 10^4), E pasted back upscaled.

Metrics on the edit tile, in its mask, over every sample: `truth_rmse` (8-bit
RMSE to the true emoji, lower = better restoration) and `stroke_rmse` (to the
paint, blurred as the evaluation does); the share of windows per mode, and
every condition's metrics on the edits split by the mode of their window in
`windows`; the seconds per edit of a second, compiled pass (all conditions
use the same batch size; on a shared CPU the timings are rough). Pixels outside every edit's
feather band are checked bit-identical in both collage conditions.
"""

import os
import sys
import time

from absl import app
from absl import flags
import numpy as np
from scipy import ndimage

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(
    __file__))))

from configs import edit as edit_config  # pylint: disable=g-import-not-at-top
from maskgit import io_utils  # pylint: disable=g-import-not-at-top
from maskgit_edit import anysize  # pylint: disable=g-import-not-at-top
from maskgit_edit.batch import loop  # pylint: disable=g-import-not-at-top
from maskgit_edit.evaluation import benchmark_set  # pylint: disable=g-import-not-at-top
from maskgit_edit.evaluation import metrics  # pylint: disable=g-import-not-at-top
from maskgit_edit.methods import pool as pool_lib  # pylint: disable=g-import-not-at-top

_MANIFEST = flags.DEFINE_string(
    "manifest", "data/benchmark/emoji_v2/manifest.jsonl", "Benchmark set.")
_NUM = flags.DEFINE_integer("num_edits", 24, "Local test edits used.")
_SAMPLES = flags.DEFINE_integer("num_samples", 4, "Samples per edit.")
_METHOD = flags.DEFINE_string("method", "sdedit", "Editing method.")
_OUT = flags.DEFINE_string("out", "benchmarks/results/anysize_collage.json",
                           "Result JSON.")

S = 64
ROWS, COLS = 2, 3


def _collages(arr, picks, others):
  """(items, tile slices) for collages around each picked edit."""
  items, tiles = [], []
  f = lambda x: np.asarray(x, np.float32) / 255.0
  for n, i in enumerate(picks):
    pos = n % (ROWS * COLS)
    image = np.zeros((ROWS * S, COLS * S, 3), np.float32)
    mask = np.zeros(image.shape[:2], bool)
    fill = iter(others[(n * 5) % len(others):] + others)
    for p in range(ROWS * COLS):
      r, c = divmod(p, COLS)
      sl = (slice(r * S, r * S + S), slice(c * S, c * S + S))
      image[sl] = f(arr.images[i] if p == pos else arr.images[next(fill)])
      if p == pos:
        tile = sl
    guide = image.copy()
    guide[tile] = f(arr.guides[i])
    mask[tile] = arr.masks[i]
    items.append(loop.EditItem(arr.names[i], image, guide, mask,
                               label=int(arr.labels[i]), seed=0, data=i))
    tiles.append(tile)
  return items, tiles


def _run(fn, repeats=2):
  """Outputs by name of the last pass, seconds per edit of that pass."""
  for _ in range(repeats):
    t0 = time.perf_counter()
    outs = {o.item.name: o for o in fn()}
    dt = time.perf_counter() - t0
  return outs, dt / len(outs)


def main(argv):
  del argv
  config = edit_config.get_config("emoji")
  config.method = _METHOD.value
  arr = benchmark_set.load(_MANIFEST.value)
  local = list(arr.where("local", "test"))
  picks = local[:_NUM.value]
  others = [int(i) for i in arr.where("recolour", "test")]  # Unedited inputs.
  pool = pool_lib.EditorPool()
  editor = pool.editor(config, config.method)
  opts = pool.options(config, config.method)
  feather = int(config.feather)
  n = _SAMPLES.value
  kw = dict(strength=float(config.strength), num_samples=n,
            batch_size=int(config.batch_size))
  f = lambda x: np.asarray(x, np.float32) / 255.0
  alone_items = [loop.EditItem(arr.names[i], f(arr.images[i]),
                               f(arr.guides[i]), arr.masks[i],
                               label=int(arr.labels[i]), seed=0)
                 for i in picks]
  items, tiles = _collages(arr, picks, others)
  runs = {
      "alone": lambda: loop.edit_items(editor, opts, alone_items, **kw),
      "windows": lambda: anysize.edit_items(
          editor, opts, items, context=int(config.window_context), **kw),
      "downscaled": lambda: anysize.edit_items(
          editor, opts, items, context=10 ** 4, **kw),
  }
  report = dict(method=config.method, strength=float(config.strength),
                num_samples=n, num_edits=len(picks), feather=feather,
                window_context=int(config.window_context), conditions={})
  per_edit = {}
  for name, fn in runs.items():
    outs, sec = _run(fn)
    truth, stroke, modes, identical = [], [], [], True
    for k, i in enumerate(picks):
      o = outs[arr.names[i]]
      if isinstance(o, loop.ItemFailure):
        raise o.error
      imgs = o.images if name == "alone" else o.images[(slice(None),) +
                                                        tiles[k]]
      m = np.repeat(arr.masks[i][None], n, 0)
      truth.append(metrics.truth_rmse(imgs, np.repeat(
          f(arr.truths[i])[None], n, 0), m).mean())
      stroke.append(metrics.stroke_rmse(imgs, np.repeat(
          f(arr.guides[i])[None], n, 0), m).mean())
      if name != "alone":
        modes += [w["mode"] for w in o.layout["windows"]]
        far = ndimage.distance_transform_edt(~o.pixel_mask) > feather
        identical &= all(np.array_equal(s[far], items[k].image[far])
                         for s in o.images)
    per_edit[name] = (truth, stroke, modes)
    se = lambda v: float(np.std(v, ddof=1) / np.sqrt(len(v)))
    report["conditions"][name] = dict(
        truth_rmse=float(np.mean(truth)), truth_rmse_se=se(truth),
        stroke_rmse=float(np.mean(stroke)), stroke_rmse_se=se(stroke),
        seconds_per_edit=sec,
        modes={m: modes.count(m) for m in sorted(set(modes))},
        far_pixels_identical=bool(identical) if name != "alone" else None)
    c = report["conditions"][name]
    print(f"{name:10s} truth_rmse {c['truth_rmse']:.1f} +- "
          f"{c['truth_rmse_se']:.1f}  stroke_rmse {c['stroke_rmse']:.1f} +- "
          f"{c['stroke_rmse_se']:.1f}  {sec:.2f} s/edit  modes {c['modes']}"
          f"  far identical {c['far_pixels_identical']}", flush=True)
  # The same edits split by the mode their window had in `windows` (one
  # window per collage): is the gap to `alone` the downscaling's?
  split = np.asarray(per_edit["windows"][2])
  report["by_window_mode"] = {}
  for mode in sorted(set(split)):
    keep = split == mode
    row = {name: dict(truth_rmse=float(np.mean(np.asarray(t)[keep])),
                      stroke_rmse=float(np.mean(np.asarray(st)[keep])))
           for name, (t, st, _) in per_edit.items()}
    report["by_window_mode"][mode] = dict(num_edits=int(keep.sum()), **row)
    print(f"{mode} windows ({int(keep.sum())} edits): " + ", ".join(
        f"{k} truth {v['truth_rmse']:.1f} stroke {v['stroke_rmse']:.1f}"
        for k, v in row.items()), flush=True)
  io_utils.write_json(_OUT.value, report)
  print(f"Wrote {_OUT.value}")


if __name__ == "__main__":
  app.run(main)
