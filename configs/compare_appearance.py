r"""Config: the appearance-hint selfcond experiment in the evaluation protocol.

  python train.py --config=configs/selfcond.py:emoji --workdir=W \
      --config.init_from=weights/emoji/selfcond.msgpack \
      --config.data.source=npz --config.data.dataset=data/emoji64.npz \
      --config.selfcond.pool=W/pool.npz --config.selfcond.pool_guides=3 ...
  python benchmarks/compare.py \
      --config=configs/compare_appearance.py:W/export/selfcond.msgpack

Every entry of configs/compare.py:emoji (cached runs are reused) plus the
appearance-hint model given after ':' as `selfcond_appearance` (strength
grid = its guidance ablation) and `selfcond_appearance_masked` (hints only on
still-masked tokens). The model is not shipped (docs/editing.md says why), so
the report goes to outputs/compare_appearance/, not to docs/ or README.md.
"""

import os

from configs import compare

_REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def get_config(model_path: str = ""):
  if not model_path:
    raise ValueError("Give the appearance-hint transformer after ':', e.g. "
                     "--config=configs/compare_appearance.py:W/export/"
                     "selfcond.msgpack.")
  c = compare.get_config("emoji")
  c.methods.selfcond_appearance = dict(
      method="selfcond", selfcond_transformer_path=model_path)
  c.ablations.selfcond_appearance_masked = dict(
      method="selfcond", selfcond_transformer_path=model_path,
      selfcond=dict(positions="masked"))
  c.ablation_base.selfcond_appearance_masked = "selfcond_appearance"
  c.latency_only += ",selfcond_appearance"
  out = os.path.join(_REPO, "outputs/compare_appearance")
  c.out_json = os.path.join(out, "compare.json")
  c.out_doc = os.path.join(out, "comparisons.md")
  c.plots_dir = os.path.join(out, "images")
  c.readme = ""
  c.command = ("python benchmarks/compare.py "
               f"--config=configs/compare_appearance.py:{model_path}")
  return c
