#!/usr/bin/env bash
# Fourth segment of the CPU recipe, for `fast-real` (issue 10): two runs side by side, one thread each, in the
# background (nice), both on realistic inputs with most batches from the true-256 faces (measured in
# docs/results/recipes.md: sampling only them gave +0.063 dB and -0.016 LPIPS-alex on held-out true-256 faces; a
# fifth of the batches still come from CelebA and UTKFace for their range of ages and photos).
# Usage: [GAN_MINUTES=40] tools/fast_real_segment_cpu.sh [RUNS_DIR] [MINUTES] [--resume]
# Its inputs are the 8-conv fast-real-psnr and fast-real bundled in stop 16 (git 6997b63); the bundled ones have
# changed since, so this script reproduces that segment only from a checkout of that commit.
#   runs/fast-real-16  PSNR stage with twice the depth: weights/fast-real-psnr deepened to 16 body convs by
#                      tools/deepen_fast.py (same function at step 0), then realistic L1 training. Asks whether the
#                      blind PSNR stage, flat at about +1.0 dB over 4,296 steps of 8 convs, is held back by capacity.
#   runs/fast-real-4   GAN stage continued from weights/fast-real (1,329 GAN steps) with its losses: more GAN steps.
# Then, once both are done (GAN_MINUTES, default 40, one thread):
#   runs/fast-real-16-gan  a GAN stage for the 16-conv PSNR stage (runs/fast-real-16/model), fast-real-4's losses.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-runs}
minutes=${2:-95}
resume=${3:-}
data=${FACESR_DATA:-../shared/data}
weights=facesr_hub/weights
mkdir -p "$runs"
deepened=$runs/deepened/fast-real-psnr-16
[[ -f $deepened/model.safetensors ]] || uv run python tools/deepen_fast.py "$weights/fast-real-psnr" --num-convs 16 \
  --out "$deepened"
source tools/background_run.sh
mapfile -t gan_losses < <(blind_gan_args)
gan_losses+=(--gan-lr 1e-4 --pixel-weight 5)
mapfile -t common < <(blind_recipe_args "$data")
common+=($resume)
launch() {  # NAME ARGS...: one run of the common arguments plus ARGS (tools/background_run.sh)
  background_run "$runs" "$1" "${common[@]}" "${@:2}"
}
launch fast-real-16 --max-minutes "$minutes" --arch-kwargs '{"num_convs":16}' --init-from "$deepened" \
  --pixel-fraction 1 --lr 2e-4 --batch-size 16 --patch-size 128 --seed 3
launch fast-real-4 --max-minutes "$minutes" --arch-kwargs '{"num_convs":8}' --init-from "$weights/fast-real" \
  "${gan_losses[@]}" --seed 4
wait
launch fast-real-16-gan --max-minutes "${GAN_MINUTES:-40}" --arch-kwargs '{"num_convs":16}' \
  --init-from "$runs/fast-real-16/model" "${gan_losses[@]}" --seed 5
wait
