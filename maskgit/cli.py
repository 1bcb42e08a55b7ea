"""Library side of the CLIs: flag parsing, model loading, generate.py's run."""

from __future__ import annotations

import json
import logging
import os
import re
import sys
import time
from typing import Any, Callable

from absl import app
from absl import flags
import jax
from ml_collections import config_flags
import numpy as np

from maskgit import image_io
from maskgit import io_utils
from maskgit import model as model_lib
from maskgit import runtime


def _exit_bad_command_line(e: Exception):
  text = str(e).replace("\\n", "\n").replace("\\", "").replace("'", "")
  lines = [line.strip() for line in text.splitlines() if line.strip()]
  if any(line.startswith("Traceback") for line in lines):
    lines = lines[-1:]  # The config file raised: its own message suffices.
  msg = " ".join(lines)
  print(f"error: bad command line: {msg}", file=sys.stderr)
  sys.exit(2)


def define_config_flag(default: str, help_string: str):
  """`config_flags.DEFINE_config_file(lock_config=True)` that reports a typo
  in a `--config.x=...` override (applied while the flag is defined) as one
  line and exit status 2 instead of a traceback."""
  try:
    return config_flags.DEFINE_config_file("config", default, help_string,
                                           lock_config=True)
  except (AttributeError, KeyError, TypeError, ValueError) as e:
    _exit_bad_command_line(e)


def parse_flags_or_exit(argv: list[str]) -> list[str]:
  """absl `flags_parser` that turns any bad flag or config override (typo,
  wrong type, unknown preset) into one line on stderr and exit status 2."""
  # absl logs INFO by default; JAX's "Unable to initialize backend 'tpu'"
  # line on every CPU or GPU run is noise there (its warnings still show).
  logging.getLogger("jax._src.xla_bridge").setLevel(logging.WARNING)
  try:
    return flags.FLAGS(argv)
  except Exception as e:  # pylint: disable=broad-except
    _exit_bad_command_line(e)


def main(script: str, config_file: str, help_string: str,
         run: Callable[[Any], int]) -> None:
  """The whole entry point of a config-driven CLI (generate.py, ...).

  Defines `--config` (default: `config_file`, relative to the folder of
  `script`, i.e. pass `__file__`), parses the command line, then exits with
  `run(config)`'s status. A ValueError or OSError from `run` is one
  "error: ..." line and status 1; a bad command line is one line and
  status 2.
  """
  flag = define_config_flag(
      os.path.join(os.path.dirname(os.path.abspath(script)), config_file),
      help_string)

  def _main(argv):
    if len(argv) > 1:
      raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
    try:
      code = run(flag.value)
    except (ValueError, OSError) as e:
      print(f"error: {e}", file=sys.stderr)
      code = 1
    sys.exit(code)

  app.run(_main, flags_parser=parse_flags_or_exit)


def load_model(config) -> model_lib.MaskGIT:
  """Loads from the config's msgpack paths, or random weights if both empty."""
  tok, tr = config.tokenizer_path, config.transformer_path
  if bool(tok) != bool(tr):
    raise ValueError("Give both tokenizer_path and transformer_path, or "
                     "neither (random weights).")
  if tok:
    return model_lib.MaskGIT.from_files(config.model, tok, tr)
  print("NOTE: no checkpoint given; using a RANDOMLY INITIALISED model "
        "(outputs are noise; this only demonstrates the pipeline).")
  return model_lib.MaskGIT.random(config.model, config.random_init_seed)


_IMAGE_RE = re.compile(r"^(sample|edit)_\d+_class\d+\.png$")


def _remove_earlier_images(out: str, names: list[str]) -> None:
  """Removes an earlier run's images that this run does not rewrite.

  The folder holds one run (grid.png and run.json are rewritten), so its
  images must all be this run's, never a mix of two.
  """
  if not os.path.isdir(out):
    return
  stale = sorted(n for n in os.listdir(out)
                 if _IMAGE_RE.match(n) and n not in names)
  for n in stale:
    os.remove(os.path.join(out, n))
  if stale:
    print(f"Removed {len(stale)} image(s) of an earlier run from {out}.")


def run_generate(config) -> list[str]:
  """Runs generation or box editing; returns the written file paths."""
  runtime.enable_compilation_cache(config.compilation_cache)
  if config.mode not in ("generate", "box_edit"):
    raise ValueError(f"Unknown mode {config.mode!r}: 'generate' or "
                     "'box_edit'.")
  t0 = time.perf_counter()
  model = load_model(config)
  if config.mode == "generate":
    labels = list(config.labels)
    model.check_labels(labels)
    images = model.generate(labels, seed=config.seed,
                            num_iter=config.num_iter,
                            choice_temperature=config.choice_temperature,
                            schedule=config.schedule)
    names = [f"sample_{i:02d}_class{label}.png"
             for i, label in enumerate(labels)]
    panels = images
  else:
    if not config.image:
      raise ValueError("mode=box_edit needs --config.image.")
    image = image_io.load_image(config.image, model.image_size, resize=True)
    batch = np.repeat(image[None], config.num_samples, axis=0)
    images = model.box_edit(
        batch, tuple(config.box), config.target_label, seed=config.seed,
        num_iter=config.edit_num_iter, start_iter=config.start_iter,
        choice_temperature=config.choice_temperature, blend=config.blend,
        feather=config.feather)
    names = [f"edit_{i:02d}_class{config.target_label}.png"
             for i in range(len(images))]
    panels = np.concatenate([image[None], images])
  elapsed = time.perf_counter() - t0
  out = config.output_dir
  _remove_earlier_images(out, names)
  paths = []
  for name, img in zip(names, images):
    paths.append(os.path.join(out, name))
    image_io.save_png(paths[-1], img)
  paths.append(os.path.join(out, "grid.png"))
  image_io.save_png(paths[-1], image_io.grid(panels, min(len(panels), 8)))
  record = dict(config=json.loads(config.to_json_best_effort()),
                seconds_including_compile=elapsed,
                backend=jax.default_backend(),
                random_weights=not config.tokenizer_path)
  paths.append(os.path.join(out, "run.json"))
  io_utils.write_json(paths[-1], record)
  print(f"Wrote {len(images)} images and grid.png to {out} "
        f"({elapsed:.1f} s including compilation).")
  return paths
