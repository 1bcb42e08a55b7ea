r"""Reconstructions of several tokenizers side by side, per style.

  python scripts/decoder_grid.py --data=data/emoji_sets64.npz \
      --tokenizers=v1=weights/emoji/tokenizer.msgpack,three_sets=T1,noto=T2 \
      --out=docs/images/v15_decoders.png

Row 1: test images (the first --per_set of each style, in id order); then
one row of decode(encode(x)) per tokenizer, in the order given. Prints each
tokenizer's mean PSNR per style on the whole test split.
"""

import json

from absl import app
from absl import flags
import numpy as np

from maskgit import embedded
from maskgit import evaluate
from maskgit import image_io
from maskgit import model as model_lib

_DATA = flags.DEFINE_string("data", "data/emoji_sets64.npz",
                            "Three-set .npz (maskgit.data.emoji_sets).")
_TOKENIZERS = flags.DEFINE_list("tokenizers", [], "NAME=PATH, in row order.")
_PER_SET = flags.DEFINE_integer("per_set", 4, "Images per style.")
_OUT = flags.DEFINE_string("out", "docs/images/v15_decoders.png", "PNG.")


def main(argv):
  del argv
  with np.load(_DATA.value) as f:
    images = f["test_image"].astype(np.float32) / 255.0
    ids = np.asarray([str(i) for i in f["test_id"]])
  styles = np.asarray([i.split("/")[0] for i in ids])
  order = np.argsort(ids)
  pick = np.concatenate([order[styles[order] == s][:_PER_SET.value]
                         for s in dict.fromkeys(styles[order])])
  rows, psnr = [images[pick]], {}
  for spec in _TOKENIZERS.value:
    name, path = spec.split("=", 1)
    m = model_lib.MaskGIT.from_files(embedded.config(), path,
                                     embedded.TRANSFORMER_PATH)
    p = evaluate.reconstruction_psnr(m, images)
    psnr[name] = {s: round(float(p[styles == s].mean()), 2)
                  for s in dict.fromkeys(styles)}
    rows.append(np.clip(m.decode_tokens(m.encode(images[pick])), 0, 1))
  image_io.save_png(_OUT.value, image_io.grid(np.concatenate(rows),
                                              len(pick)))
  print(json.dumps({"psnr_db": psnr, "out": _OUT.value}, indent=1))


if __name__ == "__main__":
  app.run(main)
