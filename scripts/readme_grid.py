r"""Compact picture of an editing run for the README.

  python scripts/readme_grid.py outputs/sdedit_s0.300 docs/images/examples.png

Each cell group is: original | guide | sample 0 | sample 1; two edits per row,
in the order of examples/edits.jsonl.
"""

import json
import os
import sys

import numpy as np
from PIL import Image

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def main(run_dir: str, out: str, per_row: int = 2) -> None:
  names = [json.loads(line)["name"] for line in
           open(os.path.join(ROOT, "examples", "edits.jsonl"))]
  load = lambda p: np.asarray(Image.open(p).convert("RGB"))
  groups = []
  for n in names:
    cells = [load(os.path.join(ROOT, "examples", f"{n}.png")),
             load(os.path.join(ROOT, "examples", f"{n}.guide.png")),
             load(os.path.join(run_dir, n, "sample_00.png")),
             load(os.path.join(run_dir, n, "sample_01.png"))]
    cells = [np.pad(c, ((1, 1), (1, 1), (0, 0)), constant_values=255)
             for c in cells]
    groups.append(np.pad(np.concatenate(cells, 1), ((0, 0), (0, 8), (0, 0)),
                         constant_values=255))
  while len(groups) % per_row:
    groups.append(np.full_like(groups[0], 255))
  rows = [np.concatenate(groups[i:i + per_row], 1)
          for i in range(0, len(groups), per_row)]
  Image.fromarray(np.concatenate(rows, 0)).save(out, optimize=True)
  print(f"Wrote {out}.")


if __name__ == "__main__":
  main(*sys.argv[1:3])
