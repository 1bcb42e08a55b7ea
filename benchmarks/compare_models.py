r"""Two models on the evaluation protocol, method by method, paired.

  python benchmarks/compare_models.py \
      --a=configs/evaluation.py:emoji --a.edit.tokenizer_path=V1/tokenizer.msgpack \
      --a.edit.transformer_path=V1/selfcond.msgpack \
      --a.runs_dir=data/evaluation/emoji_v1 \
      --b=configs/evaluation.py:emoji --b.runs_dir=data/evaluation/emoji_v15 \
      --names=v1,v1.5 --out=benchmarks/results/model_comparison.json

Each config is one model (its `edit` paths and class count) with its own run
cache; `maskgit_edit/evaluation/compare.py` tunes, edits (or reuses cached
rows) and pairs them. Every axis is lower-is-better: an interval below 0
means B is better. Prints a markdown table; --out writes the JSON.
"""

import os
import sys

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# pylint: disable=g-import-not-at-top,wrong-import-position
from absl import app
from absl import flags
from ml_collections import config_flags

from maskgit import cli

_A = config_flags.DEFINE_config_file("a", None, "Evaluation config of A.")
_B = config_flags.DEFINE_config_file("b", None, "Evaluation config of B.")
_NAMES = flags.DEFINE_list("names", ["A", "B"], "Display names of A and B.")
_SKIP = flags.DEFINE_list(
    "skip", ["diffusion_ddim10"],
    "Entries left out (methods that do not use the MaskGIT model).")
_OUT = flags.DEFINE_string("out", "", "Summary JSON ('' = print only).")


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
  if _A.value is None or _B.value is None:
    raise app.UsageError("Give --a and --b (evaluation configs).")
  if len(_NAMES.value) != 2:
    raise app.UsageError("--names takes two names.")
  from maskgit_edit.evaluation import compare  # pylint: disable=g-import-not-at-top
  try:
    summary = compare.compare(_A.value, _B.value, _NAMES.value, _SKIP.value)
  except (ValueError, OSError) as e:
    print(f"error: {e}", file=sys.stderr)
    sys.exit(1)
  print(compare.markdown(summary))
  if _OUT.value:
    from maskgit import io_utils
    summary["command"] = " ".join(["python benchmarks/compare_models.py"]
                                  + sys.argv[1:])
    io_utils.write_json(_OUT.value, summary)
    print(f"Wrote {_OUT.value}.", file=sys.stderr)


if __name__ == "__main__":
  sys.path.insert(0, _ROOT)
  # A typo in an --a./--b. override: one line and status 2, no traceback.
  app.run(main, flags_parser=cli.parse_flags_or_exit)
