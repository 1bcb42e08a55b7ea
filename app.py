r"""Browser editor: paint on an image, get edited samples, keep one, repeat.

  python app.py                     # embedded emoji model, http://127.0.0.1:7860
  python app.py --port=8080 --host=0.0.0.0
  python app.py --config=configs/edit.py:imagenet256 \
    --config.tokenizer_path=T --config.transformer_path=M

The config is sample_edit.py's (configs/edit.py): model preset and checkpoint
paths, default method/strength/num_samples/seed and every EditOptions field
(e.g. --config.patch_local=True). Without checkpoint paths a non-emoji preset
is RANDOMLY INITIALISED (outputs are noise). Compilation is warmed up before
the server starts, so the first edit is fast. Requests are queued: one edit
runs at a time.
"""

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


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
  # No usage statistics sent (the editor runs offline).
  os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
  # pylint: disable=g-import-not-at-top
  from maskgit import runtime
  from maskgit.data import emoji
  from maskgit_edit import app_ui
  from maskgit_edit import editor as editor_lib
  # pylint: enable=g-import-not-at-top
  config = _CONFIG.value
  runtime.enable_compilation_cache(config.compilation_cache)
  try:
    model = cli.load_model(config)
  except (ValueError, OSError) as e:
    print(f"error: {e}", file=sys.stderr)
    sys.exit(1)
  names = (emoji.EMOJI_GROUPS if model.transformer_config.num_classes ==
           len(emoji.EMOJI_GROUPS) else None)
  ui = app_ui.App(editor_lib.Editor(model), config,
                  class_names=names)
  if _WARMUP.value:
    print("Compiling (warm-up)...", flush=True)
    print(f"Warm-up took {ui.warmup():.1f} s.", flush=True)
  demo = ui.build()
  demo.queue(default_concurrency_limit=1, max_size=_MAX_QUEUE.value)
  demo.launch(server_name=_HOST.value, server_port=_PORT.value,
              allowed_paths=[ui.output_dir])


if __name__ == "__main__":
  app.run(main, flags_parser=cli.parse_flags_or_exit)
