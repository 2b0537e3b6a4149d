#!/usr/bin/env bash
# Fourth segment of the clean CPU recipe (issue 9): does depth lift `fast-psnr` and `fast` as it lifted `fast-real`?
# The 8-conv L1 stage flattened (+0.08 dB on validation over its last 2,558 steps), and for the blind model deepening
# the flat 8-conv PSNR stage to 16 body convs (tools/deepen_fast.py: Net2DeeperNet, the same function at step 0) took
# it from +1.00 to +1.24 dB where more steps had not. Two runs side by side, one thread each, nice'd:
#   runs/fast-psnr-16  the bundled fast-psnr deepened to 16 convs, clean L1 steps           -> candidate fast-psnr
#   runs/fast-16-gan   the bundled fast (its GAN stage) deepened to 16 convs, more GAN steps -> candidate fast
# Both draw 80% of their batches from the true-256 faces (the blind recipe's weights: all batches from them measured
# +0.06 dB and LPIPS-alex -0.016 at 900 steps) and keep the shipped pair's losses, so what changes is depth (and the
# sources). fast-16-gan keeps fast's GAN losses (L1 + VGG16 conv5_3 + 0.05 relativistic PatchGAN, batch 8 at 96 px)
# with a fresh discriminator. Both start from one 8-conv chain (fast is fast-psnr's GAN stage) and identity-initialised
# added convs, so their weights stay blendable by the fidelity slider.
# Score them with tools/score_fast_deeper.sh (60 celebamask-hq-256 val faces, clean inputs, beside the shipped pair).
# Usage: tools/fast_deeper_cpu.sh [RUNS_DIR] [MINUTES] [--resume]
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-runs}
minutes=${2:-100}
resume=${3:-}
data=${FACESR_DATA:-../shared/data}
mkdir -p "$runs"
source tools/background_run.sh
mapfile -t common < <(recipe_args "$data")
common+=(--arch-kwargs '{"num_convs":16}' --max-minutes "$minutes" $resume)
for name in fast-psnr fast; do
  deepened=$runs/deepened/$name-16
  [[ -f $deepened/model.safetensors ]] || uv run python tools/deepen_fast.py "$name" --num-convs 16 --out "$deepened"
done
background_run "$runs" fast-psnr-16 "${common[@]}" --init-from "$runs/deepened/fast-psnr-16" --pixel-fraction 1 \
  --lr 2e-4 --batch-size 16 --patch-size 128 --seed 9
background_run "$runs" fast-16-gan "${common[@]}" --init-from "$runs/deepened/fast-16" --pixel-fraction 0 \
  --gan-batch-size 8 --gan-patch-size 96 --gan-lr 1e-4 --d-lr 2e-4 --pixel-weight 1 --perceptual-weight 1 \
  --gan-weight 0.05 --gan-loss relativistic --seed 10
wait
