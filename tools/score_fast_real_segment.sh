#!/usr/bin/env bash
# Score the runs of tools/fast_real_segment_cpu.sh and tools/fast_real_gan16_cpu.sh (and any weight blends saved under
# RUNS/blends by tools/fidelity_points.py --psnr) against the shipped fast-real / fast-real-psnr on realistic inputs
# (degradation seed 0), bicubic and Real-ESRGAN x4plus in the same run, quality columns only, two sets side by side
# (one thread each): the 19 CelebA-HQ test faces of the README's realistic table, and 100 faces of the
# celebamask-hq-256 hash *test* split (more faces, so smaller differences stand out). Neither was trained on (checked).
# Usage: tools/score_fast_real_segment.sh [RUNS_DIR] [OUT_PREFIX]
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-runs}
out=${2:-docs/results/fast-real-segment}
data=${FACESR_DATA:-../shared/data}
models=(--model fast-real --model fast-real-psnr)
# The PSNR-stage runs of tools/fast_real_segment_cpu.sh, then every GAN run of tools/fast_real_gan16_cpu.sh.
for run in "$runs/fast-real-4" "$runs/fast-real-16" "$runs"/fast-real-16-*; do
  [ -f "$run/model/config.json" ] && models+=(--model "$run/model")
done
for blend in "$runs"/blends/*/; do
  [ -f "$blend/config.json" ] && models+=(--model "${blend%/}")
done
train_data=(--train-data "$data/celeba-hq-256" --train-data "$data/celebamask-hq-256")
common=(--degradation realistic --degradation-seed 0 "${models[@]}" --baseline bicubic --baseline realesrgan --no-speed
        "${train_data[@]}" --grid-images 3)
export OMP_NUM_THREADS=1
uv run python -m facesr_hub.evaluate --data "$data/celeba-hq-256" --split test "${common[@]}" \
  --json "$out-celeba-hq.json" --grid "$out-celeba-hq-grid.png" >"$out-celeba-hq.md" &
uv run python -m facesr_hub.evaluate --data "$data/celebamask-hq-256" --split test --limit 100 "${common[@]}" \
  --json "$out-celebamask-hq.json" --grid "$out-celebamask-hq-grid.png" >"$out-celebamask-hq.md" &
wait
cat "$out-celeba-hq.md" "$out-celebamask-hq.md"
