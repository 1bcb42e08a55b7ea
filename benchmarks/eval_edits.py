r"""Scores every editing method x strength on the bundled examples.

(A proxy on 14 hand-painted edits; the reproducible evaluation at scale is
benchmarks/compare.py, docs/comparisons.md.)

  python benchmarks/eval_edits.py                     # embedded model
  python benchmarks/eval_edits.py --strengths=0.25,0.5 --num_samples=4

For each example (examples/edits.jsonl) and sample it measures, in the edit
mask M (the pixels the editor may change):
  stroke_rmse   RMSE (8-bit levels) between the output and the guide, both
                blurred with a Gaussian of sigma 2 px (SDEdit's "stroke L2":
                does the edit follow the strokes' layout and colours?);
  change_rmse   RMSE (8-bit levels) between the output and the original,
                unblurred (did it edit at all?);
  token_nll     realism proxy: the output is re-encoded, its edited tokens E
                are masked, and the embedded transformer (no hints) scores
                them: mean NLL in nats. Lower = more like the training images.
                The same score of the ORIGINAL images and of the GUIDES (the
                raw paint) is printed as reference points.
  kept          pixels beyond the feather band are bit-identical to the
                input (must be 100%).
Writes benchmarks/results/edit_quality.json and prints a markdown table.
"""

import json
import os
import time

from absl import app
from absl import flags
import numpy as np
from scipy import ndimage

from configs import edit as edit_config
from maskgit import cli as maskgit_cli
from maskgit import model as model_lib
from maskgit_edit import batch
from maskgit_edit import editor as editor_lib

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

_METHODS = flags.DEFINE_list(
    "methods", ["inpaint", "context", "self_fixed", "sdedit", "selfcond"],
    "Methods to score.")
_STRENGTHS = flags.DEFINE_list("strengths", ["0.1", "0.25", "0.5", "0.75"],
                               "Strengths (inpaint ignores them).")
_NUM_SAMPLES = flags.DEFINE_integer("num_samples", 4, "Samples per edit.")
_SEED = flags.DEFINE_integer("seed", 0, "Seed.")
_OUT = flags.DEFINE_string("out", "benchmarks/results/edit_quality.json",
                           "Output JSON.")
_TRANSFORMER = flags.DEFINE_string(
    "transformer", "", "Hinted transformer msgpack to score instead of the "
    "embedded one (e.g. a new selfcond export); '' = embedded.")


def _blur(x: np.ndarray) -> np.ndarray:
  return ndimage.gaussian_filter(x, sigma=(2, 2, 0), mode="nearest")


def token_nll(model: model_lib.MaskGIT, images: np.ndarray,
              edit_tokens: np.ndarray, labels: np.ndarray) -> np.ndarray:
  """Mean NLL of each image's tokens at its edit tokens, all masked at once."""
  ids = model.encode(images).reshape(len(images), -1)
  e = edit_tokens.reshape(len(images), -1)
  seq = model.sequence(np.where(e, model_lib.MASK_ID, ids), labels)
  c = model.transformer_config.num_codes
  logits = model.logits(seq)[:, 1:, :c].astype(np.float64)
  logits -= logits.max(-1, keepdims=True)
  logp = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
  nll = -np.take_along_axis(logp, ids[..., None], -1)[..., 0]
  return (nll * e).sum(-1) / np.maximum(e.sum(-1), 1)


