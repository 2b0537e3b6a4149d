#!/usr/bin/env bash
# Sixth segment of the CPU recipe, for `fast-real` (issue 10): more realistic-input L1 steps for the bundled 16-conv
# PSNR stage (weights/fast-real-psnr: 11,070 L1 steps in all, the last 6,774 in tools/fast_real_segment_cpu.sh).
# Stop 18 found every GAN stage and blend flattening towards this stage's PSNR, so a stronger PSNR stage is what a
# clear +1.0 dB pass on the val faces needs. Warm restart: a fresh cosine from half the last segment's lr.
# One thread, nice'd, in the background: runs/fast-real-psnr16-more.
# Measured (stop 19, AMD EPYC thread beside a GAN run): flat. Validation PSNR (EMA, 16 faces) 27.040 dB at step 250,
# 27.047 at 1,000; it was stopped at 1,250 steps and its thread given to the L1 x250 GAN stage. This 0.62 M-parameter
# network looks saturated on realistic inputs at about 11,000 L1 steps, so more of them is not the lever.
# Usage: [INIT_FROM=DIR] tools/fast_real_psnr16_more_cpu.sh [RUNS_DIR] [MINUTES] [--resume]
# Its input is the 16-conv fast-real-psnr bundled in stops 18-20; the bundled one has changed since. To reproduce,
# check that folder out of git and point INIT_FROM at it:
#   mkdir DIR && git archive 471d30f facesr_hub/weights/fast-real-psnr | tar -x --strip-components 3 -C DIR
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-runs}
minutes=${2:-80}
resume=${3:-}
data=${FACESR_DATA:-../shared/data}
mkdir -p "$runs"
source tools/background_run.sh
mapfile -t common < <(blind_recipe_args "$data")
background_run "$runs" fast-real-psnr16-more "${common[@]}" --arch-kwargs '{"num_convs":16}' \
  --init-from "${INIT_FROM:-facesr_hub/weights/fast-real-psnr}" --pixel-fraction 1 --lr 1e-4 --batch-size 16 \
  --patch-size 128 --max-minutes "$minutes" --seed 5 $resume
wait
