r"""MaskGIT class-conditional generation and box editing (the upstream demo).

  python generate.py --config=configs/generate.py:imagenet256 \
    --config.tokenizer_path=PATH --config.transformer_path=PATH \
    --config.labels=1,207,980
  python generate.py --config=configs/generate.py:imagenet256 ... \
    --config.mode=box_edit --config.image=cat.png \
    --config.box=64,32,128,144 --config.target_label=207

Without checkpoint paths the model is randomly initialised (pipeline demo).
"""

import sys

from absl import app
from absl import flags
from ml_collections import config_flags

_CONFIG = config_flags.DEFINE_config_file(
    "config", "configs/generate.py", "Generation config.", lock_config=True)


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
  from maskgit import cli  # pylint: disable=g-import-not-at-top
  try:
    cli.run_generate(_CONFIG.value)
  except (ValueError, OSError) as e:
    print(f"error: {e}", file=sys.stderr)
    sys.exit(1)


if __name__ == "__main__":
  app.run(main)
