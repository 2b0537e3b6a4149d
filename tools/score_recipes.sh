#!/usr/bin/env bash
# Score the runs of tools/compare_recipes_cpu.sh on held-out true-256 faces: 100 faces (by name hash) of the
# celebamask-hq-256 hash *test* split, never trained on (the evaluation checks), bicubic in the same run.
# Usage: tools/score_recipes.sh [RUNS_DIR] [OUT_PREFIX]
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-runs/recipes}
out=${2:-docs/results/recipes}
data=${FACESR_DATA:-../shared/data}
models=()
for name in native resized convs16 true256-half true256-only; do
  [ -f "$runs/$name/model/config.json" ] && models+=(--model "$runs/$name/model")
done
uv run python -m facesr_hub.evaluate --data "$data/celebamask-hq-256" --split test --limit 100 "${models[@]}" \
  --baseline bicubic --no-speed --train-data "$data/celebamask-hq-256" --train-data "$data/celeba-hq-256" \
  --grid-images 3 --json "$out.json" --grid "$out-grid.png" | tee "$out.md"
