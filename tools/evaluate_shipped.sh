#!/usr/bin/env bash
# Evaluate every bundled model beside the baselines on held-out faces; writes docs/results/. Usage:
#   tools/evaluate_shipped.sh [DATA_DIR]
# 1. celeba-hq-256, its hash *test* split (never trained on), with speed columns (run it on a quiet machine);
# 2. the CelebA official *test* partition (100 images by name hash), quality columns only.
set -euo pipefail
cd "$(dirname "$0")/.."
data=${1:-../shared/data}
out=docs/results
mkdir -p "$out"
models=()
for name in fast fast-psnr residual-attention upsample upsample-fixed pixelshuffle-v1 pixelshuffle-v1-fixed \
            pixelshuffle-v2 pixelshuffle-v2-fixed; do
  [ -f "facesr_hub/weights/$name/config.json" ] && models+=(--model "$name")
done

uv run python -m facesr_hub.evaluate --data "$data/celeba-hq-256" --split test "${models[@]}" \
  --baseline bicubic --baseline lanczos --baseline realesrgan --baseline ldm \
  --train-data "$data/celeba-hq-256" --grid-images 3 \
  --json "$out/celeba-hq-test.json" --grid "$out/celeba-hq-test-grid.png" | tee "$out/celeba-hq-test.md"

uv run python -m facesr_hub.evaluate --data "$data/celeba" --split test --limit 100 \
  --model fast --model fast-psnr --baseline bicubic --baseline realesrgan --no-speed \
  --train-data "$data/celeba" --grid-images 3 \
  --json "$out/celeba-test.json" --grid "$out/celeba-test-grid.png" | tee "$out/celeba-test.md"
