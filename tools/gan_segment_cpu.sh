#!/usr/bin/env bash
# Third segment of the CPU recipe (after tools/train_cpu_runs.sh and tools/continue_cpu_runs.sh): GAN stages only,
# one thread each, in the background (nice), each starting from a shipped generator. The discriminator starts
# fresh (checkpoints of earlier runs are not carried), so the generator's lr warms up while it catches up.
# Usage: tools/gan_segment_cpu.sh [RUNS_DIR] [MINUTES] [fast|fast-real|both] [--resume]
#   runs/fast-3       from weights/fast (5,078 L1 + 671 GAN steps), clean inputs, the same losses -> fast
#   runs/fast-real-3  from weights/fast-real-psnr, realistic inputs, L1 at weight 5, a multi-layer VGG perceptual
#                     loss (conv1_2, conv2_2, conv3_3, conv4_3, conv5_3, each weight 1, all x 0.5)  -> fast-real
# Why those layers: the previous fast-real's GAN stage (conv5_3 only) lowered the conv5_3 and conv4_3 distances of its
# outputs by 41% and 16% but left conv1_2..conv3_3 where the PSNR stage had them (measured on 8 realistic celebamask
# patches), and LPIPS weighs those shallow layers most. Real-ESRGAN's weights (0.1 0.1 1 1 1) would leave them
# under 2% of the loss at these feature magnitudes (0.7, 2.5, 5.7, 6.5, 6.4); equal weights give them 15%.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-runs}
minutes=${2:-95}
which=${3:-both}
resume=${4:-}
data=${FACESR_DATA:-../shared/data}
weights=facesr_hub/weights
mkdir -p "$runs"
common=(--data "$data/celeba" --data "$data/utkface" --data "$data/celeba-hq-256" --data "$data/celebamask-hq-256"
        --arch fast --arch-kwargs '{"num_convs":8}' --max-minutes "$minutes" --pixel-fraction 0
        --gan-batch-size 8 --gan-patch-size 96 --warmup-steps 100 --gan-loss relativistic --ema-decay 0.999
        --val-images 16 --val-every 250 --save-every 250 --num-workers 1 --seed 2 $resume)
source tools/background_run.sh
launch() {  # NAME ARGS...: one run of the common arguments plus ARGS (tools/background_run.sh)
  background_run "$runs" "$1" "${common[@]}" "${@:2}"
}
if [[ $which == fast || $which == both ]]; then
  launch fast-3 --init-from "$weights/fast" --gan-lr 1e-4 --d-lr 2e-4 --pixel-weight 1 --perceptual-weight 1 \
    --gan-weight 0.05
fi
if [[ $which == fast-real || $which == both ]]; then
  launch fast-real-3 --init-from "$weights/fast-real-psnr" --degradation realistic --gan-lr 1e-4 --d-lr 2e-4 \
    --pixel-weight 5 --perceptual-weight 0.5 --perceptual-layers conv1_2 conv2_2 conv3_3 conv4_3 conv5_3 --gan-weight 0.05
fi
wait
