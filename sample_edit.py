r"""Guided editing of a batch of images (see docs/editing.md).

  python sample_edit.py --config=configs/edit.py --config.inputs=DIR \
    --config.output_dir=out --config.method=sdedit --config.strength=0.5
  python sample_edit.py --config=configs/edit.py --config.inputs=edits.jsonl \
    --config.sweep.methods=sdedit,self_fixed --config.sweep.strengths=0.25,0.5

Without checkpoint paths the model is randomly initialised (pipeline demo).
Exit status: 0 all items written or skipped; 1 an item or setting failed; 2 a
bad command line.
"""

import os
import sys

from absl import app

from maskgit import cli

_CONFIG = cli.define_config_flag(
    os.path.join(os.path.dirname(os.path.abspath(__file__)), "configs",
                 "edit.py"), "Editing config.")


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
  from maskgit_edit import batch  # pylint: disable=g-import-not-at-top
  try:
    code = batch.run(_CONFIG.value)
  except (ValueError, OSError) as e:
    print(f"error: {e}", file=sys.stderr)
    code = 1
  sys.exit(code)


if __name__ == "__main__":
  app.run(main, flags_parser=cli.parse_flags_or_exit)
