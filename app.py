r"""Browser editor: paint on an image, get edited samples, keep one, repeat.

  python app.py                     # embedded emoji model, http://127.0.0.1:7860
  python app.py --port=8080 --host=0.0.0.0
  python app.py --config=configs/edit.py:imagenet256 \
    --config.tokenizer_path=T --config.transformer_path=M

The config is sample_edit.py's (configs/edit.py): model preset and checkpoint
paths, default method/strength/num_samples/seed, every method's options and
the plugin backends (the page lists every registered method, e.g. the
diffusion baseline). Without checkpoint paths a non-emoji preset is RANDOMLY
INITIALISED (outputs are noise). The default method and sample count are
compiled before the server starts. One model computation runs at a time.
"""

import logging
import os
import sys

from absl import app
from absl import flags

from maskgit import cli

_CONFIG = cli.define_config_flag(
    os.path.join(os.path.dirname(os.path.abspath(__file__)), "configs",
                 "edit.py"), "Editing config (model, paths, defaults).")
_HOST = flags.DEFINE_string("host", "127.0.0.1", "Address to listen on.")
_PORT = flags.DEFINE_integer("port", 7860, "Port.")
_WARMUP = flags.DEFINE_bool("warmup", True,
                            "Compile the default edit before serving.")
_MAX_QUEUE = flags.DEFINE_integer("max_queue", 32,
                                  "Requests waiting at most (then refused).")
_MAX_TABS = flags.DEFINE_integer("max_tabs", 32,
                                 "Browser tabs kept (least recent dropped).")


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
  # pylint: disable=g-import-not-at-top
  from maskgit import embedded
  from maskgit import runtime
  from maskgit.data import emoji_sets
  from maskgit_edit.app import core
  from maskgit_edit.app import server as server_lib
  # pylint: enable=g-import-not-at-top
  logging.getLogger("maskgit_edit.app").setLevel(logging.INFO)
  config = _CONFIG.value
  runtime.enable_compilation_cache(config.compilation_cache)
  names = (embedded.class_names() if config.transformer_path ==
           embedded.TRANSFORMER_PATH else
           emoji_sets.class_names_for(config.model.transformer.num_classes))
  try:
    ui = core.App(config, class_names=names)
  except (ValueError, OSError) as e:
    print(f"error: {e}", file=sys.stderr)
    sys.exit(1)
  if _WARMUP.value:
    print("Compiling (warm-up)...", flush=True)
    print(f"Warm-up took {ui.warmup():.1f} s.", flush=True)
  try:
    srv = server_lib.Server(ui, _HOST.value, _PORT.value,
                            max_queue=_MAX_QUEUE.value,
                            max_tabs=_MAX_TABS.value)
  except OSError as e:
    print(f"error: cannot listen on {_HOST.value}:{_PORT.value}: {e}",
          file=sys.stderr)
    sys.exit(1)
  print(f"Serving the editor on {srv.url} (Ctrl+C stops).", flush=True)
  try:
    srv.serve_forever()
  except KeyboardInterrupt:
    pass
  finally:
    srv.server_close()


if __name__ == "__main__":
  app.run(main, flags_parser=cli.parse_flags_or_exit)
