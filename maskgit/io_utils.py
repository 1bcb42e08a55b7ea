"""Atomic file writes shared by every writer (images, records, checkpoints).

A file is written to a temp file in the same folder (named `.tmp-<name>.*`),
flushed to disk, then renamed over its final name: a reader, or a run killed
mid-write, never sees a partial file under the final name. Temp files are
created like `open()` creates files (mode 0666 minus the umask), so the
outputs get the permissions the user's umask asks for.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
from typing import Any, Iterator, IO

TEMP_PREFIX = ".tmp-"


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike[str], mode: str = "wb"
                 ) -> Iterator[IO[Any]]:
  """`with atomic_write(path, "w") as f:` writes `path` atomically.

  Creates the parent folder. On an exception the temp file is removed and
  any existing `path` is left as it was.

  Args:
    path: final file name.
    mode: "wb" (bytes) or "w" (UTF-8 text).
  """
  if mode not in ("wb", "w"):
    raise ValueError(f"mode must be 'wb' or 'w', got {mode!r}.")
  path = os.fspath(path)
  directory = os.path.dirname(os.path.abspath(path))
  os.makedirs(directory, exist_ok=True)
  tmp = os.path.join(directory, f"{TEMP_PREFIX}{os.path.basename(path)}."
                     f"{secrets.token_hex(4)}")
  fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
  try:
    with os.fdopen(fd, mode, **({"encoding": "utf-8"} if mode == "w"
                                else {})) as f:
      yield f
      f.flush()
      os.fsync(f.fileno())
    os.replace(tmp, path)
  except BaseException:
    with contextlib.suppress(FileNotFoundError):
      os.remove(tmp)
    raise


def write_bytes(path: str | os.PathLike[str], data: bytes) -> None:
  """Writes `data` to `path` atomically."""
  with atomic_write(path) as f:
    f.write(data)


def write_json(path: str | os.PathLike[str], obj: Any) -> None:
  """Writes `obj` as indented JSON to `path` atomically."""
  with atomic_write(path, "w") as f:
    json.dump(obj, f, indent=1)


def is_temp_file(name: str) -> bool:
  """True for a temp file name this module (or an older writer) leaves."""
  return name.startswith(TEMP_PREFIX) or name.endswith(".tmp")


def remove_temp_files(directory: str | os.PathLike[str]) -> int:
  """Removes the temp files a killed write left in `directory` (not below).

  Returns how many were removed; a missing folder has none.
  """
  directory = os.fspath(directory)
  if not os.path.isdir(directory):
    return 0
  removed = 0
  for name in os.listdir(directory):
    path = os.path.join(directory, name)
    if is_temp_file(name) and os.path.isfile(path):
      os.remove(path)
      removed += 1
  return removed
