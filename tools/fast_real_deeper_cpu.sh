#!/usr/bin/env bash
# Seventh segment of the CPU recipe, for `fast-real` (issue 10): does a deeper blind PSNR stage lift the ceiling?
# Stop 19 found the 16-conv PSNR stage (weights/fast-real-psnr, 11,070 L1 steps) flat under more L1 steps
# (tools/fast_real_psnr16_more_cpu.sh), and every GAN stage and blend flattening towards its PSNR. This deepens it
# again with tools/deepen_fast.py (Net2DeeperNet: the same function at step 0) and trains realistic L1 steps, two
# depths side by side, one thread each, nice'd, same seed (so the same validation inputs):
#   runs/fast-real-24  24 body convs (1.5x the MACs of 16)
#   runs/fast-real-32  32 body convs (2x)
# Then (GAN_MINUTES, default 50) a GAN stage for each with the shipped fast-real's losses (L1 x250 + 0.5 five-layer
# VGG16 + 0.05 relativistic PatchGAN, batch 8 at 96 px, seed 5 as in tools/fast_real_gan16_cpu.sh):
#   runs/fast-real-24-gan, runs/fast-real-32-gan
# Score them on the val faces with PSNR_STAGE=runs/fast-real-NN/model tools/choose_fast_real_blend.sh RUN ...
# Its input is the 16-conv fast-real-psnr bundled in stops 18-20; the bundled one has changed since. To reproduce,
# check that folder out of git and point INIT_FROM at it:
#   mkdir DIR && git archive 471d30f facesr_hub/weights/fast-real-psnr | tar -x --strip-components 3 -C DIR
# Usage: [GAN_MINUTES=50] [INIT_FROM=DIR] tools/fast_real_deeper_cpu.sh [RUNS_DIR] [MINUTES] [--resume]
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-runs}
minutes=${2:-50}
resume=${3:-}
init=${INIT_FROM:-facesr_hub/weights/fast-real-psnr}
data=${FACESR_DATA:-../shared/data}
mkdir -p "$runs"
source tools/background_run.sh
mapfile -t sources < <(blind_recipe_args "$data")
sources+=($resume)
mapfile -t gan_losses < <(blind_gan_args)
gan_losses+=(--gan-lr 1e-4 --pixel-weight 250 --seed 5)
for convs in 24 32; do
  deepened=$runs/deepened/fast-real-psnr-$convs
  [[ -f $deepened/model.safetensors ]] || uv run python tools/deepen_fast.py "$init" \
    --num-convs "$convs" --out "$deepened"
  background_run "$runs" "fast-real-$convs" "${sources[@]}" --arch-kwargs "{\"num_convs\":$convs}" \
    --init-from "$deepened" --pixel-fraction 1 --lr 2e-4 --batch-size 16 --patch-size 128 --max-minutes "$minutes" \
    --seed 6
done
wait
for convs in 24 32; do
  background_run "$runs" "fast-real-$convs-gan" "${sources[@]}" --arch-kwargs "{\"num_convs\":$convs}" \
    --init-from "$runs/fast-real-$convs/model" "${gan_losses[@]}" --max-minutes "${GAN_MINUTES:-50}"
done
wait
