"""The browser editor (Gradio): paint on an image, get edited samples, keep one.

`python app.py` builds an `App` and serves `App.build()`. The handlers are
plain methods on numpy/file inputs so tests call them without a browser; user
errors (not an image, wrong size without resize, nothing painted, nothing to
undo) raise `gr.Error` with a message that the page shows, never a traceback.

Per browser tab, a `gr.State` holds one `session.Session`: the image and its
cached tokens. The canvas shows the image enlarged `scale` times (nearest
neighbour, so a 64 px emoji is painted at 256 px); an edit reads the canvas
back at the model's size (block mean) and treats every pixel that a paint
layer covers, or whose colour changed (a paste), as edited.
"""

from __future__ import annotations

import dataclasses
import json
import os
import tempfile
import time
import uuid
from typing import Any, Sequence

import gradio as gr
import numpy as np
from PIL import Image

from maskgit import image_io
from maskgit_edit import editor as editor_lib
from maskgit_edit import guidance
from maskgit_edit import methods
from maskgit_edit import session as session_lib

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXAMPLES_MANIFEST = os.path.join(REPO, "examples", "edits.jsonl")
DISPLAY_SIDE = 256  # Canvas side is at least this many pixels.
MAX_SAMPLES = 8


@dataclasses.dataclass(frozen=True)
class Example:
  name: str
  image: str  # Path.
  label: int


def load_examples(manifest: str = EXAMPLES_MANIFEST) -> list[Example]:
  """The bundled example images (examples/edits.jsonl), [] if absent."""
  if not os.path.isfile(manifest):
    return []
  out = []
  root = os.path.dirname(manifest)
  with open(manifest) as f:
    for line in f:
      if line.strip():
        d = json.loads(line)
        out.append(Example(d["name"], os.path.join(root, d["image"]),
                           int(d.get("label", 0))))
  return out


def _block_mean(x: np.ndarray, k: int) -> np.ndarray:
  h, w = x.shape[0] // k, x.shape[1] // k
  return x.reshape(h, k, w, k, *x.shape[2:]).mean(axis=(1, 3))


