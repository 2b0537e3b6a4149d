#!/usr/bin/env bash
# Fifth segment of the CPU recipe, for `fast-real` (issue 10): GAN stages for the 16-conv blind PSNR stage (the bundled
# fast-real-psnr, from tools/fast_real_segment_cpu.sh), two loss weightings side by side, one thread each, nice'd.
# Both use seed 5, so their validation inputs are the same and their curves compare directly.
#   runs/fast-real-16-gan      L1 x5 + 0.5 five-layer VGG16 + 0.05 relativistic PatchGAN (fast-real-4's losses)
#   runs/fast-real-16-gan-p10  the same with L1 x10: a fidelity-leaning GAN stage
# Score them (and their weight blends with fast-real-psnr: tools/fidelity_points.py RUN/model --psnr fast-real-psnr)
# with tools/score_fast_real_segment.sh.
# Usage: tools/fast_real_gan16_cpu.sh [RUNS_DIR] [MINUTES] [--resume]
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-runs}
minutes=${2:-75}
resume=${3:-}
data=${FACESR_DATA:-../shared/data}
mkdir -p "$runs"
common=(--data "$data/celeba" --data "$data/utkface" --data "$data/celeba-hq-256" --data "$data/celebamask-hq-256"
        --source-weights 0.1 0.1 0.06 0.74 --arch fast --arch-kwargs '{"num_convs":16}' --degradation realistic
        --init-from facesr_hub/weights/fast-real-psnr --pixel-fraction 0 --gan-batch-size 8 --gan-patch-size 96
        --gan-lr 1e-4 --d-lr 2e-4 --perceptual-weight 0.5 --perceptual-layers conv1_2 conv2_2 conv3_3 conv4_3 conv5_3
        --gan-weight 0.05 --gan-loss relativistic --warmup-steps 100 --ema-decay 0.999 --val-images 16
        --val-every 250 --save-every 250 --num-workers 1 --max-minutes "$minutes" --seed 5 $resume)
launch() {  # NAME ARGS...: one run, one thread, low priority, appending to RUNS/NAME.log
  local name=$1; shift
  OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 nice -n 10 uv run train.py "${common[@]}" --output-dir "$runs/$name" "$@" \
    >>"$runs/$name.log" 2>&1 &
}
launch fast-real-16-gan --pixel-weight 5
launch fast-real-16-gan-p10 --pixel-weight 10
wait
