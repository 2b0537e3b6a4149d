#!/usr/bin/env bash
# Score the GPU-trained runs beside their bundled twins on 60 celebamask-hq-256 validation faces (clean inputs), then
# apply tools/pick_gpu_models.py's rule. The test table (tools/finish_gpu_run.sh) reports; this one decides.
# Usage: tools/score_gpu_candidates.sh [RUNS_DIR (default runs/gpu)] [OUT (default docs/results/gpu-candidates-val)]
#        [DATA_DIR (default ../shared/data)]
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-runs/gpu}
out=${2:-docs/results/gpu-candidates-val}
data=${3:-../shared/data}
models=()
for folder in "$runs"/*/model; do
  [ -f "$folder/config.json" ] || continue
  models+=(--model "$folder")
  name=$(basename "$(dirname "$folder")")
  [ -f "facesr_hub/weights/$name/config.json" ] && models+=(--model "$name")
done
[ ${#models[@]} -gt 0 ] || { echo "no runs with a model/ under $runs" >&2; exit 1; }
uv run --no-sync python -m facesr_hub.evaluate --data "$data/celebamask-hq-256" --split val --limit 60 \
  "${models[@]}" --baseline bicubic --no-speed --json "$out.json" | tee "$out.md"
uv run --no-sync python tools/pick_gpu_models.py "$out.json" --runs "$runs" | tee -a "$out.md"
