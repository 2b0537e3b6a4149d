#!/usr/bin/env bash
# The seed layouts' CPU budget: each trained from scratch, PSNR stage only (their targets are PSNR over bicubic, and
# a GAN stage of a few dozen steps only costs PSNR), on the same four sources and native patches as `fast`.
# Usage: tools/train_seed_layouts_cpu.sh [RUNS_DIR] [MINUTES] [PARALLEL_JOBS] [NAMES...]
# Each job gets one thread (two one-thread jobs do more work on this 2-core machine than one two-thread job).
# Small patches keep a step cheap: the pixel-shuffle layouts cost 56-82 GMACs per 64x64 input, so they train on 64-px
# HR patches (16-px LR); the convolutions and the attention see the same local statistics at any input size.
# INIT_FROM=DIR continues each layout from DIR/NAME (e.g. facesr_hub/weights): a warm restart (fresh warm-up +
# cosine) that adds MINUTES to the budget a layout already had, as tools/continue_cpu_runs.sh does for `fast`.
# SEED=N (default 0) seeds the batches; give a continuation a new one.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-runs}
minutes=${2:-20}
jobs=${3:-2}
shift $(( $# > 3 ? 3 : $# ))
data=${FACESR_DATA:-../shared/data}
init_from=${INIT_FROM:-}
seed=${SEED:-0}  # a continuation should draw other batches than its first segment did
fixed='{"norm":"none","output_activation":"none","bicubic_skip":true}'

# name|arch|arch-kwargs|batch|patch
all=(
  "upsample-fixed|upsample|$fixed|16|128"
  "residual-attention|residual-attention|{}|16|96"
  "pixelshuffle-v1-fixed|pixelshuffle-v1|$fixed|8|64"
  "pixelshuffle-v2-fixed|pixelshuffle-v2|$fixed|8|64"
  "upsample|upsample|{}|16|128"
  "pixelshuffle-v1|pixelshuffle-v1|{}|8|64"
  "pixelshuffle-v2|pixelshuffle-v2|{}|8|64"
)
selected=()
for spec in "${all[@]}"; do
  name=${spec%%|*}
  if [ $# -eq 0 ] || [[ " $* " == *" $name "* ]]; then selected+=("$spec"); fi
done

train_one() {
  IFS='|' read -r name arch kwargs batch patch <<<"$1"
  local init=()
  if [ -n "$init_from" ]; then init=(--init-from "$init_from/$name"); fi
  OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 nice -n 10 uv run train.py \
    --data "$data/celeba" --data "$data/utkface" --data "$data/celeba-hq-256" --data "$data/celebamask-hq-256" \
    --arch "$arch" --arch-kwargs "$kwargs" --output-dir "$runs/$name" --max-minutes "$minutes" --pixel-fraction 1 \
    --batch-size "$batch" --patch-size "$patch" --lr 5e-4 --warmup-steps 100 --ema-decay 0.999 --val-images 16 \
    --val-every 250 --save-every 250 --num-workers 1 --seed "$seed" "${init[@]}" \
    >>"$runs/$name.log" 2>&1 && echo "done: $name" || echo "FAILED: $name (see $runs/$name.log)"
}

mkdir -p "$runs"
for spec in "${selected[@]}"; do
  while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do sleep 5; done
  train_one "$spec" &
done
wait
