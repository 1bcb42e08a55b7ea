"""The one command-line wrapper of the dataset builders.

    python -m maskgit.data.emoji --out_dir=data/tfds
    python -m maskgit.data.emoji_sets --out_dir=data/tfds --cache_dir=data/npm
    python -m maskgit.data.folder --src=DIR --out_dir=data/tfds

Every builder shares `--out_dir`, `--resolution`, `--test_fraction` and
`--overwrite`, adds its own flags, checks the required ones, logs at INFO,
builds, and prints what it wrote and how long it took. Flags are defined
only when a builder runs as a program, so importing a builder (e.g. from
train.py) adds none.
"""

from __future__ import annotations

import logging
import time
from typing import Callable, Sequence

from absl import app
from absl import flags


def main(build: Callable[[flags.FlagValues], str],
         define_flags: Callable[[], None], resolution: int,
         required: Sequence[str] = ("out_dir",)) -> None:
  """Defines the flags and runs `build(FLAGS) -> report text`."""
  flags.DEFINE_string("out_dir", None, "TFDS data_dir to write to.")
  flags.DEFINE_integer("resolution", resolution, "Image side in pixels.")
  flags.DEFINE_float("test_fraction", 0.1, "Fraction of keys in test.")
  flags.DEFINE_bool("overwrite", False, "Replace an existing dataset.")
  define_flags()

  def run(argv: Sequence[str]) -> None:
    if len(argv) > 1:
      raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
    f = flags.FLAGS
    missing = [name for name in required if not f[name].value]
    if missing:
      raise app.UsageError(" and ".join(f"--{m}" for m in missing) +
                           " required.")
    logging.basicConfig(level=logging.INFO)
    start = time.perf_counter()
    report = build(f)
    print(report)
    print(f"Done in {time.perf_counter() - start:.1f} s.")

  app.run(run)


def define_emoji_flags(limit_help: str) -> None:
  """The Noto renderer's flags (emoji and emoji_sets)."""
  from maskgit.data import emoji  # pylint: disable=g-import-not-at-top
  flags.DEFINE_string("font", emoji.FONT_PATH, "Noto Color Emoji font file.")
  flags.DEFINE_string("emoji_test", None,
                      "Unicode emoji-test.txt (default: searched).")
  flags.DEFINE_integer("limit", None, limit_help)


def count_table(title: str, rows: Sequence[tuple[str, Sequence[int]]],
                splits: Sequence[str], width: int = 20) -> str:
  """A text table: one line per (name, count per split) and the totals."""
  lines = [f"{title:<{width}}" + "".join(f"{s:>8}" for s in splits)
           + "   total"]
  for name, row in rows:
    lines.append(f"{name:<{width}}" + "".join(f"{c:>8}" for c in row)
                 + f"{sum(row):>8}")
  totals = [sum(r[i] for _, r in rows) for i in range(len(splits))]
  lines.append(f"{'total':<{width}}" + "".join(f"{c:>8}" for c in totals)
               + f"{sum(totals):>8}")
  return "\n".join(lines)