class App:
  """The editor's model, settings and handlers (see module docstring)."""

  def __init__(self, editor: editor_lib.Editor, config,
               examples: Sequence[Example] | None = None,
               class_names: Sequence[str] | None = None,
               output_dir: str | None = None):
    """Args:
      editor: the Editor (its model decides the image size).
      config: a configs/edit.py config (defaults for method, strength,
        num_samples, seed and the EditOptions fields).
      examples: bundled images offered in the page (default: examples/).
      class_names: a name per class label, or None for numbers.
      output_dir: where downloadable PNGs go (default: a temp dir).
    """
    self.editor = editor
    self.model = editor.model
    self.config = config
    self.size = self.model.image_size
    self.scale = max(1, -(-DISPLAY_SIDE // self.size))
    self.examples = list(load_examples() if examples is None else examples)
    n = self.model.transformer_config.num_classes
    names = list(class_names) if class_names else []
    self.class_choices = [(f"{i}: {names[i]}" if i < len(names) else str(i),
                           i) for i in range(n)]
    self.output_dir = output_dir or tempfile.mkdtemp(prefix="maskgit_app_")

  # ------------------------------------------------------------- helpers
  def _up(self, image: np.ndarray) -> np.ndarray:
    """float [S, S, 3] -> uint8 [S*k, S*k, 3] (nearest neighbour)."""
    u8 = image_io.to_uint8(image)
    return np.repeat(np.repeat(u8, self.scale, 0), self.scale, 1)

  def _canvas(self, image: np.ndarray) -> dict:
    up = self._up(image)
    return {"background": up, "layers": [], "composite": up}

  def _new_session(self, image: np.ndarray, label: int):
    return session_lib.Session(self.editor, image, label=label)

  def _download(self, image: np.ndarray) -> str:
    path = os.path.join(self.output_dir, f"edited_{uuid.uuid4().hex[:8]}.png")
    image_io.save_png(path, image)
    return path

  def _fresh(self, session, status: str):
    """Outputs after the session image changed: canvas, samples, overlay,
    download, status."""
    img = session.image
    return (session, self._canvas(img), [], None, self._download(img),
            status)

  def options(self, method: str) -> editor_lib.EditOptions:
    try:
      return editor_lib.options_from_config(self.config, method)
    except ValueError as e:
      raise gr.Error(str(e)) from e

  # ------------------------------------------------------------ handlers
  def load_example(self, name: str, session=None):
    """Starts a session on a bundled example."""
    by_name = {e.name: e for e in self.examples}
    if name not in by_name:
      raise gr.Error(f"Unknown example {name!r}.")
    ex = by_name[name]
    image = image_io.load_image(ex.image, self.size, resize=True)
    return self._fresh(self._new_session(image, ex.label),
                       f"Loaded example {name} (class {ex.label}).")

  def load_upload(self, path: str | None, resize: bool, label: int,
                  session=None):
    """Starts a session on an uploaded file (clear errors for bad files)."""
    if not path:
      raise gr.Error("Choose an image file to upload.")
    try:
      image = image_io.load_image(path, self.size, resize=bool(resize))
    except image_io.ImageError as e:
      msg = str(e).replace(os.path.dirname(str(path)) + os.sep, "")
      if "expected" in msg:
        msg += " Tick 'Resize uploads' to resize it."
      raise gr.Error(msg) from e
    return self._fresh(self._new_session(image, int(label)),
                       f"Uploaded {os.path.basename(str(path))}.")

  def generate(self, label: int, seed: int, session=None):
    """Starts a session on a class-conditional sample."""
    try:
      image = self.model.generate([int(label)], seed=int(seed))[0]
    except ValueError as e:
      raise gr.Error(str(e)) from e
    return self._fresh(self._new_session(image, int(label)),
                       f"Generated class {int(label)}, seed {int(seed)}.")

  def read_canvas(self, value: Any, session, resize: bool = False):
    """Editor value -> (guide float [S, S, 3], mask bool [S, S])."""
    if session is None:
      raise gr.Error("Load, upload or generate an image first.")
    if not isinstance(value, dict) or value.get("composite") is None:
      raise gr.Error("Paint on the image first.")
    comp = np.asarray(value["composite"])
    if comp.ndim == 2:
      comp = np.repeat(comp[..., None], 3, -1)
    d = self.size * self.scale
    layers = [np.asarray(x) for x in value.get("layers") or []
              if x is not None]
    if comp.shape[:2] == (d, d):
      rgb = comp[..., :3].astype(np.float32)
      if comp.shape[-1] == 4:  # Flatten on white.
        a = comp[..., 3:].astype(np.float32) / 255.0
        rgb = rgb * a + 255.0 * (1 - a)
      guide = _block_mean(rgb, self.scale) / 255.0
      painted = np.zeros((self.size, self.size), bool)
      for layer in layers:
        if layer.ndim == 3 and layer.shape[:2] == (d, d) and (
            layer.shape[-1] == 4):
          painted |= _block_mean(layer[..., 3] > 0, self.scale) > 0
    elif resize:
      pil = Image.fromarray(comp[..., :3].astype(np.uint8)).resize(
          (self.size, self.size), Image.BICUBIC)
      guide = np.asarray(pil, np.float32) / 255.0
      painted = np.zeros((self.size, self.size), bool)
    else:
      raise gr.Error(
          f"The canvas is {comp.shape[1]}x{comp.shape[0]} px but this model "
          f"edits {self.size}x{self.size} images shown at {d}x{d}: load "
          "new images with Upload (or tick 'Resize uploads').")
    changed = np.any(image_io.to_uint8(guide) != image_io.to_uint8(
        session.image), -1)
    mask = painted | changed
    if not mask.any():
      raise gr.Error("Nothing painted: paint a stroke (or paste) on the "
                     "image, then press Edit.")
    guide = np.where(mask[..., None], guide, session.image)
    return guide.astype(np.float32), mask

  def edit(self, value, method: str, strength: float, num_samples: int,
           seed: int, resize: bool, session):
    """Runs one edit: (session, gallery, overlay, status)."""
    guide, mask = self.read_canvas(value, session, resize)
    opts = self.options(method)
    n = int(num_samples)
    if not 1 <= n <= MAX_SAMPLES:
      raise gr.Error(f"Number of samples must be in [1, {MAX_SAMPLES}].")
    t0 = time.perf_counter()
    try:
      out = session.edit(guide, mask, strength=float(strength),
                         seed=int(seed), num_samples=n, options=opts)
    except ValueError as e:  # GuidanceError included.
      raise gr.Error(str(e)) from e
    dt = time.perf_counter() - t0
    gallery = [(self._up(s), f"sample {i}")
               for i, s in enumerate(out.samples)]
    pct = 100.0 * mask.mean()
    status = (f"{method}, strength {float(strength):.2f}, seed {int(seed)}: "
              f"{n} sample(s) in {dt:.2f} s ({pct:.0f}% of pixels painted, "
              f"{int(out.result.regions.sum())} pixels regenerated). Click a "
              "sample to keep it.")
    return session, gallery, self._up(out.overlay), status

  def keep(self, index: int, session):
    """Accepts sample `index`: it becomes the image to paint on."""
    if session is None:
      raise gr.Error("Load, upload or generate an image first.")
    try:
      session.accept(int(index))
    except session_lib.SessionError as e:
      raise gr.Error(str(e)) from e
    return self._fresh(session, f"Kept sample {int(index)}; paint again.")

  def undo(self, session):
    if session is None or not session.can_undo:
      raise gr.Error("Nothing to undo.")
    session.undo()
    return self._fresh(session, "Undone.")

  def redo(self, session):
    if session is None or not session.can_redo:
      raise gr.Error("Nothing to redo.")
    session.redo()
    return self._fresh(session, "Redone.")

  def warmup(self, method: str | None = None,
             num_samples: int | None = None) -> float:
    """Compiles encode, the default edit and generation; returns seconds."""
    t0 = time.perf_counter()
    image = np.full((self.size, self.size, 3), 0.5, np.float32)
    s = self._new_session(image, 0)
    guide = image.copy()
    q = max(1, self.size // 4)
    guide[q:2 * q, q:2 * q] = (1.0, 0.0, 0.0)
    s.edit(guide, strength=float(self.config.strength),
           num_samples=int(num_samples or self.config.num_samples),
           options=self.options(method or self.config.method))
    self.model.generate([0], seed=0)
    return time.perf_counter() - t0

  # ------------------------------------------------------------------ UI
  def build(self) -> gr.Blocks:
    """The page (call `.queue().launch()` on it)."""
    cfg = self.config
    d = self.size * self.scale
    with gr.Blocks(title="MaskGIT-Edit") as demo:
      gr.Markdown(
          "## MaskGIT-Edit\nPaint on the image (brush, colours, eraser, "
          "layers), press **Edit**, click a sample to keep it, paint "
          f"again. The model edits {self.size}x{self.size} images; pixels "
          f"farther than {cfg.feather} px from the paint never change.")
      session = gr.State(None)
      with gr.Row():
        with gr.Column(scale=1, min_width=330):
          with gr.Tab("Example"):
            example = gr.Dropdown(
                [e.name for e in self.examples], label="Bundled example",
                value=self.examples[0].name if self.examples else None)
            load_btn = gr.Button("Load example")
          with gr.Tab("Upload"):
            upload = gr.File(label="Image file", type="filepath")
            resize = gr.Checkbox(False, label="Resize uploads")
          with gr.Tab("Generate"):
            gen_label = gr.Dropdown(self.class_choices, value=0,
                                    label="Class")
            gen_seed = gr.Number(0, precision=0, label="Seed")
            gen_btn = gr.Button("Generate")
          method = gr.Dropdown([n for n in methods.names()
                                    if methods.get(n).is_token_method], value=cfg.method,
                               label="Method")
          strength = gr.Slider(0.0, 1.0, value=float(cfg.strength),
                               step=0.05, label="Strength")
          num_samples = gr.Slider(1, MAX_SAMPLES, step=1,
                                  value=int(cfg.num_samples),
                                  label="Number of samples")
          seed = gr.Number(int(cfg.seed), precision=0, label="Seed")
          edit_btn = gr.Button("Edit", variant="primary", elem_id="edit-btn")
          with gr.Row():
            undo_btn = gr.Button("Undo", elem_id="undo-btn")
            redo_btn = gr.Button("Redo", elem_id="redo-btn")
          download = gr.DownloadButton("Download PNG", elem_id="download")
        with gr.Column(scale=2):
          canvas = gr.ImageEditor(
              label="Paint here", type="numpy", image_mode="RGBA",
              format="png", canvas_size=(d, d), height=d + 160,
              sources=("upload", "clipboard"), transforms=(),
              brush=gr.Brush(default_size=max(2, d // 16),
                             colors=["#e8262b", "#2b6fe8", "#f5d90a",
                                     "#1faa3c", "#000000", "#ffffff"],
                             color_mode="defaults"),
              eraser=gr.Eraser(default_size=max(2, d // 16)),
              layers=True, elem_id="canvas")
          status = gr.Markdown(elem_id="status")
        with gr.Column(scale=2):
          gallery = gr.Gallery(label="Samples (click one to keep it)",
                               columns=2, height=d + 160,
                               elem_id="samples", format="png")
          overlay = gr.Image(label="Edited tokens E", type="numpy",
                             interactive=False, height=d // 2 + 40,
                             elem_id="overlay", format="png")

      fresh = [session, canvas, gallery, overlay, download, status]
      load_btn.click(lambda n, s: self.load_example(n, s),
                     [example, session], fresh)
      upload.upload(lambda p, r, lab, s: self.load_upload(p, r, lab, s),
                    [upload, resize, gen_label, session], fresh)
      gen_btn.click(lambda lab, sd, s: self.generate(lab, sd, s),
                    [gen_label, gen_seed, session], fresh)
      edit_btn.click(
          lambda v, m, st, n, sd, r, s: self.edit(v, m, st, n, sd, r, s),
          [canvas, method, strength, num_samples, seed, resize, session],
          [session, gallery, overlay, status])

      def on_select(s, evt: gr.SelectData):
        return self.keep(evt.index, s)
      gallery.select(on_select, [session], fresh)
      undo_btn.click(lambda s: self.undo(s), [session], fresh)
      redo_btn.click(lambda s: self.redo(s), [session], fresh)
      if self.examples:
        demo.load(lambda s: self.load_example(self.examples[0].name, s),
                  [session], fresh)
    return demo
