r"""Writes the hand-painted edit examples in this folder (emoji test split).

    python examples/make_examples.py --dataset=data/tfds/noto_emoji/1.0.0

For every example NAME it writes, next to this file:

  NAME.png        the test-split emoji, exactly as stored (uint8 RGB 64x64);
  NAME.guide.png  the same image with the user's paint on it;
  NAME.mask.png   the edit region, 'L' (255 = the editor may regenerate,
                  0 = keep): the painted pixels dilated by a few pixels, or for
                  a recolouring the painted area with its gaps filled;
  edits.jsonl     the manifest sample_edit.py reads by default: one line per
                  example with its files and the emoji's class label.

The paint imitates what a person does in a simple paint program: each stroke is
a round anti-aliased brush dragged along a smooth curve through control points
that were placed BY HAND for that example (looking at the emoji zoomed in on a
pixel grid), with a slight wobble and a varying width (pressure); blobs are
filled shapes through hand-placed outline points; a pasted patch is a lasso cut
(hand-placed outline) from another test-split emoji. Nothing is random: the
wobble is a fixed function of the example and stroke index, so reruns write
identical files. Emoji are chosen by their `id` (code points), never by index,
and a missing id is an error.
"""

from collections.abc import Sequence
import dataclasses
import json
import math
import pathlib
import sys
import zlib

from absl import app
from absl import flags
import numpy as np
from PIL import Image
from PIL import ImageDraw
from scipy import ndimage

try:
  from maskgit.data import pipeline  # pylint: disable=g-import-not-at-top
except ImportError:  # Run as a script from a checkout without PYTHONPATH.
  sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
  from maskgit.data import pipeline  # pylint: disable=g-import-not-at-top

_DATASET = flags.DEFINE_string(
    "dataset", "data/tfds/noto_emoji/1.0.0",
    "Prepared emoji dataset directory (holding dataset_info.json).")
_SPLIT = flags.DEFINE_string("split", "test", "Split the emoji come from.")
_OUT = flags.DEFINE_string(
    "out", str(pathlib.Path(__file__).resolve().parent),
    "Output folder (default: the folder of this script).")

SIZE = 64
_SS = 8  # Supersampling factor of the brush rasteriser (anti-aliasing).

Point = tuple[float, float]


@dataclasses.dataclass(frozen=True)
class Stroke:
  """A round-brush stroke through hand-placed control points.

  Attributes:
    points: control points (x, y) in image pixels (0..64, x to the right,
      y down); the brush follows a Catmull-Rom curve through them.
    radius: brush radius in pixels, one value or one per control point
      (interpolated along the stroke: the "pressure").
    color: '#rrggbb'.
    opacity: paint opacity in (0, 1].
  """
  points: tuple[Point, ...]
  radius: float | tuple[float, ...]
  color: str
  opacity: float = 1.0


@dataclasses.dataclass(frozen=True)
class Blob:
  """A filled shape bounded by a closed smooth curve through `points`."""
  points: tuple[Point, ...]
  color: str
  opacity: float = 1.0


@dataclasses.dataclass(frozen=True)
class Paste:
  """A lasso cut of another emoji pasted at an offset.

  Attributes:
    source_id: id of the emoji (same split) the patch is cut from.
    points: closed lasso outline in the SOURCE image's pixels.
    offset: (dx, dy) whole pixels by which the patch is moved.
  """
  source_id: str
  points: tuple[Point, ...]
  offset: tuple[int, int] = (0, 0)


@dataclasses.dataclass(frozen=True)
class Example:
  """One edit: an emoji, the paint on it and how its mask is made.

  Attributes:
    name: file stem.
    emoji_id: the emoji's `id` in the split (code points, e.g. '1f642').
    description: what was painted (for the README).
    paint: strokes, blobs and pastes, applied in order.
    dilation: mask = painted pixels dilated by this many pixels (a disk).
    fill: also close the gaps between strokes and fill holes before dilating
      (recolourings: the whole painted area is the edit, not just the bristle
      marks).
  """
  name: str
  emoji_id: str
  description: str
  paint: tuple[Stroke | Blob | Paste, ...]
  dilation: int = 2
  fill: bool = False


