r"""MaskGIT class-conditional generation and box editing (the upstream demo).

  python generate.py --config=configs/generate.py:imagenet256 \
    --config.tokenizer_path=PATH --config.transformer_path=PATH \
    --config.labels=1,207,980
  python generate.py --config=configs/generate.py:imagenet256 ... \
    --config.mode=box_edit --config.image=cat.png \
    --config.box=64,32,128,144 --config.target_label=207

Without checkpoint paths the model is randomly initialised (pipeline demo).
"""

from maskgit import cli


def _run(config) -> int:
  cli.run_generate(config)
  return 0


if __name__ == "__main__":
  cli.main(__file__, "configs/generate.py", "Generation config.", _run)
