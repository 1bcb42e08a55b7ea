"""An editing session: one image, edited again and again, with history.

    from maskgit_edit import editor as editor_lib, session as session_lib
    s = session_lib.Session(editor_lib.Editor(model), image, label=0)
    out = s.edit(guide, strength=0.3, num_samples=4, seed=0)
    out.samples                   # float32 [S, H, W, 3] composited samples
    out.overlay                   # float32 [H, W, 3]: the edit region tinted
    s.accept(2)                   # keep sample 2: the image is updated
    s.undo(); s.redo()

The session holds the image (float32 [H, W, 3] in [0, 1]) and its label.
Any editor of the protocol (`maskgit_edit.protocol.BaseEditor`) edits it;
`edit(..., editor=other)` uses another method's editor for one edit. Token
editors keep the image's tokens in their own cache: the image is encoded once
when it is set (`prepare_images`), each edit then encodes only the guide's
window, and a kept sample's tokens are the ones it was decoded from
(`keep_sample`: no re-encode).

Images of any size: an image that is not the editor's size is edited in
model-size windows around the paint (`maskgit_edit.anysize`), and
`outpaint(sides)` extends the canvas (accepting a sample makes the larger
image the session's). Token caching applies to model-size images only.

History: every accept (and `set_image`) pushes the previous (image, label)
state; `undo`/`redo` move through it; a new accept after an undo drops the
redo branch. At most `max_history` states are kept.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from maskgit_edit import anysize
from maskgit_edit import guidance
from maskgit_edit import protocol

# Tint of the edit-region overlay (RGB in [0, 1]) and its opacity.
OVERLAY_COLOR = np.array([1.0, 0.1, 0.6], np.float32)
OVERLAY_ALPHA = 0.45


class SessionError(ValueError):
  """A session operation cannot be done (nothing to accept/undo, bad index)."""


@dataclasses.dataclass(frozen=True)
class _State:
  image: np.ndarray  # float32 [H, W, 3].
  label: int


@dataclasses.dataclass
class SessionEdit:
  """One edit's outputs (S samples).

  Attributes:
    samples: float32 [S, H, W, 3] composited samples in [0, 1].
    overlay: float32 [H, W, 3]: the session image with the region the method
      regenerated (`EditResult.regions`: the edited tokens E for token
      methods) tinted `OVERLAY_COLOR` and the edited pixels' outline
      darkened.
    result: the underlying `protocol.EditResult` (N = 1).
    editor: the editor that made it.
    whole: the editor edited the whole image in one call (its tokens can be
      cached on accept); False for windowed edits and outpainting.
    layout: windows / outpainting done (`anysize`), {} for whole edits.
  """
  samples: np.ndarray
  overlay: np.ndarray
  result: protocol.EditResult
  editor: protocol.BaseEditor
  whole: bool = True
  layout: dict = dataclasses.field(default_factory=dict)


def edit_overlay(image: np.ndarray, region_HW: np.ndarray,
                 pixel_mask: np.ndarray) -> np.ndarray:
  """float32 [H, W, 3]: `image` with `region_HW` tinted and the mask outlined.

  Args:
    image: float [H, W, 3] in [0, 1].
    region_HW: bool [H, W], the pixels the method regenerated.
    pixel_mask: bool [H, W], the edited pixels.
  """
  out = np.asarray(image, np.float32).copy()
  e = np.asarray(region_HW, bool)
  out[e] = (1 - OVERLAY_ALPHA) * out[e] + OVERLAY_ALPHA * OVERLAY_COLOR
  m = np.asarray(pixel_mask, bool)
  inner = m.copy()
  inner[1:] &= m[:-1]
  inner[:-1] &= m[1:]
  inner[:, 1:] &= m[:, :-1]
  inner[:, :-1] &= m[:, 1:]
  out[m & ~inner] *= 0.2
  return out


class Session:
  """One image being edited (see module docstring)."""

  def __init__(self, editor: protocol.BaseEditor, image, label: int = 0,
               max_history: int = 50):
    """`image`: float [H, W, 3] in [0, 1], any size (see module doc)."""
    self.editor = editor
    self.max_history = int(max_history)
    self._undo: list[_State] = []
    self._redo: list[_State] = []
    self._state = self._make_state(image, label)
    self._last: SessionEdit | None = None

  # --------------------------------------------------------------- state
  def _make_state(self, image, label) -> _State:
    ed = self.editor
    arr = np.asarray(image)
    if arr.ndim == 4 and len(arr) != 1:
      raise ValueError(f"A session holds one image, got {len(arr)}.")
    image = np.clip(anysize.check_image(arr[0] if arr.ndim == 4 else arr,
                                        "The session image"), 0.0, 1.0)
    label = int(protocol.check_labels(label, ed.num_classes)[0])
    if self._model_size(image):
      ed.prepare_images(image[None])
    return _State(image=image, label=label)

  def _model_size(self, image, editor=None) -> bool:
    s = (editor or self.editor).image_size
    return image.shape == (s, s, 3)

  @property
  def image(self) -> np.ndarray:
    """float32 [H, W, 3] in [0, 1] (read-only copy)."""
    return self._state.image.copy()

  @property
  def label(self) -> int:
    return self._state.label

  @property
  def last_edit(self) -> SessionEdit | None:
    """The latest edit not yet accepted or discarded."""
    return self._last

  @property
  def can_undo(self) -> bool:
    return bool(self._undo)

  @property
  def can_redo(self) -> bool:
    return bool(self._redo)

  def _push(self, state: _State) -> None:
    self._undo.append(self._state)
    del self._undo[:-self.max_history]
    self._redo.clear()
    self._state = state
    self._last = None

  def set_image(self, image, label: int | None = None) -> None:
    """Replaces the image; undo returns to the old one."""
    self._push(self._make_state(
        image, self._state.label if label is None else label))

  def set_label(self, label: int) -> None:
    """Changes the class label used by later edits (no history entry)."""
    label = int(protocol.check_labels(label, self.editor.num_classes)[0])
    self._state = dataclasses.replace(self._state, label=label)

  # ---------------------------------------------------------------- edit
  def edit(self, guide, mask: Any = None, strength: float = 0.5,
           seed: int = 0, num_samples: int = 1, options: Any = None,
           editor: protocol.BaseEditor | None = None) -> SessionEdit:
    """Edits the session image following `guide` (float [H, W, 3]).

    Args:
      guide: float [H, W, 3] in [0, 1].
      mask: None (edited pixels = where the guide differs from the image)
        or bool/float [H, W].
      strength, seed, num_samples: as `BaseEditor.edit`.
      options: the method's options (None: the editor's defaults).
      editor: another method's editor for this edit (default: the
        session's).

    Raises:
      `guidance.GuidanceError`/ValueError like `BaseEditor.edit` (e.g.
      nothing painted). The session image is unchanged until `accept`.
    """
    ed = editor or self.editor
    st = self._state
    guide = np.asarray(guide, np.float32)
    if guide.shape != st.image.shape:
      raise guidance.GuidanceError(f"Guide {guide.shape} and image "
                                   f"{st.image.shape} differ in shape.")
    if not self._model_size(st.image, ed):  # Windows around the paint.
      out = anysize.edit(ed, options, st.image, guide, mask=mask,
                         label=st.label, strength=strength, seed=seed,
                         num_samples=num_samples)
      return self._windowed(ed, out, st.image)
    res = ed.edit(st.image[None], guide[None],
                  masks=None if mask is None else [mask], labels=st.label,
                  strength=strength, seed=seed, num_samples=num_samples,
                  options=options)
    overlay = edit_overlay(st.image, res.regions[0], res.pixel_masks[0])
    self._last = SessionEdit(samples=res.images[0], overlay=overlay,
                             result=res, editor=ed)
    return self._last

  def outpaint(self, sides, strength: float = 1.0, seed: int = 0,
               num_samples: int = 1, options: Any = None,
               editor: protocol.BaseEditor | None = None) -> SessionEdit:
    """Extends the image by `sides` ('left:32,right:32' or a dict) and
    fills the new area (`anysize.outpaint`); `accept` keeps the larger
    image. The original pixels are bit-identical in every sample.

    Raises:
      ValueError: bad sides (one sentence naming the problem).
    """
    ed = editor or self.editor
    st = self._state
    res = anysize.outpaint(ed, options, np.repeat(st.image[None],
                                                  int(num_samples), 0),
                           sides, label=st.label, strength=strength,
                           seed=seed)
    new = ~res.known
    out = anysize.Output(
        item=None, images=res.images, pixel_mask=new, weights=res.weights,
        region=res.region, tokens=None, seconds=res.seconds,
        compiled=res.compiled, batch=int(num_samples),
        layout=dict(outpaint=res.layout))
    return self._windowed(ed, out, res.canvas)

  def _windowed(self, ed, out, base: np.ndarray) -> SessionEdit:
    """The SessionEdit of an `anysize` output over `base` [H, W, 3]."""
    res = protocol.EditResult(
        images=out.images[None], pixel_masks=out.pixel_mask[None],
        feather_weights=out.weights[None], regions=out.region[None],
        timings=dict(total=out.seconds), compiled=out.compiled)
    self._last = SessionEdit(
        samples=out.images, overlay=edit_overlay(base, out.region,
                                                 out.pixel_mask),
        result=res, editor=ed, whole=False, layout=out.layout)
    return self._last

  def accept(self, index: int) -> np.ndarray:
    """Keeps sample `index` of the last edit; returns the new image."""
    if self._last is None:
      raise SessionError("No edit to accept: run an edit first.")
    last = self._last
    s = last.samples.shape[0]
    if not 0 <= int(index) < s:
      raise SessionError(f"Sample index {index} out of range [0, {s}).")
    index = int(index)
    if last.whole:
      last.editor.keep_sample(self._state.image, last.result, 0, index)
    image = np.asarray(last.samples[index], np.float32).copy()
    self._push(_State(image=image, label=self._state.label))
    return self.image

  def undo(self) -> np.ndarray:
    """Returns to the previous image (SessionError if there is none)."""
    return self._move(self._undo, self._redo, "undo")

  def redo(self) -> np.ndarray:
    """Re-applies the last undone step (SessionError if there is none)."""
    return self._move(self._redo, self._undo, "redo")

  def _move(self, source: list, target: list, what: str) -> np.ndarray:
    if not source:
      raise SessionError(f"Nothing to {what}.")
    target.append(self._state)
    self._state = source.pop()
    self._last = None
    return self.image
