r"""Does `selfcond` follow the paint? Stroke faithfulness vs realism.

  python benchmarks/eval_selfcond.py --candidate=path/selfcond.msgpack
  python benchmarks/eval_selfcond.py          # the embedded model's selfcond

Two edit sets:
  examples   the 14 hand-painted edits of examples/edits.jsonl;
  inversion  simulated edits on the first --num_test test-split images of
             --data: one superpixel pasted in its own mean colour
             (`strokes.pilot_stroke_edit`, mode 'inversion', seed = index,
             the segment is the mask). The original is a true answer here.
Methods: `inpaint` and token `sdedit` on the embedded model, `selfcond` on
the candidate transformer (hint kind read from the file) for every
--positions. Metrics in the edit mask, as `eval_edits.py`: stroke RMSE
(blurred output vs blurred guide, 8-bit levels), change RMSE (vs the
original; on `inversion` the error to a true answer), token NLL (realism
proxy scored by the EMBEDDED model without hints, the same scorer for every
method). Writes JSON (--out) and prints a markdown table per set.
"""

import json
import os
import time

from absl import app
from absl import flags
import numpy as np

from configs import edit as edit_config
import eval_edits
from maskgit import embedded
from maskgit import model as model_lib
from maskgit_edit import batch
from maskgit_edit import editor as editor_lib
from maskgit_edit import strokes
from maskgit_edit.samplers import selfcond as selfcond_sampler

_CANDIDATE = flags.DEFINE_string(
    "candidate", "", "selfcond transformer msgpack ('' = embedded).")
_DATA = flags.DEFINE_string("data", "/work/data/emoji64.npz",
                            "npz dataset with test_image / test_label.")
_SETS = flags.DEFINE_list("sets", ["examples", "inversion"], "Edit sets.")
_NUM_TEST = flags.DEFINE_integer("num_test", 48, "Inversion edits.")
_POSITIONS = flags.DEFINE_list("positions", ["edit"],
                               "selfcond hint positions to score.")
# Shared with eval_edits (imported, so its flags exist): new defaults here.
_METHODS, _STRENGTHS = eval_edits._METHODS, eval_edits._STRENGTHS  # pylint: disable=protected-access
_NUM_SAMPLES, _SEED = eval_edits._NUM_SAMPLES, eval_edits._SEED  # pylint: disable=protected-access
_OUT = eval_edits._OUT  # pylint: disable=protected-access
flags.FLAGS.set_default("methods", ["inpaint", "sdedit", "selfcond"])
flags.FLAGS.set_default("num_samples", 2)
flags.FLAGS.set_default("out", "benchmarks/results/selfcond_eval.json")


def examples_set():
  config = edit_config.get_config("emoji")
  items, errors = batch.discover(config.inputs)
  if errors:
    raise SystemExit("; ".join(errors))
  data = [batch.load_item(it, 64, False) for it in items]
  return (np.stack([d[0] for d in data]), np.stack([d[1] for d in data]),
          [d[2] for d in data],
          np.asarray([it.label or 0 for it in items], np.int32))


def inversion_set(path: str, n: int):
  with np.load(path) as f:
    images = f["test_image"][:n].astype(np.float32) / 255.0
    labels = f["test_label"][:n].astype(np.int32)
  guides, masks = [], []
  for i, im in enumerate(images):
    g, m = strokes.pilot_stroke_edit(im, kernel_size=5, mode="inversion",
                                     seed=i)
    guides.append(g)
    masks.append(m)
  return images, np.stack(guides), masks, labels


def score(scorer, res, images, guides, labels):
  """Mean stroke RMSE, change RMSE, token NLL over edits x samples."""
  n, k, size = res.images.shape[:3]
  out = res.images.reshape(n * k, size, size, 3)
  rep = lambda a: np.repeat(a, k, axis=0)
  m = rep(res.pixel_masks.astype(bool))
  per = lambda sq: np.sqrt((sq * m[..., None]).sum((1, 2, 3)) /
                           (3 * m.sum((1, 2))))
  stroke = per((eval_edits._blur_batch(out)  # pylint: disable=protected-access
                - eval_edits._blur_batch(rep(guides))) ** 2) * 255  # pylint: disable=protected-access
  change = per((out - rep(images)) ** 2) * 255
  nll = eval_edits.token_nll(scorer, out, rep(res.edit_tokens.reshape(n, -1)),
                             rep(labels))
  return dict(stroke_rmse=float(stroke.mean()),
              change_rmse=float(change.mean()), token_nll=float(nll.mean()))


