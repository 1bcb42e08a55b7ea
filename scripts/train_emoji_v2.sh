#!/usr/bin/env bash
# Trains the embedded model v2 (maskgit/presets/emoji_v2.py: 64 px, 4 px
# tokens, 36 classes = 4 emoji sets x 9 groups) end to end, every stage to the
# END of its schedule (exact step counts), exporting after every stage:
#   tokenizer -> transformer (on the tokenizer's codes) -> selfcond fine-tune.
#
# Data (built on a machine with the registries; on a device, carry it packed,
# see docs/model_card.md "v2 plan"):
#   python -m maskgit.data.emoji_sets --out_dir=data/tfds --cache_dir=data/npm
#   python -m maskgit.data.arrays --dataset=data/tfds/emoji_sets/1.0.0 \
#       --out=data/emoji_sets64.npz
# Then, on one H100/H200 (about 9 minutes: one device command, whose limit is
# 10 minutes; with the machine's start that is the 12 minutes of a lease):
#   bash scripts/train_emoji_v2.sh
# On a lent device it runs one stage at a time under scripts/gpu_run.py,
# which also fits the GPU benchmark into the same command (its budgets cut
# these schedules short where they are slower than planned; the command,
# its carry and the data it needs: docs/benchmarks.md, "GPU: one prepared
# command").
# CPU smoke test (a few steps of every stage, minutes):
#   JAX_PLATFORMS=cpu N_TOK=2 N_TR=2 N_SC=2 BATCH=8 DEST=/tmp/v2 \
#     WORK=/tmp/v2work bash scripts/train_emoji_v2.sh
#
# Step counts (defaults = maskgit/presets/emoji_v2.py, read by
# configs/{tokenizer,transformer,selfcond}.py), sized for ONE device command
# (10 minute limit; 12 minutes of lease with the start) from the v1
# run's measured rates (docs/model_card.md: tokenizer 40 steps/s and
# transformer 36 steps/s at batch 128/256 including compile; selfcond 3.6-4.3
# steps/s, host stroke simulation) divided by the forward-FLOP ratio v2/v1
# (tokenizer 4.72/2.65 GFLOP per image = 1.78x, transformer 2.53/0.45 GFLOP
# per example = 5.6x; XLA cost analysis of the forward passes):
#   tokenizer   3,600 steps, batch 128, ~22 steps/s -> ~160 s
#   transformer 1,400 steps, batch 256, ~6.4 steps/s (f32 rate; bf16 + fused
#               attention should be faster) -> ~220 s
#   selfcond      240 steps, batch 256, ~3 steps/s -> ~80 s
# plus ~20 s start/compile/export per stage: ~9 minutes.
# Safety: each stage also gets time_limit_s (stop, checkpoint, export; the log
# then says 'time_limit' and the step reached, so a short run is visible, never
# silent) and a hard `timeout`; the whole script stops at DEADLINE_S.
#
# Environment knobs (defaults in brackets):
#   NPZ [data/emoji_sets64.npz]   dataset
#   PRESET [emoji_v2]             training preset of every stage (tiny: tests)
#   WORK [workdirs/emoji_v2]      stage workdirs (resumable)
#   DEST [weights/emoji_v2]       tokenizer/transformer/selfcond.msgpack + logs
#   N_TOK, N_TR, N_SC [3600, 1400, 240]  exact steps per stage
#   L_TOK, L_TR, L_SC [230, 290, 120]    per-stage time_limit_s safety nets
#   DEADLINE_S [570]              hard limit for the whole script
#   SLACK_S [12]                  a stage is killed (SIGTERM: checkpoint, NO
#                                 export) at its time limit + this; it must
#                                 cover start-up (imports, device, data, init)
#                                 and the final save + export
#   BATCH [preset]                override every stage's batch (smoke tests)
#   STAGES [tokenizer transformer selfcond]  stages to run (a later stage
#                                 reads the earlier ones' exports in $DEST, so
#                                 the run can be split over two commands)
#   PROCS [nproc - 2]             stroke-simulation worker processes
#   PY [python]                   interpreter
#   EXTRA                         extra --config.* flags for every stage
set -euo pipefail
NPZ=${NPZ:-data/emoji_sets64.npz}
PRESET=${PRESET:-emoji_v2}
WORK=${WORK:-workdirs/emoji_v2}
DEST=${DEST:-weights/emoji_v2}
N_TOK=${N_TOK:-3600}
N_TR=${N_TR:-1400}
N_SC=${N_SC:-240}
L_TOK=${L_TOK:-230}
L_TR=${L_TR:-290}
L_SC=${L_SC:-120}
DEADLINE_S=${DEADLINE_S:-570}
SLACK_S=${SLACK_S:-12}
PY=${PY:-python}
EXTRA=${EXTRA:-}
NPROC=$(nproc)
PROCS=${PROCS:-$(( NPROC > 2 ? NPROC - 2 : 0 ))}
BATCH_FLAG=""
if [[ -n ${BATCH:-} ]]; then BATCH_FLAG="--config.batch_size=$BATCH"; fi
if [[ ! -f $NPZ ]]; then
  echo "Dataset $NPZ not found; build it first (see the header)." >&2
  exit 2
