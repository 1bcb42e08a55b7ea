r"""Every editing method and ablation on the frozen benchmark: one command.

  python benchmarks/compare.py --config=configs/compare.py:emoji
  python benchmarks/compare.py --config=configs/compare.py:emoji \
      --config.quick=True

1. Builds the benchmark set once (maskgit_edit/benchmark_set.py) or reuses
   it, and computes the feature network's features of the real reference
   images (the train split).
2. Runs every entry (configs/compare.py: methods over a strength grid,
   ablations on a documented subset) through `Editor.edit` in batches, and
   scores every run with maskgit_edit/metrics.py per benchmark kind. Each run
   is cached in `runs_dir` under a key of all its settings: a rerun skips
   what is done (a killed run resumes).
3. Measures each entry's compiled latency per edit in the same process.
4. Writes the JSON summary (`out_json`), docs/comparisons.md (`out_doc`) and
   two plots (`plots_dir`): faithfulness vs KID with the Pareto front, and
   quality vs latency.
"""

import os
import sys

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# pylint: disable=g-import-not-at-top,wrong-import-position
from absl import app
from maskgit import cli

_CONFIG = cli.define_config_flag(
    os.path.join(_ROOT, "configs", "compare.py"), "Compare config.")


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
  from maskgit_edit import compare  # pylint: disable=g-import-not-at-top
  try:
    compare.run(_CONFIG.value)
  except (ValueError, OSError) as e:
    print(f"error: {e}", file=sys.stderr)
    sys.exit(1)


if __name__ == "__main__":
  app.run(main, flags_parser=cli.parse_flags_or_exit)