def main(argv):
  del argv
  base = embedded.load()
  cand = base
  if _CANDIDATE.value:
    cand = model_lib.MaskGIT.from_files(embedded.config(),
                                        embedded.TOKENIZER_PATH,
                                        _CANDIDATE.value)
  eds = {"base": editor_lib.Editor(base), "cand": editor_lib.Editor(cand)}
  strengths = [float(s) for s in _STRENGTHS.value]
  result = dict(candidate=_CANDIDATE.value or "embedded",
                hint=dict(num_hint_codes=cand.transformer_config.num_hint_codes,
                          hint_features=cand.transformer_config.hint_features),
                num_samples=_NUM_SAMPLES.value, seed=_SEED.value, sets={},
                machine=f"{os.cpu_count()} CPU cores (shared)",
                date=time.strftime("%Y-%m-%d"))
  for name in _SETS.value:
    if name == "examples":
      images, guides, masks, labels = examples_set()
    elif name == "inversion":
      images, guides, masks, labels = inversion_set(_DATA.value,
                                                    _NUM_TEST.value)
    else:
      raise SystemExit(f"Unknown set {name!r}.")
    first = eds["base"].edit(images, guides, masks, labels=labels,
                             options=editor_lib.EditOptions(method="inpaint"))
    e_tok = first.edit_tokens.reshape(len(images), -1)
    ref = {"original_token_nll": float(eval_edits.token_nll(
        base, images, e_tok, labels).mean()),
           "guide_token_nll": float(eval_edits.token_nll(
               base, guides, e_tok, labels).mean())}
    rows = []
    runs = []
    for method in _METHODS.value:
      if method == "inpaint":
        runs.append(("inpaint", "base", None, 1.0))
      elif method == "sdedit":
        runs += [("sdedit", "base", None, s) for s in strengths]
      elif method == "selfcond":
        runs += [("selfcond", "cand", selfcond_sampler.Options(p), s)
                 for p in _POSITIONS.value for s in strengths]
    for method, which, mo, s in runs:
      t0 = time.perf_counter()
      res = eds[which].edit(
          images, guides, masks, labels=labels, strength=s, seed=_SEED.value,
          num_samples=_NUM_SAMPLES.value, options=editor_lib.EditOptions(
              method=method, method_options=mo))
      row = dict(method=method, positions=mo.positions if mo else "",
                 strength=s, seconds=round(time.perf_counter() - t0, 1),
                 **score(base, res, images, guides, labels))
      rows.append(row)
      print(f"[{name}] {method:8s} {row['positions']:6s} s={s:.2f} stroke "
            f"{row['stroke_rmse']:5.1f} change {row['change_rmse']:5.1f} "
            f"nll {row['token_nll']:.3f}", flush=True)
    result["sets"][name] = dict(n=len(images), reference=ref, rows=rows)
  os.makedirs(os.path.dirname(_OUT.value) or ".", exist_ok=True)
  with open(_OUT.value, "w") as f:
    json.dump(result, f, indent=1)
  for name, d in result["sets"].items():
    r = d["reference"]
    print(f"\n{name} ({d['n']} edits x {_NUM_SAMPLES.value} samples); token "
          f"NLL of originals {r['original_token_nll']:.2f}, of raw guides "
          f"{r['guide_token_nll']:.2f}")
    print("| method | strength | stroke RMSE | change RMSE | token NLL |")
    print("|---|---|---|---|---|")
    for row in d["rows"]:
      label = row["method"] + (f" ({row['positions']})"
                               if row["positions"] else "")
      print(f"| {label} | {row['strength']:g} | {row['stroke_rmse']:.1f} | "
            f"{row['change_rmse']:.1f} | {row['token_nll']:.2f} |")
  print(f"\nWrote {_OUT.value}.")


if __name__ == "__main__":
  app.run(main)
