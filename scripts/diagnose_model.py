r"""Where an editing model's error comes from: tokenizer ceiling vs tokens.

  python scripts/diagnose_model.py --config=configs/evaluation.py:emoji \
      --out=benchmarks/results/diagnosis_v1.json

On the evaluation's restore edits (test sample, `configs/evaluation.py`),
every token method's output is decoded from tokens, so its distance to the
truth splits into two parts:

  oracle  - the truth's OWN tokens decoded into the edit region (G_E with the
            truth as the guide, composited like every edit): what a perfect
            transformer would give; its distance is the tokenizer's ceiling.
  methods - the evaluation's rows (cached, at their kept strengths): the
            excess over the oracle is the transformer's token choices.

Also the tokenizer on whole test images (reconstruction PSNR; perceptual
distance and KID of decode(encode(x)) against the real reference images)
and masked-token accuracy by mask rate (`maskgit.evaluate.card_metrics`).
Per-image perceptual differences carry paired image-bootstrap intervals.
The oracle's runs are cached under `<runs_dir>/diagnosis` (their own key:
the guides differ from the benchmark's).
"""

import copy
import dataclasses
import json
import os
import sys

from absl import app
from absl import flags
import numpy as np

from maskgit import cli

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_CONFIG = cli.define_config_flag(
    os.path.join(_ROOT, "configs", "evaluation.py"), "Evaluation config.")
_ROWS = flags.DEFINE_list(
    "rows", ["g_e", "sdedit", "selfcond", "selfcond_rerank4"],
    "Evaluation rows to split (kept strengths from the run's tuning).")
_OUT = flags.DEFINE_string("out", "", "Summary JSON ('' = print only).")


def diagnose(config, rows=("g_e",)) -> dict:
  """The summary dictionary (see the module docstring)."""
  from maskgit import evaluate
  from maskgit import model as model_lib
  from maskgit_edit.evaluation import benchmark_set as bs
  from maskgit_edit.evaluation import perceptual
  from maskgit_edit.evaluation import runner
  from maskgit_edit.evaluation import stats
  config.progress = False
  ev = runner.Evaluation(config)
  b = ev.bench
  truth_rows = np.asarray([r for r in ev.test_rows
                           if b.kinds[r] in bs.TRUTH_KINDS])
  per = {}
  # The oracle: the truth as the guide, in a run cache of its own.
  oracle_ev = copy.copy(ev)
  oracle_ev.c = config.copy_and_resolve_references()
  with oracle_ev.c.unlocked():
    oracle_ev.c.runs_dir = os.path.join(config.runs_dir, "diagnosis")
  guides = b.guides.copy()
  guides[truth_rows] = b.truths[truth_rows]
  oracle_ev.bench = dataclasses.replace(b, guides=guides)
  rec = oracle_ev._run(runner.G_E, 0.0, truth_rows, 0, "oracle", False)  # pylint: disable=protected-access
  per["oracle"] = rec["metric_perceptual"]
  # The evaluation's own test rows (all kinds, cached), at the truth rows.
  at = np.flatnonzero(np.isin(ev.test_rows, truth_rows))
  per["raw paint"] = ev.test_row("guide", 0.0)["per"]["perceptual"][at]
  strengths = {}
  for name in rows:
    e = runner.G_E if name == "g_e" else next(m for m in ev.methods
                                              if m.name == name)
    strengths[name] = ev.kept_strength(e)
    per[name] = ev.test_row(e, strengths[name])["per"]["perceptual"][at]
  ids = np.asarray([b.ids[r] for r in truth_rows])
  res = stats.cluster_indices(ids, int(config.num_bootstrap), 0)
  out = {"rows": len(truth_rows), "kinds": list(bs.TRUTH_KINDS),
         "strength": strengths, "perceptual": {}, "minus_oracle": {}}
  for name, v in per.items():
    out["perceptual"][name] = stats.mean_interval(v, res).as_list()
    if name != "oracle":
      out["minus_oracle"][name] = stats.diff_interval(
          v, per["oracle"], res).as_list()
  # The tokenizer and the transformer on whole test images.
  model = model_lib.MaskGIT.from_files(
      config.edit.model, config.edit.tokenizer_path,
      config.edit.transformer_path)
  images = ev.parts["test"].images.astype(np.float32) / 255.0
  labels = ev.parts["test"].labels
  card = evaluate.card_metrics(model, images, labels)
  recon = np.concatenate([
      np.clip(model.decode_tokens(model.encode(images[i:i + 64])), 0, 1)
      for i in range(0, len(images), 64)])
  recon_u8 = np.round(recon * 255).astype(np.uint8)
  dist = 100.0 * perceptual.distance(ev.extractor, ev.parts["test"].images,
                                     recon_u8)
  feats = ev.extractor.features(recon_u8)
  kid = stats.KidBootstrap(feats, ev.ref_feats)
  out["tokenizer"] = dict(
      images=int(len(images)), psnr_mean=card["psnr_mean"],
      perceptual_recon=float(np.mean(dist)),
      kid_recon_x1e3=float(kid.value() * 1e3))
  out["masked_tokens"] = card["masked_tokens"]
  return out


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
  summary = diagnose(_CONFIG.value, _ROWS.value)
  text = json.dumps(summary, indent=1)
  print(text)
  if _OUT.value:
    from maskgit import io_utils
    summary["command"] = " ".join(["python scripts/diagnose_model.py"]
                                  + sys.argv[1:])
    io_utils.write_json(_OUT.value, summary)


if __name__ == "__main__":
  app.run(main, flags_parser=cli.parse_flags_or_exit)
