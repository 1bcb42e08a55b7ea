#!/usr/bin/env bash
# Embedded model v1.5 on a 2-core CPU (issue 24): the v1 architecture trained
# further on three emoji sets. Four stages, each with its whole schedule
# (exact step counts, exact resume: rerun the same command after a stop):
#   decoder  - the v1 tokenizer's decoder fine-tuned on frozen codes;
#   selfcond - the v1 transformer (classes 9 -> 36: style x group) trained
#              further on precomputed tokens, hinted and unhinted at once;
#   noto     - then a short anneal of that export on Noto alone;
#   decoder_noto - the decoder on frozen codes again, on Noto alone.
# Decoder and transformer stages are independent (the codes never change)
# and can run at once. Results: docs/model_card.md (v1.5).
# Data: python -m maskgit.data.emoji_sets --out_dir=data/tfds --cache_dir=data/npm
#       python -m maskgit.data.arrays --dataset=data/tfds/emoji_sets/1.0.0 \
#           --out=data/emoji_sets64.npz
set -euo pipefail
STAGE=${1:?usage: train_emoji_v15.sh decoder|selfcond|noto|decoder_noto}
PY=${PYTHON:-python}
DATA=${DATA:-data/emoji_sets64.npz}  # Three sets.
NOTO=${NOTO:-data/emoji64.npz}       # Noto alone (labels 0..8).
W=${WORKDIR:-workdirs/v15}
# v1's transformer (9 classes), the selfcond stage's start. weights/emoji/
# holds v1.5 since 63fd42f, so v1's file comes from git history (the
# tokenizer is unchanged: weights/emoji/tokenizer.msgpack is v1's).
V1_TRANSFORMER=${V1_TRANSFORMER:-$W/v1_selfcond.msgpack}
RUN=(--config.data.source=npz --config.log_every=50 --config.eval_every=0
     --config.sample_every=0 --config.checkpoint.every_steps=100)
# Decoder on frozen codes, from v1's tokenizer (batch 32).
DEC=(--config=configs/tokenizer.py:emoji "${RUN[@]}"
     --config.init_from=weights/emoji/tokenizer.msgpack
     --config.tokenizer_loss.decoder_only=True --config.batch_size=32)
# Transformer with 36 classes on a pool of (tokens, guide tokens): 2 guides
# per image (the second on the mirrored image), half the examples hinted.
SC=(--config=configs/selfcond.py:emoji "${RUN[@]}"
    --config.model.transformer.num_classes=36 --config.selfcond.hint=token
    --config.selfcond.p_hint=0.5 --config.selfcond.pool_guides=2
    --config.batch_size=128)
case "$STAGE" in
  decoder)
    exec "$PY" train.py "${DEC[@]}" --workdir="$W/decoder" \
      --config.data.dataset="$DATA" --config.model.transformer.num_classes=36 \
      --config.tokenizer_loss.disc_start=400 --config.num_steps=1200 \
      --config.optim.learning_rate=1e-4 --config.optim.warmup_steps=50 ;;
  decoder_noto)
    # Noto alone, reconstruction only, a low learning rate: the three-set
    # decoder lost 0.76 dB on Noto (docs/model_card.md).
    exec "$PY" train.py "${DEC[@]}" --workdir="$W/decoder_noto" \
      --config.data.dataset="$NOTO" --config.tokenizer_loss.adv_weight=0.0 \
      --config.num_steps=400 \
      --config.optim.learning_rate=3e-5 --config.optim.warmup_steps=20 ;;
  selfcond)
    if [[ ! -f "$V1_TRANSFORMER" ]]; then
      mkdir -p "$(dirname "$V1_TRANSFORMER")"
      git show 320f86f:weights/emoji/selfcond.msgpack > "$V1_TRANSFORMER.tmp"
      mv "$V1_TRANSFORMER.tmp" "$V1_TRANSFORMER"
    fi
    exec "$PY" train.py "${SC[@]}" --workdir="$W/selfcond" \
      --config.data.dataset="$DATA" \
      --config.init_from="$V1_TRANSFORMER" --config.init_num_classes=9 \
      --config.selfcond.pool="$W/selfcond_pool.npz" --config.num_steps=1000 \
      --config.optim.learning_rate=2e-4 --config.optim.warmup_steps=100 ;;
  noto)
    # A short anneal on Noto alone from the selfcond export: the three-set
    # stage alone left Noto's masked-token accuracy just below v1's.
    exec "$PY" train.py "${SC[@]}" --workdir="$W/noto" \
      --config.data.dataset="$NOTO" \
      --config.init_from="$W/selfcond/export/selfcond.msgpack" \
      --config.selfcond.pool="$W/noto_pool.npz" --config.num_steps=300 \
      --config.optim.learning_rate=1e-4 --config.optim.warmup_steps=20 ;;
  *) echo "unknown stage $STAGE" >&2; exit 2 ;;
esac
