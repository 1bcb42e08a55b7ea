"""Batch editing behind sample_edit.py: inputs -> runner -> outputs.

* `inputs`: discovery (a folder or a JSONL manifest) and loading one item,
  header sizes checked before decoding.
* `runner`: `run(config)`, every (method, strength) x item with resume,
  sweep, keep_going and a progress bar.
* `outputs`: per-item samples, grid and record.json (written last,
  atomically: an item is done iff it exists; on a background thread,
  `Writer`), the run's summary grid and the closing report.
* `parallel`: the mesh of local devices a batch is split over, and each
  host's shard of the items (docs/batch.md).

See docs/editing.md for the folder/manifest rules and the output layout.
"""

from maskgit.image_io import load_mask
from maskgit_edit.batch.inputs import discover
from maskgit_edit.batch.inputs import IMAGE_EXTS
from maskgit_edit.batch.inputs import Item
from maskgit_edit.batch.inputs import ItemError
from maskgit_edit.batch.inputs import load_item
from maskgit_edit.batch.outputs import write_summary_grid
from maskgit_edit.batch.runner import run
from maskgit_edit.batch.runner import runs_from_config