# -----------------------------------------------------------------------------
# The examples. Every coordinate below was placed by hand on an 8x zoom of the
# emoji with a 4-pixel grid.

EXAMPLES = (
    Example(
        "sunglasses", "1f609",
        "dark sunglasses (two lens blobs, bridge, arms) over the winking eyes",
        (
            Blob(((17, 23), (23, 22.3), (29.6, 23), (30.2, 26.5), (28.6, 31),
                  (23.5, 33), (18.6, 31.6), (16.4, 27.2)), "#1d1d24"),
            Blob(((34.8, 23.2), (41.5, 22.4), (48.2, 23.1), (48.6, 26.8),
                  (46.6, 31.5), (41.4, 33.2), (36.4, 31.2), (34.4, 26.4)),
                 "#1d1d24"),
            Stroke(((29.2, 24.6), (32, 23.7), (35, 24.4)), (1.1, 0.9, 1.0),
                   "#1d1d24"),
            Stroke(((17.5, 24.8), (12.5, 23.8), (7.6, 23.2)), (1.0, 0.9, 0.7),
                   "#1d1d24"),
            Stroke(((47.6, 24.6), (52.5, 23.6), (56.6, 23.4)), (1.0, 0.9, 0.7),
                   "#1d1d24"),
        )),
    Example(
        "heart_eyes", "1f644",
        "two red hearts painted over the rolled-up white eyes",
        (
            Blob(((22, 20.6), (25.8, 16.8), (29.4, 17.4), (31.4, 21.2),
                  (30.4, 26.2), (27.4, 31.4), (22.4, 36.4), (16.6, 31.8),
                  (12.9, 26.8), (12.6, 21.4), (14.6, 17.4), (18.2, 16.8)),
                 "#e0262d"),
            Blob(((42.2, 20.4), (46, 16.6), (49.8, 17.2), (51.6, 21.4),
                  (50.6, 26.4), (47.6, 31.4), (42.2, 36.2), (36.6, 31.6),
                  (33, 26.6), (32.8, 21), (34.8, 17.2), (38.6, 16.8)),
                 "#e0262d"),
        )),
    Example(
        "blue_face", "1f642",
        "the yellow face painted blue with loose strokes around eyes and mouth",
        (
            Stroke(((12.8, 13.2), (22, 8.8), (31.5, 7.8), (41, 8.8),
                    (50.2, 13)), (2.7, 3.0, 3.1, 3.0, 2.6), "#3d8ee0"),
            Stroke(((7.6, 19), (15, 14.8), (31.5, 13), (48, 14.6),
                    (55.4, 19)), (2.6, 2.8, 2.9, 2.8, 2.5), "#3d8ee0"),
            Stroke(((8.8, 22), (7.8, 30), (9.4, 39), (14, 46.4)),
                   (2.8, 3.2, 3.1, 2.7), "#3d8ee0"),
            Stroke(((54.2, 22), (55.2, 30), (53.6, 39), (49, 46.4)),
                   (2.7, 3.2, 3.1, 2.8), "#3d8ee0"),
            Stroke(((13.4, 19.4), (12, 27), (12.4, 33), (14, 39.6),
                    (17.4, 45)), (2.3, 2.6, 2.6, 2.4, 2.2), "#3d8ee0"),
            Stroke(((49.6, 19.4), (51, 27), (50.6, 33), (49, 39.6),
                    (45.8, 45)), (2.3, 2.6, 2.6, 2.4, 2.2), "#3d8ee0"),
            Stroke(((31, 14.6), (31.2, 22), (31, 31)), (1.9, 1.8, 1.9),
                   "#3d8ee0"),
            # Careful rings around the eyes with a smaller brush.
            Stroke(((22, 18), (27.4, 20), (28.4, 25), (27.2, 30.2), (22, 32.2),
                    (16.8, 30.2), (15.6, 25), (16.8, 20), (21.8, 18.1)),
                   1.7, "#3d8ee0"),
            Stroke(((40, 18), (45.4, 20), (46.4, 25), (45.2, 30.2), (40, 32.2),
                    (34.8, 30.2), (33.6, 25), (34.8, 20), (39.8, 18.1)),
                   1.7, "#3d8ee0"),
            Stroke(((15, 34.4), (31, 35), (48, 34.4)), (1.6, 1.8, 1.6),
                   "#3d8ee0"),
            # Above and below the smile.
            Stroke(((17.8, 36.8), (23, 38), (31, 39.6), (38, 38.6),
                    (44.2, 36.6)), 1.6, "#3d8ee0"),
            Stroke(((18.2, 40.4), (24, 43.6), (31, 45.6), (38, 44.6),
                    (44, 41)), (1.7, 1.8, 1.9, 1.8, 1.7), "#3d8ee0"),
            Stroke(((14.6, 47.6), (22, 50), (31.5, 50.6), (41, 50),
                    (48.4, 47.4)), (2.6, 2.9, 2.9, 2.9, 2.5), "#3d8ee0"),
            Stroke(((20, 54.2), (31.5, 55), (43, 54)), (2.4, 2.6, 2.2),
                   "#3d8ee0"),
        ),
        fill=True),
    Example(
        "sun", "1f3d4-fe0f",
        "a yellow sun with short rays added in the empty sky, top left",
        (
            Blob(((11, 5.2), (15, 6.6), (16.6, 10.8), (15.2, 15), (11, 16.6),
                  (6.8, 15.2), (5.2, 11), (6.8, 6.8)), "#ffc319"),
            Stroke(((19, 11.2), (23.4, 11.6)), (0.9, 0.7), "#ffb300"),
            Stroke(((17, 17.2), (20.4, 20.8)), (0.9, 0.7), "#ffb300"),
            Stroke(((11.2, 19.2), (10.8, 22.2)), (0.9, 0.7), "#ffb300"),
            Stroke(((5.2, 17), (2.6, 19.6)), (0.9, 0.7), "#ffb300"),
            Stroke(((3, 11), (0.4, 10.8)), (0.9, 0.7), "#ffb300"),
            Stroke(((5.4, 5), (3, 2.6)), (0.9, 0.7), "#ffb300"),
            Stroke(((11, 2.9), (11.2, 0.4)), (0.9, 0.7), "#ffb300"),
            Stroke(((17.2, 5.2), (19.6, 2.6)), (0.9, 0.7), "#ffb300"),
        )),
    Example(
        "hat", "1f9d1-1f3fc-200d-1f9b1",
        "a brown hat (crown blob, brim stroke, dark band) on top of the curls",
        (
            Blob(((19.4, 13.4), (19.6, 5.4), (22.4, 1.8), (32, 0.8),
                  (41.8, 1.6), (44.6, 5.2), (45, 13.4), (32, 14)),
                 "#6d4020"),
            Stroke(((10, 15.6), (20, 13.6), (32, 13.3), (44, 13.5),
                    (54.2, 15.4)), (1.5, 2.0, 2.2, 2.0, 1.5), "#6d4020"),
            Stroke(((20.2, 10.6), (32, 10.9), (44.2, 10.5)), (1.2, 1.3, 1.1),
                   "#3a2414"),
        )),
    Example(
        "remove_symbols", "1f92c",
        "the black '#$!@' bar over the mouth painted out with face colours "
        "(yellow-orange middle, orange sides, red-orange bottom, white corner)",
        (
            # Zig-zag in the yellow-orange picked next to the bar's top.
            Stroke(((16.6, 38.4), (31, 38), (46.8, 39.2), (44.2, 42.2),
                    (29, 42.4), (14.6, 41.6), (15.8, 45.2), (31, 45.8),
                    (46.4, 46.6)), 3.0, "#f9be3c"),
            # Orange lower down (the face darkens towards its rim).
            Stroke(((45.6, 49.4), (32, 49.2), (17.6, 48.4), (19.4, 51.4),
                    (31, 52), (44.6, 52.4)), (2.6, 2.8, 2.6, 2.4, 2.6, 2.4),
                   "#fc9a28"),
            Stroke(((13.8, 36.8), (12.2, 42.6), (12.6, 48.4), (15.4, 52)),
                   (2.2, 2.7, 2.6, 2.1), "#fd861d"),
            Stroke(((47.2, 37), (49.2, 42.8), (48.8, 48.4), (47.4, 51.8)),
                   (2.2, 2.6, 2.3, 1.8),
                   "#fc931f"),
            Stroke(((20.4, 54.2), (28, 55.4), (36.6, 55.6), (43.6, 54.4),
                    (47, 52)), (1.6, 1.9, 1.9, 1.6, 1.4), "#f0601a"),
            Stroke(((46.8, 56), (49.6, 54.6), (51, 52)), (1.6, 1.9, 1.5),
                   "#ffffff"),
        ),
        dilation=3),
    Example(
        "remove_heart", "1f491-1f3fe",
        "the pink heart above the couple scribbled out with white background",
        (
            Stroke(((20.2, 5.6), (32, 6.2), (44.2, 5.8), (45.4, 10),
                    (32, 10.4), (18.8, 10.2), (21, 14.6), (32, 14.4),
                    (43.4, 14), (40.6, 17.8), (31, 18), (22.4, 17.8)),
                   (3.2, 3.3, 3.2, 3.2, 3.3, 3.2, 3.2, 3.2, 3.1, 3.0, 3.0,
                    2.8), "#ffffff"),
            # The tip between the two heads, with a smaller brush.
            Stroke(((22.6, 19.6), (32, 20), (41, 19.8), (39.4, 22.4),
                    (25.4, 22.6), (27.6, 24.8), (36, 24.8), (34.4, 26.6),
                    (29.6, 26.8), (32, 28.2)),
                   (1.9, 2.0, 1.9, 1.8, 1.8, 1.6, 1.6, 1.4, 1.3, 1.2),
                   "#ffffff"),
        ),
        dilation=3),
    Example(
        "open_mouth", "1f31d",
        "the small smile of the moon face painted as a big open laughing "
        "mouth (dark strokes, red tongue)",
        (
            Stroke(((22, 37.2), (32, 38.2), (42.4, 37)), (1.6, 1.8, 1.5),
                   "#45261a"),
            Stroke(((22, 37.4), (25.2, 43.2), (32, 47.4), (39, 43.2),
                    (42.4, 37.2)), (1.6, 1.9, 2.0, 1.9, 1.5), "#45261a"),
            Stroke(((26.2, 40.2), (32, 43), (38, 40.2)), (2.4, 2.6, 2.3),
                   "#45261a"),
            Blob(((28.4, 45.2), (32, 43.4), (35.8, 45), (32.2, 46.8)),
                 "#d8463f"),
        )),
    Example(
        "moustache", "1f474-1f3fb",
        "a grey moustache under the old man's nose",
        (
            Stroke(((32.2, 46.4), (28, 46.7), (24.4, 48), (21.4, 50.2)),
                   (1.9, 1.8, 1.4, 0.8), "#8c8c96"),
            Stroke(((31.8, 46.4), (36, 46.6), (39.6, 47.9), (42.6, 50)),
                   (1.9, 1.8, 1.4, 0.8), "#8c8c96"),
        )),
    Example(
        "rosy_cheeks", "1f475",
        "pink blush scribbled on both cheeks of the old woman",
        (
            Stroke(((17, 44.2), (18.8, 42.2), (21.6, 42.8), (21.4, 45.4),
                    (18.6, 46), (17.4, 44.6)), (1.7, 1.9, 1.9, 1.8, 1.7, 1.6),
                   "#f27886"),
            Stroke(((43.2, 44.4), (45.4, 42.4), (48.2, 43.2), (47.8, 45.8),
                    (45, 46.2), (43.8, 44.8)), (1.7, 1.9, 1.9, 1.8, 1.7, 1.6),
                   "#f27886"),
        )),
    Example(
        "red_nose", "1f468-1f3fb-200d-1f4bc",
        "a round red clown nose (with a white highlight dab)",
        (
            Blob(((32, 30.8), (34.6, 31.6), (35.2, 34.2), (33.8, 36.4),
                  (31.6, 36.8), (29.4, 35.6), (28.8, 33.2), (29.8, 31.4)),
                 "#e33532"),
            Stroke(((30.8, 32.6), (31.4, 32.2)), 0.6, "#ffffff"),
        ),
        dilation=3),
    Example(
        "purple_carrot", "1f955",
        "the orange carrot painted purple with long strokes along its body",
        (
            Stroke(((4.4, 55.8), (14, 47.4), (24, 39.4), (35.4, 30.4)),
                   (1.8, 3.3, 4.1, 4.0), "#7a3d9e"),
            Stroke(((11.8, 43.4), (19.6, 36), (28.2, 29.8), (34.8, 26)),
                   (1.2, 2.0, 2.2, 1.9), "#7a3d9e"),
            Stroke(((11.8, 53), (21.2, 47.6), (31, 41.2), (40, 35),
                    (41.4, 30.6)), (1.5, 2.2, 2.3, 2.1, 1.7), "#7a3d9e"),
            # A dab over the orange streak left between two passes.
            Stroke(((33.8, 35.8), (36.6, 33.4), (39.4, 30.6)), (1.6, 1.8, 1.5),
                   "#7a3d9e"),
        ),
        fill=True),
    Example(
        "red_panda", "1f99d",
        "the raccoon's grey ears and forehead painted rusty red (a red panda)",
        (
            Stroke(((12.4, 21), (12.6, 13.6), (18, 14), (23.2, 18)),
                   (1.5, 1.7, 1.6, 1.5), "#c0562a"),
            Stroke(((51.8, 21), (51.4, 13.6), (46.2, 14), (41, 18)),
                   (1.5, 1.7, 1.6, 1.5), "#c0562a"),
            Stroke(((15.4, 21.6), (24, 18.4), (32, 17.8), (40, 18.4),
                    (48.8, 21.6), (47.4, 25.8), (40, 24), (32, 23.4),
                    (24, 24), (16.6, 26)), (2.4, 2.7, 2.8, 2.7, 2.3, 2.2,
                                            2.5, 2.6, 2.5, 2.1), "#c0562a"),
            Stroke(((32.2, 25.4), (32, 29.6)), (2.0, 1.6), "#c0562a"),
        )),
    Example(
        "paste_eyes", "1f911",
        "the plain eyes of 1f642 (slightly smiling face) pasted over the "
        "dollar-sign eyes (two lasso cuts)",
        (
            Paste("1f642", ((17.2, 20.2), (23, 17.6), (29.4, 19.8),
                            (30.4, 27), (28.6, 33.4), (23, 35.2), (17.6, 33),
                            (16.6, 26.6)), (0, 0)),
            Paste("1f642", ((35.8, 20.2), (42, 17.6), (48.2, 19.8),
                            (49, 27), (47.4, 33.4), (42, 35.2), (36.4, 33),
                            (35, 26.6)), (0, 0)),
        )),
)


