"""An editing session: one image, encoded once, edited again and again.

    from maskgit_edit import editor as editor_lib, session as session_lib
    s = session_lib.Session(editor_lib.Editor(model), image, label=0)
    out = s.edit(guide, strength=0.3, num_samples=4, seed=0)
    out.samples                   # float32 [S, H, W, 3] composited samples
    out.overlay                   # float32 [H, W, 3]: E (edited tokens) tinted
    s.accept(2)                   # keep sample 2: image and tokens updated
    s.undo(); s.redo()

The session holds the image (float32 [H, W, 3] in [0, 1]) and its tokens
(int32 [side, side]), encoded once when the image is set. Each edit passes the
cached tokens to `Editor.edit(image_tokens=...)`, so only the guide's window is
encoded; in patch-local mode (`EditOptions.patch_local`) the transformer runs
on the window around E and only the window plus `decoder_margin` tokens is
decoded. Accepting a sample sets the image to that sample's composited pixels
and pastes the sample's edited window tokens into the cached grid (no
re-encode: tokens outside E are unchanged by construction, those inside E are
the ones the sample was decoded from).

History: every accept (and `set_image`) pushes the previous (image, tokens,
label) state; `undo`/`redo` move through it; a new accept after an undo drops
the redo branch. At most `max_history` states are kept.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from maskgit_edit import editor as editor_lib
from maskgit_edit import guidance

# Tint of the E overlay (RGB in [0, 1]) and its opacity.
OVERLAY_COLOR = np.array([1.0, 0.1, 0.6], np.float32)
OVERLAY_ALPHA = 0.45


class SessionError(ValueError):
  """A session operation cannot be done (nothing to accept/undo, bad index)."""


@dataclasses.dataclass(frozen=True)
class _State:
  image: np.ndarray  # float32 [H, W, 3].
  tokens: np.ndarray  # int32 [side, side].
  label: int


@dataclasses.dataclass
class SessionEdit:
  """One edit's outputs (S samples).

  Attributes:
    samples: float32 [S, H, W, 3] composited samples in [0, 1].
    overlay: float32 [H, W, 3]: the session image with the edited tokens E
      tinted (`OVERLAY_COLOR`) and the edited pixels' outline darkened.
    result: the underlying `editor.EditResult` (N = 1).
  """
  samples: np.ndarray
  overlay: np.ndarray
  result: editor_lib.EditResult


def edit_overlay(image: np.ndarray, edit_tokens: np.ndarray, offset,
                 factor: int, pixel_mask: np.ndarray) -> np.ndarray:
  """float32 [H, W, 3]: `image` with E tinted and the pixel mask outlined.

  Args:
    image: float [H, W, 3] in [0, 1].
    edit_tokens: bool [w, w], E inside the window.
    offset: (row, col) of the window in the token grid.
    factor: pixels per token.
    pixel_mask: bool [H, W], the edited pixels.
  """
  h = image.shape[0] // factor
  grid = np.zeros((h, h), bool)
  r, c = (int(v) for v in offset)
  w = edit_tokens.shape[0]
  grid[r:r + w, c:c + w] = edit_tokens
  e = np.kron(grid, np.ones((factor, factor), bool))
  out = np.asarray(image, np.float32).copy()
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
  """One image being edited with cached tokens (see module docstring)."""

  def __init__(self, editor: editor_lib.Editor, image, label: int = 0,
               max_history: int = 50):
    """Encodes `image` (float [H, W, 3] in [0, 1], the model's size)."""
    self.editor = editor
    self.max_history = int(max_history)
    self._undo: list[_State] = []
    self._redo: list[_State] = []
    self._state = self._make_state(image, label)
    self._last: SessionEdit | None = None

  # --------------------------------------------------------------- state
  def _make_state(self, image, label) -> _State:
    m = self.editor.model
    image = m._check_images(image)  # pylint: disable=protected-access
    if len(image) != 1:
      raise ValueError(f"A session holds one image, got {len(image)}.")
    label = int(m._check_labels(label)[0])  # pylint: disable=protected-access
    image = np.clip(image[0], 0.0, 1.0)
    tokens = self.editor.encode(image[None])[0]
    return _State(image=image, tokens=tokens, label=label)

  @property
  def image(self) -> np.ndarray:
    """float32 [H, W, 3] in [0, 1] (read-only copy)."""
    return self._state.image.copy()

  @property
  def tokens(self) -> np.ndarray:
    """int32 [side, side]: the cached tokens of `image`."""
    return self._state.tokens.copy()

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
    """Replaces the image (encoded once now); undo returns to the old one."""
    self._push(self._make_state(
        image, self._state.label if label is None else label))

  def set_label(self, label: int) -> None:
    """Changes the class label used by later edits (no history entry)."""
    m = self.editor.model
    label = int(m._check_labels(label)[0])  # pylint: disable=protected-access
    self._state = dataclasses.replace(self._state, label=label)

  # ---------------------------------------------------------------- edit
  def edit(self, guide, mask: Any = None, strength: float = 0.5,
           seed: int = 0, num_samples: int = 1,
           options: editor_lib.EditOptions = editor_lib.EditOptions()
           ) -> SessionEdit:
    """Edits the session image following `guide` (float [H, W, 3]).

    `mask`: None (edited pixels = where the guide differs from the image) or
    bool/float [H, W]. Raises `guidance.GuidanceError`/ValueError like
    `Editor.edit` (e.g. nothing painted). The session image is unchanged
    until `accept`.
    """
    st = self._state
    guide = np.asarray(guide, np.float32)
    if guide.shape != st.image.shape:
      raise guidance.GuidanceError(f"Guide {guide.shape} and image "
                                   f"{st.image.shape} differ in shape.")
    res = self.editor.edit(
        st.image[None], guide[None],
        masks=None if mask is None else [mask], labels=st.label,
        strength=strength, seed=seed, num_samples=num_samples,
        options=options, image_tokens=st.tokens[None])
    overlay = edit_overlay(st.image, res.edit_tokens[0],
                           res.window_offsets[0], self.editor.model.factor,
                           res.pixel_masks[0])
    self._last = SessionEdit(samples=res.images[0], overlay=overlay,
                             result=res)
    return self._last

  def accept(self, index: int) -> np.ndarray:
    """Keeps sample `index` of the last edit; returns the new image."""
    if self._last is None:
      raise SessionError("No edit to accept: run an edit first.")
    res = self._last.result
    s = res.images.shape[1]
    if not 0 <= int(index) < s:
      raise SessionError(f"Sample index {index} out of range [0, {s}).")
    index = int(index)
    tokens = self._state.tokens.copy()
    r, c = (int(v) for v in res.window_offsets[0])
    w = res.tokens.shape[-1]
    tokens[r:r + w, c:c + w] = res.tokens[0, index]
    image = np.asarray(res.images[0, index], np.float32).copy()
    self._push(_State(image=image, tokens=tokens, label=self._state.label))
    return self.image

  def undo(self) -> np.ndarray:
    """Returns to the previous image (SessionError if there is none)."""
    if not self._undo:
      raise SessionError("Nothing to undo.")
    self._redo.append(self._state)
    self._state = self._undo.pop()
    self._last = None
    return self.image

  def redo(self) -> np.ndarray:
    """Re-applies the last undone step (SessionError if there is none)."""
    if not self._redo:
      raise SessionError("Nothing to redo.")
    self._undo.append(self._state)
    self._state = self._redo.pop()
    self._last = None
    return self.image
