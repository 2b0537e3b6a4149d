#!/usr/bin/env bash
# Choose how far to blend a fast-real GAN stage towards its PSNR stage (ship_weights.py bundle --interpolate) on
# *validation* faces, never on the test faces the README reports: each GAN run of tools/fast_real_gan16_cpu.sh and its
# weight blends with the bundled fast-real-psnr at F = 0.2 ... 0.5, scored on 60 faces of the celebamask-hq-256 val
# split with realistic inputs (degradation seed 0), bicubic in the same run; one job per run, one thread each.
# The rule, fixed before looking: the lowest LPIPS-alex among the rows at least 1.0 dB above bicubic (issue 10's PSNR
# target) on these faces.
# Usage: tools/choose_fast_real_blend.sh [RUNS_DIR] [OUT_PREFIX] [RUN_NAME ...]
#   default runs: every finished GAN run of tools/fast_real_gan16_cpu.sh (all are named fast-real-16-*)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-runs}
out=${2:-docs/results/fast-real-blend-val}
names=("${@:3}")
if ((${#names[@]} == 0)); then
  for dir in "$runs"/fast-real-16-*/; do names+=("$(basename "$dir")"); done
fi
data=${FACESR_DATA:-../shared/data}
fractions=(0.20 0.30 0.40 0.50)
export OMP_NUM_THREADS=1
for name in "${names[@]}"; do
  [ -f "$runs/$name/model/config.json" ] || continue
  uv run python tools/fidelity_points.py "$runs/$name/model" --psnr fast-real-psnr --fidelity "${fractions[@]}" \
    --out "$runs/blends-val"
  models=(--model "$runs/$name/model")
  for f in "${fractions[@]}"; do models+=(--model "$runs/blends-val/$name-f$f"); done
  uv run python -m facesr_hub.evaluate --data "$data/celebamask-hq-256" --split val --limit 60 \
    --degradation realistic --degradation-seed 0 "${models[@]}" --baseline bicubic --no-speed --grid-images 0 \
    --json "$out-$name.json" >"$out-$name.md" &
done
wait
cat "$out"-*.md
