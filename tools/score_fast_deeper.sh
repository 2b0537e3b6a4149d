#!/usr/bin/env bash
# Score tools/fast_deeper_cpu.sh's two candidates beside the shipped `fast-psnr` and `fast` on 60 faces of the
# celebamask-hq-256 *val* split (never the test faces the README reports), clean bicubic inputs, bicubic in the same
# run, every row in one run; then apply the rule written before the scores (tools/pick_fast_pair.py).
# Usage: tools/score_fast_deeper.sh [RUNS_DIR] [OUT]
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-runs}
out=${2:-docs/results/fast-deeper-val}
data=${FACESR_DATA:-../shared/data}
uv run python -m facesr_hub.evaluate --data "$data/celebamask-hq-256" --split val --limit 60 \
  --model fast-psnr --model "$runs/fast-psnr-16/model" --model fast --model "$runs/fast-16-gan/model" \
  --baseline bicubic --no-speed --grid-images 0 --json "$out.json" >"$out.md"
cat "$out.md"
uv run python tools/pick_fast_pair.py "$out.json" --psnr-candidate "$runs/fast-psnr-16/model" \
  --gan-candidate "$runs/fast-16-gan/model"