fi
mkdir -p "$DEST" "$WORK"
RECORD="$DEST/train_record.jsonl"  # Appended: one line per stage run.
STAGES=${STAGES:-tokenizer transformer selfcond}
START=$SECONDS
wants() { [[ " $STAGES " == *" $1 "* ]]; }

stage() {  # stage NAME CONFIG STEPS LIMIT [flags...]
  local name=$1 cfg=$2 steps=$3 limit=$4
  shift 4
  local left=$(( DEADLINE_S - (SECONDS - START) ))
  if (( left < 30 )); then
    echo "=== $name: skipped, ${left}s left of DEADLINE_S=$DEADLINE_S" >&2
    exit 3
  fi
  # The stage must stop (and export) before the deadline.
  if (( limit > left - 15 )); then limit=$(( left - 15 )); fi
  echo "=== $name: $steps steps, time_limit_s=$limit, $(date -u +%H:%M:%S)"
  local t0=$SECONDS
  # shellcheck disable=SC2086
  timeout -k 10 $(( limit + SLACK_S )) \
    $PY train.py --config="$cfg" --workdir="$WORK/$name" \
      --config.data.source=npz --config.data.dataset="$NPZ" \
      --config.num_steps="$steps" --config.time_limit_s="$limit" \
      $BATCH_FLAG "$@" $EXTRA 2>&1 | tee "$WORK/$name.log"
  local rc=${PIPESTATUS[0]}
  local wall=$(( SECONDS - t0 ))
  local fin
  fin=$(grep -o 'Finished at step [0-9]* ([a-z_]*)' "$WORK/$name.log" |
        tail -1 || true)
  echo "{\"stage\": \"$name\", \"planned_steps\": $steps, \"finished\": \"$fin\", \"wall_s\": $wall, \"rc\": $rc}" >> "$RECORD"
  echo "=== $name: $fin in ${wall} s (rc $rc)"
  if (( rc != 0 )); then exit "$rc"; fi
  cp "$WORK/$name/metrics.jsonl" "$DEST/${name}_metrics.jsonl" 2>/dev/null ||
    true
}

if wants tokenizer; then
  stage tokenizer "configs/tokenizer.py:$PRESET" "$N_TOK" "$L_TOK"
  cp "$WORK/tokenizer/export/tokenizer.msgpack" "$DEST/"
fi
if wants transformer; then
  stage transformer "configs/transformer.py:$PRESET" "$N_TR" "$L_TR" \
    --config.tokenizer_path="$DEST/tokenizer.msgpack"
  cp "$WORK/transformer/export/transformer.msgpack" "$DEST/"
fi
if wants selfcond; then
  stage selfcond "configs/selfcond.py:$PRESET" "$N_SC" "$L_SC" \
    --config.tokenizer_path="$DEST/tokenizer.msgpack" \
    --config.init_from="$DEST/transformer.msgpack" \
    --config.selfcond.stroke_processes="$PROCS"
  cp "$WORK/selfcond/export/selfcond.msgpack" "$DEST/"
fi
echo "=== stages [$STAGES] done in $(( SECONDS - START )) s. Weights in $DEST:"
ls -la "$DEST"
cat "$RECORD"
