#!/usr/bin/env bash
# Sixth segment of the clean CPU recipe (issue 9): `fast`'s GAN stage continued. Stop 24's two GAN stages from the
# 16-conv `fast-psnr` (tools/fast_gan_from_psnr_cpu.sh, 2,614 / 2,612 steps) ended with their validation LPIPS-alex
# still falling (0.0929 -> 0.0919 over the last 600 steps of L1 x1) while the cosine schedule decayed to 0, so a
# resume would not train. This starts a new stage from each run's EMA weights with the same losses, half the
# generator learning rate (it continues, it does not start; as the blind model's second stage did) and a fresh
# discriminator (the first stage's is not in the model folder). Two runs side by side, one thread each, nice'd:
#   runs/fast-gan2-l1x1   from runs/fast-gan-l1x1/model, L1 x1, seed 13
#   runs/fast-gan2-l1x10  from runs/fast-gan-l1x10/model, L1 x10, seed 14
# Score them exactly as stop 24 (60 celebamask-hq-256 val faces, each alone and blended towards fast-psnr at 0.1, 0.2
# and 0.3, the rule of tools/pick_fast_pair.py against the shipped pair):
#   FRACTIONS="0.10 0.20 0.30" tools/score_fast_candidates.sh docs/results/fast-gan2-val runs fast-gan2-l1x1 fast-gan2-l1x10
# Usage: tools/fast_gan_more_cpu.sh [RUNS_DIR] [MINUTES] [--resume]
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-runs}
minutes=${2:-85}
resume=${3:-}
data=${FACESR_DATA:-../shared/data}
mkdir -p "$runs"
source tools/background_run.sh
mapfile -t common < <(recipe_args "$data")
mapfile -t gan < <(fast_gan_args)
common+=("${gan[@]}" --max-minutes "$minutes" --gan-lr 5e-5 $resume)
background_run "$runs" fast-gan2-l1x1 "${common[@]}" --init-from "$runs/fast-gan-l1x1/model" --pixel-weight 1 --seed 13
background_run "$runs" fast-gan2-l1x10 "${common[@]}" --init-from "$runs/fast-gan-l1x10/model" --pixel-weight 10 --seed 14
wait
