#!/usr/bin/env bash
# What the app's fidelity slider does, measured: the slider's models at fidelity 0 (the GAN model), 0.25, 0.5, 0.75
# and 1 (its PSNR stage) on the 19 CelebA-HQ test faces, bicubic in the same run. `fast` on clean inputs, `fast-real`
# on realistic ones (degradation seed 0, the same LR images as the README's realistic table). Quality columns only.
# Usage: [NAMES="fast fast-real"] tools/fidelity_curve.sh [DATA_DIR] [POINTS_DIR]
#   DATA_DIR: default $FACESR_DATA, else data/ (the folder holding celeba-hq-256/, ...)
#   NAMES=fast: only the curve of a model that changed
set -euo pipefail
cd "$(dirname "$0")/.."
data=${1:-${FACESR_DATA:-data}}
points=${2:-runs/fidelity}
out=docs/results
fidelities=(0.25 0.50 0.75)
train_data=(--train-data "$data/celeba-hq-256" --train-data "$data/celebamask-hq-256")
read -ra names <<<"${NAMES:-fast fast-real}"
for name in "${names[@]}"; do
  uv run python tools/fidelity_points.py "$name" --fidelity "${fidelities[@]}" --out "$points"
  models=(--model "$name")
  for f in "${fidelities[@]}"; do models+=(--model "$points/$name-f$f"); done
  models+=(--model "$name-psnr")
  inputs=(); [ "$name" = fast-real ] && inputs=(--degradation realistic --degradation-seed 0)
  uv run python -m facesr_hub.evaluate --data "$data/celeba-hq-256" --split test "${inputs[@]}" "${models[@]}" \
    --baseline bicubic --no-speed "${train_data[@]}" --grid-images 3 \
    --json "$out/fidelity-$name.json" --grid "$out/fidelity-$name-grid.png" > "$out/fidelity-$name.md"
done
for name in "${names[@]}"; do cat "$out/fidelity-$name.md"; done
