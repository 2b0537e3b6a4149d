#!/usr/bin/env bash
# Eighth segment of the CPU recipe, for `fast-real` (issue 10): a second GAN stage for the 24-conv blind model.
# Stop 20's 24-conv GAN stage (runs/fast-real-24-gan, 1,125 steps, 50 min) ended with its val LPIPS still falling;
# its cosine schedule had decayed to 0, so this starts a new stage from its EMA weights with the same losses
# (L1 x250 + 0.5 five-layer VGG16 + 0.05 relativistic PatchGAN, batch 8 at 96 px), half the generator learning
# rate (it continues, it does not start) and a fresh discriminator (the first stage's is not in the model folder),
# on one thread, nice'd. Score it with tools/choose_fast_real_blend.sh (its default PSNR stage, the bundled
# fast-real-psnr, is the 24-conv one since stop 21), then tools/pick_fast_real_blend.py.
# Usage: [NAME=fast-real-24-gan2] [PIXEL_WEIGHT=250] [SEED=7] tools/fast_real_24_gan_more_cpu.sh [RUNS_DIR] [MINUTES]
#        [INIT_FROM] [--resume]
#   NAME=fast-real-24-gan3 ... runs/fast-real-24-gan2/model: a third stage, from the second (stop 22; stop 21's
#   attempt ended before its first checkpoint)
#   NAME=fast-real-24-gan3-l400 PIXEL_WEIGHT=400 SEED=8 ...: beside it, the same stage with more L1 (the val PSNR
#   margin is the thin one), so the blend rule can choose between the two
#   NAME=fast-real-24-gan4-l400 PIXEL_WEIGHT=400 SEED=9 ... runs 78 fast-real: a fourth stage from the shipped one
#   (stop 26), and beside it the same with DISCRIMINATOR_ARGS="--discriminator unet --d-channels 32"
#   NAME=fast-real-24-gan4-unet: Real-ESRGAN's U-Net discriminator (per-pixel logits) at half its width (a quarter
#   of the cost; 64 channels would more than double this stage's CPU step) instead of the PatchGAN
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-runs}
minutes=${2:-65}
init=${3:-runs/fast-real-24-gan/model}
resume=${4:-}
data=${FACESR_DATA:-../shared/data}
mkdir -p "$runs"
source tools/background_run.sh
mapfile -t common < <(blind_recipe_args "$data")
mapfile -t gan < <(blind_gan_args)
background_run "$runs" "${NAME:-fast-real-24-gan2}" "${common[@]}" "${gan[@]}" --arch-kwargs '{"num_convs":24}' \
  ${DISCRIMINATOR_ARGS:-} $resume --init-from "$init" --gan-lr 5e-5 --pixel-weight "${PIXEL_WEIGHT:-250}" --seed "${SEED:-7}" --max-minutes "$minutes"
wait
