#!/usr/bin/env bash
# Fifth segment of the clean CPU recipe (issue 9): `fast`'s GAN stage started from the shipped 16-conv `fast-psnr`.
# Stop 23's `fast` blended two 16-conv nets deepened separately from the 8-conv pair (0.8 x the deeper GAN stage +
# 0.2 x the deeper PSNR stage); alone that GAN stage reached 0.374x bicubic's LPIPS-alex on validation faces but lost
# 0.5 dB. A GAN stage started from `fast-psnr` itself makes the pair ESRGAN's: one PSNR model and its own GAN fine-tune,
# so the fidelity slider interpolates between a net and its own descendant. In fast's losses the L1 term is about 1%
# of the generator's loss (pixel 0.023 vs perceptual 1.69 and 0.05 x g_adv 2.8 at the end of stop 23's run), so the
# second run weighs L1 x10 (about 12%): for the blind model the L1 weight was the lever that traded best (docs/history.md).
# Two runs side by side, one thread each, nice'd:
#   runs/fast-gan-l1x1   L1 x1 + VGG16 conv5_3 + 0.05 relativistic PatchGAN (fast's losses), seed 11
#   runs/fast-gan-l1x10  the same with L1 x10, seed 12
# Both: batch 8 at 96 px, lr 1e-4, fresh discriminator, EMA 0.999, 80% of batches from the true-256 faces.
# Score them (60 celebamask-hq-256 val faces, clean inputs, beside the shipped pair; each run alone and blended towards
# fast-psnr at 0.1, 0.2 and 0.3; the rule of tools/pick_fast_pair.py, unchanged since stop 23):
#   FRACTIONS="0.10 0.20 0.30" tools/score_fast_candidates.sh docs/results/fast-gan-val runs fast-gan-l1x1 fast-gan-l1x10
# Usage: tools/fast_gan_from_psnr_cpu.sh [RUNS_DIR] [MINUTES] [--resume]
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-runs}
minutes=${2:-80}
resume=${3:-}
data=${FACESR_DATA:-../shared/data}
mkdir -p "$runs"
source tools/background_run.sh
mapfile -t common < <(recipe_args "$data")
mapfile -t gan < <(fast_gan_args)
common+=("${gan[@]}" --max-minutes "$minutes" --init-from fast-psnr --gan-lr 1e-4 $resume)
background_run "$runs" fast-gan-l1x1 "${common[@]}" --pixel-weight 1 --seed 11
background_run "$runs" fast-gan-l1x10 "${common[@]}" --pixel-weight 10 --seed 12
wait
