r"""Guided editing of a batch of images (see docs/editing.md).

  python sample_edit.py --config=configs/edit.py --config.inputs=DIR \
    --config.output_dir=out --config.method=sdedit --config.strength=0.5
  python sample_edit.py --config=configs/edit.py --config.inputs=edits.jsonl \
    --config.sweep.methods=sdedit,self_fixed --config.sweep.strengths=0.25,0.5

Several hosts (a TPU pod slice, SLURM, or processes started by hand) take
train.py's flags and environment (--distributed, JAX_COORDINATOR_ADDRESS,
JAX_NUM_PROCESSES, JAX_PROCESS_ID): each process edits its shard of the items
and process 0 writes the summary once all are done (docs/batch.md).

Without checkpoint paths the model is randomly initialised (pipeline demo).
Exit status: 0 all items written or skipped; 1 an item or setting failed, or
the run could not start (no inputs, output folder not writable, bad model
files); 2 a bad command line.
"""

from maskgit import cli
from maskgit.training import distributed

_INITIALIZE_DISTRIBUTED = distributed.define_flags()


def _run(config) -> int:
  _INITIALIZE_DISTRIBUTED()  # A bad setting is a ValueError: status 1.
  # Imported after flag parsing: a bad command line fails fast.
  from maskgit_edit import batch  # pylint: disable=g-import-not-at-top
  return batch.run(config)


if __name__ == "__main__":
  cli.main(__file__, "configs/edit.py", "Editing config.", _run)
