#!/usr/bin/env bash
# Trains the embedded emoji model end to end with train.py:
#   tokenizer -> transformer (on the tokenizer's codes) -> selfcond fine-tune.
# The recipes are configs/{tokenizer,transformer,selfcond}.py:emoji; this
# script only chains them and copies each stage's export to $DEST.
#
#   python -m maskgit.data.emoji --out_dir=data/tfds          # needs the font
#   python -m maskgit.data.arrays --dataset=data/tfds/noto_emoji/1.0.0 \
#       --out=data/emoji64.npz
#   bash scripts/train_emoji.sh
#
# Environment knobs (defaults in brackets):
#   NPZ [data/emoji64.npz]  dataset file (or set SOURCE=tfds to read
#                           data/tfds/noto_emoji/1.0.0 directly)
#   WORK [workdirs/emoji]   workdirs of the three stages (resumable)
#   DEST [weights/emoji]    where tokenizer/transformer/selfcond.msgpack go
#   T_TOK, T_TR, T_SC [0]   per-stage time_limit_s (0 = run all steps)
#   PROCS [0]               stroke-simulation worker processes (selfcond)
#   PY [python]             interpreter
#   EXTRA                   extra --config.* flags for every stage
set -euo pipefail
NPZ=${NPZ:-data/emoji64.npz}
SOURCE=${SOURCE:-npz}
WORK=${WORK:-workdirs/emoji}
DEST=${DEST:-weights/emoji}
PY=${PY:-python}
EXTRA=${EXTRA:-}
mkdir -p "$DEST"
if [[ $SOURCE == npz ]]; then
  DATA="--config.data.source=npz --config.data.dataset=$NPZ"
else
  DATA=""
fi

stage() {  # stage NAME CONFIG TIME_LIMIT [flags...]
  local name=$1 cfg=$2 limit=$3
  shift 3
  echo "=== $name: $(date -u +%H:%M:%S)"
  local t0=$SECONDS
  # shellcheck disable=SC2086
  $PY train.py --config="$cfg" --workdir="$WORK/$name" $DATA \
    --config.time_limit_s="$limit" "$@" $EXTRA
  echo "=== $name done in $((SECONDS - t0)) s"
}

stage tokenizer configs/tokenizer.py:emoji "${T_TOK:-0}"
cp "$WORK/tokenizer/export/tokenizer.msgpack" "$DEST/"

stage transformer configs/transformer.py:emoji "${T_TR:-0}" \
  --config.tokenizer_path="$DEST/tokenizer.msgpack"
cp "$WORK/transformer/export/transformer.msgpack" "$DEST/"

stage selfcond configs/selfcond.py:emoji "${T_SC:-0}" \
  --config.tokenizer_path="$DEST/tokenizer.msgpack" \
  --config.init_from="$DEST/transformer.msgpack" \
  --config.selfcond.stroke_processes="${PROCS:-0}"
cp "$WORK/selfcond/export/selfcond.msgpack" "$DEST/"
echo "Weights in $DEST:"; ls -la "$DEST"
