#!/usr/bin/env bash
# Evaluate every bundled model beside the baselines on held-out faces; writes docs/results/. Usage:
#   tools/evaluate_shipped.sh [DATA_DIR]   (default $FACESR_DATA, else data/: the folder holding celeba/, utkface/, ...)
# 1. celeba-hq-256, its hash *test* split (never trained on), clean bicubic inputs, with speed columns (run it on a
#    quiet machine);
# 2. the CelebA official *test* partition (100 images by name hash), quality columns only;
# 3. the same CelebA-HQ test faces with *realistic* inputs (data.realistic_degrade, degradation seed 0): the blind
#    fast-real (and its PSNR stage) beside fast, bicubic and Real-ESRGAN x4plus; grid LR | bicubic | fast |
#    fast-real | fast-real-psnr | fast-psnr | Real-ESRGAN | HR;
# 4. the CelebA test partition with realistic inputs, quality columns only.
set -euo pipefail
cd "$(dirname "$0")/.."
data=${1:-${FACESR_DATA:-data}}
out=docs/results
mkdir -p "$out"
models=()
for name in fast fast-psnr fast-real fast-real-psnr residual-attention upsample upsample-fixed pixelshuffle-v1 pixelshuffle-v1-fixed \
            pixelshuffle-v2 pixelshuffle-v2-fixed quality; do
  [ -f "facesr_hub/weights/$name/config.json" ] && models+=(--model "$name")
done
# The realistic-input tables (parts 3 and 4): the blind pair beside fast and fast-psnr, in the grid's column order.
realistic_models=(--model fast --model fast-real --model fast-real-psnr --model fast-psnr)
# Training roots of the shipped recipe: the evaluation refuses any test image found in their training splits.
train_data=(--train-data "$data/celeba-hq-256" --train-data "$data/celebamask-hq-256")

uv run python -m facesr_hub.evaluate --data "$data/celeba-hq-256" --split test "${models[@]}" \
  --baseline bicubic --baseline lanczos --baseline realesrgan --baseline ldm \
  "${train_data[@]}" --grid-images 3 \
  --json "$out/celeba-hq-test.json" --grid "$out/celeba-hq-test-grid.png" | tee "$out/celeba-hq-test.md"

# The quality-only runs share the two cores once the timed run above is done (one thread each): the longest, part 4,
# on one core from the start; parts 2 and 3 one after the other on the other (the schedule that ends soonest).
export OMP_NUM_THREADS=1
uv run python -m facesr_hub.evaluate --data "$data/celeba" --split test --limit 100 --degradation realistic \
  --degradation-seed 0 "${realistic_models[@]}" \
  --baseline bicubic --baseline realesrgan --no-speed --train-data "$data/celeba" --grid-images 3 \
  --json "$out/celeba-test-realistic.json" --grid "$out/celeba-test-realistic-grid.png" \
  >"$out/celeba-test-realistic.md" &

uv run python -m facesr_hub.evaluate --data "$data/celeba" --split test --limit 100 \
  --model fast --model fast-psnr --model fast-real --baseline bicubic --baseline realesrgan --no-speed \
  --train-data "$data/celeba" --grid-images 3 \
  --json "$out/celeba-test.json" --grid "$out/celeba-test-grid.png" >"$out/celeba-test.md"

uv run python -m facesr_hub.evaluate --data "$data/celeba-hq-256" --split test --degradation realistic \
  --degradation-seed 0 "${realistic_models[@]}" \
  --baseline bicubic --baseline realesrgan --no-speed "${train_data[@]}" --grid-images 4 \
  --json "$out/celeba-hq-test-realistic.json" --grid "$out/celeba-hq-test-realistic-grid.png" \
  >"$out/celeba-hq-test-realistic.md"
# Every bundled card carries the clean table; the models scored on realistic inputs carry that table too (for
# fast-real, the one it is for).
uv run python tools/ship_weights.py add-eval --json "$out/celeba-hq-test.json" --table "$out/celeba-hq-test.md" \
  --grid "$out/celeba-hq-test-grid.png"
uv run python tools/ship_weights.py add-eval --json "$out/celeba-hq-test-realistic.json" \
  --table "$out/celeba-hq-test-realistic.md" --grid "$out/celeba-hq-test-realistic-grid.png" \
  --heading "## Held-out evaluation, realistic inputs" --evaluated-only
wait
cat "$out/celeba-test.md" "$out/celeba-hq-test-realistic.md" "$out/celeba-test-realistic.md"