# -----------------------------------------------------------------------------
# Rasterising hand-placed paint.


def _hex(color: str) -> np.ndarray:
  c = color.lstrip("#")
  return np.array([int(c[i:i + 2], 16) for i in (0, 2, 4)], np.float64)


def _phases(key: str, n: int) -> list[float]:
  """n fixed phases in [0, 2 pi) derived from `key` (no RNG state)."""
  return [2 * math.pi * (zlib.crc32(f"{key}/{i}".encode()) % 10007) / 10007
          for i in range(n)]


def _catmull_rom(points: np.ndarray, closed: bool,
                 step: float = 0.05) -> tuple[np.ndarray, np.ndarray]:
  """Dense points of a Catmull-Rom curve and their control-point parameter."""
  p = np.asarray(points, np.float64)
  if closed:
    ext = np.concatenate([p[-1:], p, p[:2]])
    nseg = len(p)
  else:
    ext = np.concatenate([2 * p[:1] - p[1:2], p, 2 * p[-1:] - p[-2:-1]])
    nseg = len(p) - 1
  out, params = [], []
  for i in range(nseg):
    p0, p1, p2, p3 = ext[i], ext[i + 1], ext[i + 2], ext[i + 3]
    n = max(2, int(np.ceil(np.linalg.norm(p2 - p1) / step)))
    t = np.linspace(0, 1, n, endpoint=False)[:, None]
    t2, t3 = t * t, t * t * t
    out.append(0.5 * (2 * p1 + (p2 - p0) * t + (2 * p0 - 5 * p1 + 4 * p2 - p3)
                      * t2 + (3 * p1 - p0 - 3 * p2 + p3) * t3))
    params.append(i + t[:, 0])
  if not closed:
    out.append(p[-1:])
    params.append(np.array([len(p) - 1.0]))
  return np.concatenate(out), np.concatenate(params)


