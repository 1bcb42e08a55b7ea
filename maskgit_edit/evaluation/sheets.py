r"""Blind pairwise contact sheets: a two-alternative forced-choice study.

  python -m maskgit_edit.evaluation.sheets --a=selfcond --b=sdedit \
      --out=outputs/sheets_selfcond_vs_sdedit --n=40
  # a person fills outputs/.../answers.csv (page,row,choice = L or R)
  python -m maskgit_edit.evaluation.sheets --score \
      --out=outputs/sheets_selfcond_vs_sdedit

Reads the test outputs an evaluation run kept (`<runs_dir>/test_outputs.npz`,
seed 0) and the benchmark. For `n` edits drawn at random (seeded) from the
test sample, each row of a sheet shows: the input | the guide (the paint) |
two edits, method A and method B in a random order. The order is written to
`key.json` (not on the sheets), so the judge does not know which is which.
`instructions.txt` says what to judge. `--score` reads answers.csv and
prints how often A was preferred, with a 95% Wilson interval (0.5 = no
preference).
"""

from __future__ import annotations

import csv
import json
import math
import os

import numpy as np

from maskgit import image_io
from maskgit import io_utils
from maskgit_edit.evaluation import benchmark_set as bs

ROWS_PER_SHEET = 10
SCALE = 3  # Nearest-neighbour upscaling of the 64 px images.
INSTRUCTIONS = """Blind comparison of two image edits.

Each row shows: the original | the user's paint (the edit asked for) |
edit L | edit R. For each row choose the edit you prefer: the one that looks
like a real emoji AND follows the paint's layout and colours (where the two
pull apart, weigh them as a user of an editor would). Write one line per row
to answers.csv: page,row,choice (choice is L or R; rows count from 0).
Do not open key.json until you are done.
"""


def make(outputs_npz: str, manifest: str, a: str, b: str, out_dir: str,
         n: int = 40, seed: int = 0) -> list[str]:
  """Writes sheet_XX.png, key.json, instructions.txt, answers.csv (header).

  Returns the paths of the sheets.
  """
  with np.load(outputs_npz) as f:
    for m in (a, b):
      if m not in f.files:
        raise ValueError(f"{outputs_npz} has no outputs of {m!r}; it has "
                         f"{[x for x in f.files if x != 'names']}.")
    names = [str(x) for x in f["names"]]
    out_a, out_b = f[a], f[b]
  bench = bs.load(manifest)
  where = {nm: i for i, nm in enumerate(bench.names)}
  rng = np.random.default_rng(seed)
  pick = rng.permutation(len(names))[:n]
  swap = rng.random(len(pick)) < 0.5
  os.makedirs(out_dir, exist_ok=True)
  key, paths = [], []
  for page in range(0, len(pick), ROWS_PER_SHEET):
    rows = []
    for row, (k, s) in enumerate(zip(pick[page:page + ROWS_PER_SHEET],
                                     swap[page:page + ROWS_PER_SHEET])):
      i = where[names[k]]
      left, right = (out_b[k], out_a[k]) if s else (out_a[k], out_b[k])
      rows.append(np.stack([bench.images[i], bench.guides[i], left, right]))
      key.append(dict(page=page // ROWS_PER_SHEET, row=row, edit=names[k],
                      L=b if s else a, R=a if s else b))
    g = image_io.grid(np.concatenate(rows).astype(np.float32) / 255.0, 4,
                      pad=4)
    g = np.kron(g, np.ones((SCALE, SCALE, 1), np.float32))
    path = os.path.join(out_dir, f"sheet_{page // ROWS_PER_SHEET:02d}.png")
    image_io.save_png(path, g)
    paths.append(path)
  io_utils.write_json(os.path.join(out_dir, "key.json"),
                      dict(a=a, b=b, seed=seed, rows=key))
  with io_utils.atomic_write(os.path.join(out_dir, "instructions.txt"),
                             "w") as f:
    f.write(INSTRUCTIONS)
  answers = os.path.join(out_dir, "answers.csv")
  if not os.path.exists(answers):
    with io_utils.atomic_write(answers, "w") as f:
      f.write("page,row,choice\n")
  return paths


def wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
  """95% Wilson score interval of a proportion k / n."""
  if n == 0:
    return 0.0, 1.0
  p = k / n
  d = 1 + z * z / n
  c = (p + z * z / (2 * n)) / d
  h = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / d
  return c - h, c + h


def score(out_dir: str) -> dict:
  """How often A was preferred in answers.csv, with its interval."""
  with open(os.path.join(out_dir, "key.json")) as f:
    key = json.load(f)
  by_pos = {(r["page"], r["row"]): r for r in key["rows"]}
  wins = total = 0
  with open(os.path.join(out_dir, "answers.csv")) as f:
    for rec in csv.DictReader(f):
      pos = (int(rec["page"]), int(rec["row"]))
      choice = rec["choice"].strip().upper()
      if pos not in by_pos or choice not in ("L", "R"):
        raise ValueError(f"answers.csv: bad line {rec}.")
      total += 1
      wins += by_pos[pos][choice] == key["a"]
  lo, hi = wilson(wins, total)
  return dict(a=key["a"], b=key["b"], judged=total, a_preferred=wins,
              rate=wins / total if total else float("nan"), ci=[lo, hi])


def main(argv):
  del argv
  from absl import flags  # pylint: disable=g-import-not-at-top
  f = flags.FLAGS
  if f.score:
    print(json.dumps(score(f.out), indent=1))
    return
  paths = make(os.path.join(f.runs_dir, "test_outputs.npz"),
               os.path.join(f.benchmark_dir, bs.MANIFEST), f.a, f.b, f.out,
               f.n, f.seed)
  print(f"Wrote {len(paths)} sheets to {f.out}; see instructions.txt.")


if __name__ == "__main__":
  from absl import app  # pylint: disable=g-import-not-at-top
  from absl import flags  # pylint: disable=g-import-not-at-top
  flags.DEFINE_string("runs_dir", "data/evaluation/emoji",
                      "An evaluation's runs_dir.")
  flags.DEFINE_string("benchmark_dir", "data/benchmark/emoji_v2",
                      "Its benchmark folder.")
  flags.DEFINE_string("a", "selfcond", "Method A (a row of the run).")
  flags.DEFINE_string("b", "sdedit", "Method B.")
  flags.DEFINE_string("out", "outputs/sheets", "Output folder.")
  flags.DEFINE_integer("n", 40, "Edits compared.")
  flags.DEFINE_integer("seed", 0, "Which edits and the L/R order.")
  flags.DEFINE_bool("score", False, "Score answers.csv instead.")
  app.run(main)
