"""Reading images: EXIF orientation applied (file, batch, session, app)."""

import io

import numpy as np
from PIL import Image

from maskgit import image_io


def _rotated_jpeg_bytes(w=20, h=10) -> tuple[bytes, np.ndarray]:
  """A JPEG whose pixels are stored rotated, with orientation tag 6 (rotate
  90 CW to view); returns (bytes, the upright view as uint8)."""
  view = np.zeros((h, w, 3), np.uint8)
  view[:, : w // 2] = (250, 10, 10)  # Left half red, right half blue.
  view[:, w // 2:] = (10, 10, 250)
  stored = np.rot90(view, 1)  # Tag 6 means: rotate 90 CW to show.
  exif = Image.Exif()
  exif[0x0112] = 6
  buf = io.BytesIO()
  Image.fromarray(np.ascontiguousarray(stored)).save(buf, format="JPEG",
                                                     exif=exif, quality=100)
  return buf.getvalue(), view


def test_exif_orientation_applied_on_read(tmp_path):
  data, view = _rotated_jpeg_bytes()
  path = tmp_path / "photo.jpg"
  path.write_bytes(data)
  assert image_io.image_size(path) == (20, 10)  # As a viewer shows it.
  from maskgit_edit.app import core  # pylint: disable=g-import-not-at-top
  for got in (image_io.load_image(path) * 255, core.open_upload(data)):
    assert got.shape == (10, 20, 3)
    # Away from the colour edge (JPEG blurs it): red left, blue right.
    np.testing.assert_allclose(got[:, :7], view[:, :7], atol=12)
    np.testing.assert_allclose(got[:, 13:], view[:, 13:], atol=12)
  assert image_io.load_mask(path).shape == (10, 20)