def _wobble(curve: np.ndarray, key: str, amp: float) -> tuple[np.ndarray,
                                                             np.ndarray]:
  """Curve offset sideways by a smooth hand tremor; also returns arc length."""
  d = np.gradient(curve, axis=0)
  d /= np.maximum(np.linalg.norm(d, axis=1, keepdims=True), 1e-9)
  normal = np.stack([-d[:, 1], d[:, 0]], 1)
  seg = np.linalg.norm(np.diff(curve, axis=0), axis=1)
  s = np.concatenate([[0.0], np.cumsum(seg)])
  ph = _phases(key, 2)
  off = amp * (0.65 * np.sin(2 * math.pi * s / 9.0 + ph[0]) +
               0.35 * np.sin(2 * math.pi * s / 3.7 + ph[1]))
  return curve + normal * off[:, None], s


def _stroke_coverage(stroke: Stroke, key: str) -> np.ndarray:
  """Supersampled coverage [64*SS, 64*SS] of a round brush along the stroke."""
  pts = np.asarray(stroke.points, np.float64)
  curve, param = _catmull_rom(pts, closed=False)
  curve, s = _wobble(curve, key, amp=0.22)
  radii = np.broadcast_to(np.asarray(stroke.radius, np.float64), (len(pts),))
  r = np.interp(param, np.arange(len(pts)), radii)
  ph = _phases(key + "/w", 1)
  r = r * (1 + 0.07 * np.sin(2 * math.pi * s / 6.3 + ph[0]))
  # Pressure: the brush lands and lifts a little thinner.
  length = max(s[-1], 1e-6)
  r = r * (0.8 + 0.2 * np.clip(s / 1.5, 0, 1)) * (
      0.85 + 0.15 * np.clip((length - s) / 1.5, 0, 1))
  n = SIZE * _SS
  cov = np.zeros((n, n), bool)
  # Stamps every ~1/8 px.
  keep = np.concatenate([[0], np.nonzero(np.diff(np.floor(s * 8)))[0] + 1,
                         [len(s) - 1]])
  for (x, y), rad in zip(curve[keep], r[keep]):
    cx, cy, rr = x * _SS, y * _SS, rad * _SS
    x0, x1 = max(int(cx - rr) - 1, 0), min(int(cx + rr) + 2, n)
    y0, y1 = max(int(cy - rr) - 1, 0), min(int(cy + rr) + 2, n)
    if x0 >= x1 or y0 >= y1:
      continue
    yy, xx = np.mgrid[y0:y1, x0:x1]
    cov[y0:y1, x0:x1] |= ((xx + 0.5 - cx) ** 2 + (yy + 0.5 - cy) ** 2
                          <= rr * rr)
  return cov


