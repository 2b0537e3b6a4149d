#!/usr/bin/env bash
# The CPU recipe of the shipped fast / fast-psnr / fast-real models: two runs side by side, one thread each, in the
# background (nice), resumable. Usage: tools/train_cpu_runs.sh [RUNS_DIR] [MINUTES] [--resume]
#   runs/fast       fast (8 body convs) from scratch on clean bicubic inputs: PSNR stage (-> fast-psnr), GAN stage
#   runs/fast-real  the same architecture fine-tuned from the bundled fast-psnr on realistic degradations
# Data: CelebA train partition (178x218, native), UTKFace hash-train (200 px, native), the hash-train splits of
# celeba-hq-256 and celebamask-hq-256 (true 256 px). Held out: CelebA val/test, the hash val/test splits.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-runs}
minutes=${2:-130}
resume=${3:-}
data=${FACESR_DATA:-../shared/data}
mkdir -p "$runs"
common=(--data "$data/celeba" --data "$data/utkface" --data "$data/celeba-hq-256" --data "$data/celebamask-hq-256"
        --arch fast --arch-kwargs '{"num_convs":8}' --max-minutes "$minutes" --batch-size 16 --patch-size 128
        --gan-batch-size 8 --gan-patch-size 96 --gan-lr 1e-4 --d-lr 1e-4 --pixel-weight 1 --perceptual-weight 1
        --gan-weight 0.05 --gan-loss relativistic --ema-decay 0.999 --val-images 16 --val-every 250
        --save-every 250 --num-workers 1 --seed 0 $resume)
OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 nice -n 10 uv run train.py "${common[@]}" --output-dir "$runs/fast" \
  --lr 1e-3 --warmup-steps 200 --pixel-fraction 0.55 >>"$runs/fast.log" 2>&1 &
OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 nice -n 10 uv run train.py "${common[@]}" --output-dir "$runs/fast-real" \
  --init-from fast-psnr --degradation realistic --lr 5e-4 --warmup-steps 100 --pixel-fraction 0.45 \
  >>"$runs/fast-real.log" 2>&1 &
wait
