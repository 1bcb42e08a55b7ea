r"""MaskGIT class-conditional generation and box editing (the upstream demo).

  python generate.py --config=configs/generate.py:imagenet256 \
    --config.tokenizer_path=PATH --config.transformer_path=PATH \
    --config.labels=1,207,980
  python generate.py --config=configs/generate.py:imagenet256 ... \
    --config.mode=box_edit --config.image=cat.png \
    --config.box=64,32,128,144 --config.target_label=207

Without checkpoint paths the model is randomly initialised (pipeline demo).
"""

import os
import sys

from absl import app

from maskgit import cli

_CONFIG = cli.define_config_flag(
    os.path.join(os.path.dirname(os.path.abspath(__file__)), "configs",
                 "generate.py"), "Generation config.")


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
  try:
    cli.run_generate(_CONFIG.value)
  except (ValueError, OSError) as e:
    print(f"error: {e}", file=sys.stderr)
    sys.exit(1)


if __name__ == "__main__":
  app.run(main, flags_parser=cli.parse_flags_or_exit)
