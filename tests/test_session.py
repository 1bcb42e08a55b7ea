"""Editing session on the tiny model: tokens encoded once, accept, undo."""

import numpy as np
import pytest

from maskgit_edit import editor as editor_lib
from maskgit_edit import guidance
from maskgit_edit import session as session_lib

OPTS = dict(num_iter=6, start_iter=1, feather=2)


@pytest.fixture(scope="module")
def editor(tiny_model):
  return editor_lib.Editor(tiny_model)


@pytest.fixture(scope="module")
def image_guide():
  rng = np.random.default_rng(0)
  image = rng.random((32, 32, 3)).astype(np.float32)
  guide = image.copy()
  guide[5:9, 6:10] = (1.0, 0.0, 0.0)
  return image, guide


def test_session_encodes_once(tiny_model, image_guide):
  """The image is encoded when the session starts, never again for its
  edits; a kept sample's tokens are the ones it was decoded from."""
  image, guide = image_guide
  editor = editor_lib.Editor(tiny_model)
  calls = []
  real = tiny_model.encode
  try:
    tiny_model.encode = lambda x: calls.append(len(x)) or real(x)
    s = session_lib.Session(editor, image, label=1)
    assert calls == [1]
    opts = editor_lib.EditOptions(patch_local=True, **OPTS)
    for seed in range(2):
      s.edit(guide, strength=0.5, seed=seed, num_samples=2, options=opts)
    s.accept(0)
    s.edit(guide, strength=0.5, seed=0, num_samples=2, options=opts)
  finally:
    del tiny_model.encode
  assert calls == [1]


def test_session_edit_accept_undo_redo(editor, image_guide):
  image, guide = image_guide
  s = session_lib.Session(editor, image, label=1)
  assert not s.can_undo and not s.can_redo
  opts = editor_lib.EditOptions(patch_local=True, **OPTS)
  out = s.edit(guide, strength=0.5, seed=0, num_samples=2, options=opts)
  assert out.samples.shape == (2, 32, 32, 3)
  assert out.overlay.shape == (32, 32, 3)
  # The overlay changes exactly the pixels of the E tokens.
  t = out.result.tokens
  r, c = t.offsets[0]
  w = t.samples.shape[-1]
  grid = np.zeros((8, 8), bool)
  grid[r:r + w, c:c + w] = t.edit[0]
  e_px = np.kron(grid, np.ones((4, 4), bool))
  changed = np.any(out.overlay != image, -1)
  assert e_px.any()
  np.testing.assert_array_equal(changed, e_px)
  np.testing.assert_array_equal(s.image, image)  # Not yet accepted.
  new = s.accept(1)
  np.testing.assert_array_equal(new, out.samples[1])
  kept = editor.encode(new[None])[0]  # From the cache: the sample's tokens.
  np.testing.assert_array_equal(kept[r:r + w, c:c + w], t.samples[0, 1])
  assert s.can_undo and not s.can_redo
  with pytest.raises(session_lib.SessionError, match="No edit"):
    s.accept(0)  # The edit was consumed.
  np.testing.assert_array_equal(s.undo(), image)
  assert s.can_redo
  np.testing.assert_array_equal(s.redo(), out.samples[1])
  with pytest.raises(session_lib.SessionError, match="redo"):
    s.redo()
  # A new accept after an undo drops the redo branch.
  s.undo()
  s.edit(guide, strength=0.5, seed=1, num_samples=2, options=opts)
  s.accept(0)
  assert not s.can_redo


def test_session_errors(editor, image_guide):
  image, _ = image_guide
  s = session_lib.Session(editor, image)
  opts = editor_lib.EditOptions(**OPTS)
  with pytest.raises(guidance.GuidanceError):
    s.edit(image, options=opts, num_samples=2)  # Nothing painted.
  with pytest.raises(guidance.GuidanceError, match="differ in shape"):
    s.edit(image[:16], options=opts, num_samples=2)
  with pytest.raises(session_lib.SessionError, match="undo"):
    s.undo()
  with pytest.raises(ValueError, match=r"\[H, W, 3\]"):
    session_lib.Session(editor, image[..., 0])
  guide = image.copy()
  guide[0:4, 0:4] = 0.0
  s.edit(guide, options=opts, num_samples=2)
  with pytest.raises(session_lib.SessionError, match="out of range"):
    s.accept(2)


def test_history_limit(editor, image_guide):
  image, _ = image_guide
  s = session_lib.Session(editor, image, max_history=2)
  for v in (0.1, 0.2, 0.3):
    s.set_image(np.full_like(image, v))
  s.undo()
  s.undo()
  with pytest.raises(session_lib.SessionError):
    s.undo()
  np.testing.assert_allclose(s.image, 0.1)


def test_any_size_session_and_outpaint(editor):
  """A 40x56 image is edited in windows; outpaint grows the image on
  accept; far and original pixels stay bit-identical; undo returns."""
  image = np.random.default_rng(1).random((40, 56, 3)).astype(np.float32)
  guide = image.copy()
  guide[20:23, 30:34] = (0.0, 1.0, 0.0)
  s = session_lib.Session(editor, image)
  opts = editor_lib.EditOptions(**OPTS)
  out = s.edit(guide, strength=0.5, num_samples=2, options=opts)
  assert out.samples.shape == (2, 40, 56, 3) and not out.whole
  assert out.layout["mode"] == "native"
  far = np.ones((40, 56), bool)
  far[20 - 3:23 + 3, 30 - 3:34 + 3] = False
  assert np.array_equal(out.samples[0][far], image[far])
  s.accept(1)
  edited = s.image
  grown = s.outpaint("top:8,right:4", num_samples=2, options=opts)
  assert grown.samples.shape == (2, 48, 60, 3)
  assert np.array_equal(grown.samples[0][8:, :56], edited)
  with pytest.raises(ValueError, match="Unknown outpaint side"):
    s.outpaint("up:8")
  assert s.accept(0).shape == (48, 60, 3)
  assert s.undo().shape == (40, 56, 3)
