#!/usr/bin/env bash
# Second segment of the CPU recipe (tools/train_cpu_runs.sh was the first): two runs side by side, one thread each,
# in the background (nice), each starting from the PSNR-stage weights the first segment shipped. A warm restart of
# the PSNR stage (fresh warm-up + cosine) continues the L1 training, then a GAN stage runs from its EMA weights.
# Usage: tools/continue_cpu_runs.sh [RUNS_DIR] [MINUTES] [--resume]
#   runs/fast-2       from weights/fast-psnr, clean bicubic inputs     -> fast-psnr (PSNR stage), fast (GAN stage)
#   runs/fast-real-2  from weights/fast-real-psnr, realistic inputs    -> fast-real-psnr, fast-real
# fast-real's GAN stage weighs L1 5x: the blind model is held to a PSNR target on real-photo inputs too.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-runs}
minutes=${2:-80}
resume=${3:-}
data=${FACESR_DATA:-../shared/data}
weights=facesr_hub/weights
mkdir -p "$runs"
common=(--data "$data/celeba" --data "$data/utkface" --data "$data/celeba-hq-256" --data "$data/celebamask-hq-256"
        --arch fast --arch-kwargs '{"num_convs":8}' --max-minutes "$minutes" --batch-size 16 --patch-size 128
        --gan-batch-size 8 --gan-patch-size 96 --gan-lr 2e-4 --d-lr 2e-4 --perceptual-weight 1
        --gan-weight 0.05 --gan-loss relativistic --ema-decay 0.999 --val-images 16 --val-every 250
        --save-every 250 --num-workers 1 --seed 1 $resume)
OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 nice -n 10 uv run train.py "${common[@]}" --output-dir "$runs/fast-2" \
  --init-from "$weights/fast-psnr" --lr 5e-4 --warmup-steps 100 --pixel-fraction 0.45 --pixel-weight 1 \
  >>"$runs/fast-2.log" 2>&1 &
OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 nice -n 10 uv run train.py "${common[@]}" --output-dir "$runs/fast-real-2" \
  --init-from "$weights/fast-real-psnr" --degradation realistic --lr 3e-4 --warmup-steps 100 --pixel-fraction 0.4 \
  --pixel-weight 5 >>"$runs/fast-real-2.log" 2>&1 &
wait