def main(argv):
  del argv
  config = edit_config.get_config("emoji")
  if _TRANSFORMER.value:
    config.transformer_path = _TRANSFORMER.value
  items, errors = batch.discover(config.inputs)
  if errors:
    raise SystemExit("; ".join(errors))
  model = maskgit_cli.load_model(config)
  ed = editor_lib.Editor(model)
  size = model.image_size
  data = [batch.load_item(it, size, False) for it in items]
  labels = np.asarray([it.label or 0 for it in items], np.int32)
  images = np.stack([d[0] for d in data])
  guides = np.stack([d[1] for d in data])
  masks = [d[2] for d in data]
  strengths = [float(s) for s in _STRENGTHS.value]
  rows, ref = [], {}
  first = ed.edit(images, guides, masks, labels=labels, strength=0.5,
                  seed=0, options=editor_lib.EditOptions(method="inpaint"))
  e_tok = first.edit_tokens.reshape(len(items), -1)
  ref["original_token_nll"] = float(token_nll(model, images, e_tok,
                                              labels).mean())
  ref["guide_token_nll"] = float(token_nll(model, guides, e_tok,
                                           labels).mean())
  pix = first.pixel_masks.astype(bool)
  for method in _METHODS.value:
    opts = editor_lib.options_from_config(config, method)
    for s in ([1.0] if method == "inpaint" else strengths):
      t0 = time.perf_counter()
      res = ed.edit(images, guides, masks, labels=labels, strength=s,
                    seed=_SEED.value, num_samples=_NUM_SAMPLES.value,
                    options=opts)
      dt = time.perf_counter() - t0
      n, k = res.images.shape[:2]
      out = res.images.reshape(n * k, size, size, 3)
      rep = lambda a: np.repeat(a, k, axis=0)
      m = rep(pix)
      g, o = rep(guides), rep(images)
      per = lambda sq: np.sqrt((sq * m[..., None]).sum((1, 2, 3)) /
                               (3 * m.sum((1, 2))))
      stroke = per((_blur_batch(out) - _blur_batch(g)) ** 2) * 255
      change = per((out - o) ** 2) * 255
      nll = token_nll(model, out, rep(res.edit_tokens.reshape(n, -1)),
                      rep(labels))
      beyond = rep(res.feather_weights) == 0
      kept = np.all(np.where(beyond[..., None], out == o, True))
      row = dict(method=method, strength=s, stroke_rmse=float(stroke.mean()),
                 change_rmse=float(change.mean()),
                 token_nll=float(nll.mean()), kept=bool(kept),
                 seconds=round(dt, 2), per_item=dict(
                     stroke_rmse=stroke.reshape(n, k).mean(1).round(2)
                     .tolist(),
                     token_nll=nll.reshape(n, k).mean(1).round(3).tolist()))
      rows.append(row)
      print(f"{method:10s} s={s:.2f} stroke {row['stroke_rmse']:6.1f} "
            f"change {row['change_rmse']:6.1f} nll {row['token_nll']:.3f} "
            f"kept {kept}", flush=True)
  result = dict(transformer=os.path.relpath(config.transformer_path, _ROOT),
                items=[it.name for it in items], num_samples=_NUM_SAMPLES.value,
                seed=_SEED.value, reference=ref, rows=rows,
                machine=f"{os.cpu_count()} CPU cores", date=time.strftime(
                    "%Y-%m-%d"))
  os.makedirs(os.path.dirname(_OUT.value), exist_ok=True)
  with open(_OUT.value, "w") as f:
    json.dump(result, f, indent=1)
  print(f"\nReference token NLL: original images "
        f"{ref['original_token_nll']:.3f}, raw guides "
        f"{ref['guide_token_nll']:.3f}.\n")
  print("| method | strength | stroke RMSE (lower = follows guide) | change "
        "vs original | token NLL (lower = more typical) | outside kept |")
  print("|---|---|---|---|---|---|")
  for r in rows:
    print(f"| {r['method']} | {r['strength']:g} | {r['stroke_rmse']:.1f} | "
          f"{r['change_rmse']:.1f} | {r['token_nll']:.2f} | "
          f"{'yes' if r['kept'] else 'NO'} |")
  print(f"\nWrote {_OUT.value}.")


def _blur_batch(x: np.ndarray) -> np.ndarray:
  return np.stack([_blur(im) for im in x])


if __name__ == "__main__":
  app.run(main)
