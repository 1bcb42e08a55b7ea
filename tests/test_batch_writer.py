"""outputs.Writer: items written on a background thread, errors surface,
nothing half-written."""

import os
import threading

import numpy as np
import pytest

from maskgit_edit.batch import outputs

SAMPLES = np.zeros((2, 4, 4, 3), np.float32)
PANELS = np.zeros((5, 4, 4, 3), np.float32)


def test_writes_overlap_the_caller(tmp_path, monkeypatch):
  release, started = threading.Event(), threading.Event()
  real = outputs.write_item

  def slow(*args):
    started.set()
    assert release.wait(30)
    real(*args)
  monkeypatch.setattr(outputs, "write_item", slow)
  done = []
  with outputs.Writer(depth=4) as w:
    for i in range(3):  # Returns while the first write is still blocked.
      w.put(str(tmp_path / f"i{i}"), SAMPLES, PANELS, {"i": i},
            on_done=lambda i=i: done.append(i))
    assert started.wait(30) and done == []
    release.set()
  assert done == [0, 1, 2]
  for i in range(3):
    assert outputs.is_done(str(tmp_path / f"i{i}"))
    assert sorted(os.listdir(tmp_path / f"i{i}")) == [
        "grid.png", "record.json", "sample_00.png", "sample_01.png"]


@pytest.mark.parametrize("depth", [0, 2])
def test_failed_write_surfaces_and_later_items_are_not_written(tmp_path,
                                                               depth):
  (tmp_path / "blocker").write_text("a file where a folder should be")
  w = outputs.Writer(depth=depth)
  w.put(str(tmp_path / "a"), SAMPLES, PANELS, {})
  with pytest.raises(OSError):
    w.put(str(tmp_path / "blocker" / "b"), SAMPLES, PANELS, {})
    w.put(str(tmp_path / "c"), SAMPLES, PANELS, {})
    w.close()
  assert outputs.is_done(str(tmp_path / "a"))
  assert not (tmp_path / "c").exists()
  assert sorted(os.listdir(tmp_path)) == ["a", "blocker"]


def test_caller_error_wins_and_queued_items_finish(tmp_path):
  with pytest.raises(KeyError):
    with outputs.Writer(depth=2) as w:
      w.put(str(tmp_path / "a"), SAMPLES, PANELS, {})
      raise KeyError("device fault")
  assert outputs.is_done(str(tmp_path / "a"))
