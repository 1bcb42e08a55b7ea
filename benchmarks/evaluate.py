r"""The evaluation protocol in one command (maskgit_edit/evaluation).

  python benchmarks/evaluate.py --config=configs/evaluation.py:emoji
  python benchmarks/evaluate.py --config=configs/evaluation.py:quick

Tunes every method's strength on the validation split, edits the test
sample once per seed at that strength through the batch loop, scores every
output (faithfulness, perceptual closeness to the truth, realism KID, seam,
preservation), compares each method with the references with paired
image-bootstrap intervals, times it, and writes benchmarks/results/
evaluation.json, docs/comparisons.md, its plots and the README's
Comparisons section. Runs are cached in `runs_dir`: a rerun reuses them and
a killed run resumes.
"""

import os
import sys

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# pylint: disable=g-import-not-at-top,wrong-import-position
from absl import app
from maskgit import cli

_CONFIG = cli.define_config_flag(
    os.path.join(_ROOT, "configs", "evaluation.py"), "Evaluation config.")


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
  from maskgit_edit.evaluation import runner  # pylint: disable=g-import-not-at-top
  try:
    runner.run(_CONFIG.value)
  except (ValueError, OSError) as e:
    print(f"error: {e}", file=sys.stderr)
    sys.exit(1)


if __name__ == "__main__":
  app.run(main, flags_parser=cli.parse_flags_or_exit)