def _polygon_coverage(points: Sequence[Point], key: str,
                      wobble: float) -> np.ndarray:
  """Supersampled coverage of the closed smooth curve through `points`."""
  curve, _ = _catmull_rom(np.asarray(points, np.float64), closed=True)
  if wobble:
    curve, _ = _wobble(curve, key, amp=wobble)
  n = SIZE * _SS
  im = Image.new("L", (n, n), 0)
  ImageDraw.Draw(im).polygon([(x * _SS, y * _SS) for x, y in curve], fill=255)
  return np.asarray(im) > 0


def _downsample(cov: np.ndarray) -> np.ndarray:
  """Supersampled bool coverage -> per-pixel alpha in [0, 1]."""
  return cov.reshape(SIZE, _SS, SIZE, _SS).mean(axis=(1, 3))


def _disk(radius: int) -> np.ndarray:
  yy, xx = np.mgrid[-radius:radius + 1, -radius:radius + 1]
  return xx * xx + yy * yy <= radius * radius + radius  # Rounder than <= r^2.


def render(example: Example, image: np.ndarray,
           sources: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
  """(guide uint8 [64, 64, 3], mask uint8 [64, 64]) of one example."""
  guide = image.astype(np.float64)
  painted = np.zeros((SIZE, SIZE), bool)
  for k, op in enumerate(example.paint):
    key = f"{example.name}/{k}"
    if isinstance(op, Paste):
      alpha = _downsample(_polygon_coverage(op.points, key, wobble=0.0))
      dx, dy = op.offset
      alpha = np.roll(alpha, (dy, dx), axis=(0, 1))
      src = np.roll(sources[op.source_id].astype(np.float64), (dy, dx),
                    axis=(0, 1))
      guide = guide * (1 - alpha[..., None]) + src * alpha[..., None]
    else:
      if isinstance(op, Stroke):
        cov = _stroke_coverage(op, key)
      else:
        cov = _polygon_coverage(op.points, key, wobble=0.15)
      alpha = _downsample(cov) * op.opacity
      guide = guide * (1 - alpha[..., None]) + _hex(op.color) * alpha[..., None]
    painted |= alpha > 0
  guide = np.clip(np.round(guide), 0, 255).astype(np.uint8)
  painted |= np.any(guide != image, axis=-1)
  region = painted
  if example.fill:
    region = ndimage.binary_closing(region, _disk(4), border_value=0)
    region = ndimage.binary_fill_holes(region) | painted
  mask = ndimage.binary_dilation(region, _disk(example.dilation))
  return guide, mask.astype(np.uint8) * 255


def _load(dataset: str, split: str) -> dict[str, tuple[np.ndarray, int]]:
  """id -> (image uint8 [64, 64, 3], label) of every record of the split."""
  src = pipeline.open_split(dataset, split)
  out = {}
  for i in range(len(src)):
    rec = src[i]
    eid = rec["id"]
    eid = eid.decode() if isinstance(eid, bytes) else str(eid)
    out[eid] = (np.asarray(rec["image"], np.uint8), int(rec["label"]))
  return out


def main(argv: Sequence[str]) -> None:
  if len(argv) > 1:
    raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
  records = _load(_DATASET.value, _SPLIT.value)
  wanted = {e.emoji_id for e in EXAMPLES} | {
      op.source_id for e in EXAMPLES for op in e.paint
      if isinstance(op, Paste)}
  missing = sorted(wanted - records.keys())
  if missing:
    raise SystemExit(f"error: emoji id(s) {missing} not in the "
                     f"{_SPLIT.value!r} split of {_DATASET.value}.")
  names = [e.name for e in EXAMPLES]
  if len(set(names)) != len(names):
    raise SystemExit("error: duplicate example names.")
  sources = {k: records[k][0] for k in wanted}
  out = pathlib.Path(_OUT.value)
  out.mkdir(parents=True, exist_ok=True)
  lines = []
  for e in EXAMPLES:
    image, label = records[e.emoji_id]
    if image.shape != (SIZE, SIZE, 3):
      raise SystemExit(f"error: {e.emoji_id} is {image.shape}, expected "
                       f"({SIZE}, {SIZE}, 3).")
    guide, mask = render(e, image, sources)
    changed = np.any(guide != image, axis=-1)
    if np.any(changed & (mask == 0)):  # The editor would ignore such paint.
      raise SystemExit(f"error: {e.name}: paint outside its mask.")
    Image.fromarray(image, "RGB").save(out / f"{e.name}.png", optimize=True)
    Image.fromarray(guide, "RGB").save(out / f"{e.name}.guide.png",
                                       optimize=True)
    Image.fromarray(mask, "L").save(out / f"{e.name}.mask.png", optimize=True)
    lines.append(json.dumps({
        "name": e.name, "image": f"{e.name}.png",
        "guide": f"{e.name}.guide.png", "mask": f"{e.name}.mask.png",
        "label": int(label), "emoji_id": e.emoji_id}))
    print(f"{e.name:16s} {e.emoji_id:24s} label {label}  "
          f"painted {changed.mean():5.1%}  mask {(mask > 0).mean():5.1%}")
  (out / "edits.jsonl").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
  app.run(main)
