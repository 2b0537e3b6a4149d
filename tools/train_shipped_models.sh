#!/usr/bin/env bash
# Train every model shipped in weights/ with one recipe and one budget, so the rows of the results table compare
# architectures, not training effort. Usage:
#   tools/train_shipped_models.sh [RUNS_DIR] [MINUTES] [THREADS] [PARALLEL_JOBS]
# Data: UTKFace + the CelebA *train* partition (CelebA val/test and celeba-hq-256 stay out for evaluation).
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-runs}
minutes=${2:-12}
threads=${3:-1}
jobs=${4:-2}
data=${FACESR_DATA:-../shared/data}
fixed='{"norm":"none","output_activation":"none","bicubic_skip":true}'

# name|arch|arch-kwargs
models=(
  "fast|fast|{}"
  "pixelshuffle-v1|pixelshuffle-v1|{}"
  "pixelshuffle-v1-fixed|pixelshuffle-v1|$fixed"
  "pixelshuffle-v2|pixelshuffle-v2|{}"
  "pixelshuffle-v2-fixed|pixelshuffle-v2|$fixed"
  "upsample|upsample|{}"
  "upsample-fixed|upsample|$fixed"
  "residual-attention|residual-attention|{}"
)

train_one() {
  IFS='|' read -r name arch kwargs <<<"$1"
  OMP_NUM_THREADS=$threads MKL_NUM_THREADS=$threads uv run train.py \
    --data "$data/celeba" --data "$data/utkface" --arch "$arch" --arch-kwargs "$kwargs" \
    --output-dir "$runs/$name" --max-minutes "$minutes" --pixel-fraction 0.7 --batch-size 16 --patch-size 128 \
    --max-train-images 6000 --val-images 16 --num-workers "$threads" --seed 0 \
    >"$runs/$name.log" 2>&1 && echo "done: $name" || echo "FAILED: $name (see $runs/$name.log)"
}

mkdir -p "$runs"
for spec in "${models[@]}"; do
  while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do sleep 5; done
  train_one "$spec" &
done
wait
