r"""Writes the any-size and outpainting examples (examples/anysize/).

    python examples/make_anysize.py

From the hand-painted 64x64 examples in this folder (test-split emoji):

  collage.png / .guide.png / .mask.png  a 192x128 collage of six emoji (3 x
      2 tiles); four tiles carry their example's paint and mask (moustache,
      red_nose: small, edited at native scale; sunglasses, remove_symbols:
      wider than a 64 px window with its margins (8 px feather + 8 px
      context each side), edited in downscaled windows). The other two
      tiles are untouched context.
  collage.jsonl     its manifest (label 0, Smileys & Emotion, for every
      window: one label per item).
  mountain.jsonl    the `sun` example's image (snow-capped mountain) with
      itself as guide: nothing painted, for outpainting
      (--config.outpaint=left:32,right:32).
  halves.jsonl      the right halves (64 high x 32 wide) of `blue_face`'s
      and `hat`'s originals (slightly smiling face; person with curly
      hair), for outpainting the missing half (--config.outpaint=left:32).

    python examples/make_anysize.py figures OUT

assembles docs/images/anysize_collage.png and docs/images/outpaint.png
from the runs in OUT (the README's commands).

Deterministic (numpy tiling of the PNGs); reruns write identical files.
"""

import json
import pathlib
import sys

import numpy as np
from PIL import Image

HERE = pathlib.Path(__file__).resolve().parent
OUT = HERE / "anysize"
# (row, column) -> (example, edited?)
TILES = {(0, 0): ("sunglasses", True), (0, 1): ("sun", False),
         (0, 2): ("moustache", True), (1, 0): ("hat", False),
         (1, 1): ("remove_symbols", True), (1, 2): ("red_nose", True)}


def _load(name: str, kind: str = "") -> np.ndarray:
  path = HERE / f"{name}{'.' + kind if kind else ''}.png"
  im = Image.open(path)
  return np.asarray(im.convert("L" if kind == "mask" else "RGB"))


def main() -> None:
  OUT.mkdir(exist_ok=True)
  image = np.zeros((128, 192, 3), np.uint8)
  guide = np.zeros_like(image)
  mask = np.zeros((128, 192), np.uint8)
  for (r, c), (name, edited) in TILES.items():
    sl = (slice(64 * r, 64 * r + 64), slice(64 * c, 64 * c + 64))
    image[sl] = _load(name)
    guide[sl] = _load(name, "guide") if edited else _load(name)
    if edited:
      mask[sl] = _load(name, "mask")
  Image.fromarray(image).save(OUT / "collage.png")
  Image.fromarray(guide).save(OUT / "collage.guide.png")
  Image.fromarray(mask).save(OUT / "collage.mask.png")
  (OUT / "collage.jsonl").write_text(json.dumps(dict(
      name="collage", image="collage.png", guide="collage.guide.png",
      mask="collage.mask.png", label=0)) + "\n")
  Image.fromarray(_load("sun")).save(OUT / "mountain.png")
  (OUT / "mountain.jsonl").write_text(json.dumps(dict(
      name="mountain", image="mountain.png", guide="mountain.png",
      label=4)) + "\n")
  lines = []
  for name, source, label in (("half_smile", "blue_face", 0),
                              ("half_person", "hat", 1)):
    Image.fromarray(_load(source)[:, 32:]).save(OUT / f"{name}.png")
    lines.append(json.dumps(dict(name=name, image=f"{name}.png",
                                 guide=f"{name}.png", label=label)))
  (OUT / "halves.jsonl").write_text("\n".join(lines) + "\n")


def _png(path) -> np.ndarray:
  return np.asarray(Image.open(path).convert("RGB"))


def _row(images, pad=4) -> np.ndarray:
  """Images of one height side by side, `pad` white px between."""
  h = max(i.shape[0] for i in images)
  out = [np.pad(images[0], ((0, h - images[0].shape[0]), (0, 0), (0, 0)),
                constant_values=255)]
  for im in images[1:]:
    out.append(np.full((h, pad, 3), 255, np.uint8))
    out.append(np.pad(im, ((0, h - im.shape[0]), (0, 0), (0, 0)),
                      constant_values=255))
  return np.concatenate(out, 1)


def _column(rows, pad=4) -> np.ndarray:
  w = max(r.shape[1] for r in rows)
  out = []
  for r in rows:
    out.append(np.pad(r, ((0, pad), (0, w - r.shape[1]), (0, 0)),
                      constant_values=255))
  return np.concatenate(out, 0)[:-pad]


def figures(runs: str) -> None:
  """docs/images/anysize_collage.png and outpaint.png from the runs."""
  docs = HERE.parent / "docs" / "images"
  run = pathlib.Path(runs)
  c = run / "collage" / "sdedit_s0.300" / "collage"
  collage = _column([_row([_png(OUT / "collage.png"),
                           _png(OUT / "collage.guide.png")]),
                     _row([_png(c / "sample_00.png"),
                           _png(c / "sample_01.png")])])
  Image.fromarray(collage).save(docs / "anysize_collage.png")
  m = run / "mountain" / "sdedit_s0.300" / "mountain"
  rows = [_row([_png(OUT / "mountain.png")] +
               [_png(m / f"sample_{k:02d}.png") for k in range(2)])]
  for name in ("half_smile", "half_person"):
    h = run / "halves" / "sdedit_s0.300" / name
    rows.append(_row([_png(OUT / f"{name}.png")] +
                     [_png(h / f"sample_{k:02d}.png") for k in range(4)]))
  Image.fromarray(_column(rows)).save(docs / "outpaint.png")


if __name__ == "__main__":
  if sys.argv[1:2] == ["figures"]:
    figures(sys.argv[2])
  else:
    main()
