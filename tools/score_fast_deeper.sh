#!/usr/bin/env bash
# Score tools/fast_deeper_cpu.sh's two candidates beside the shipped `fast-psnr` and `fast` on 60 faces of the
# celebamask-hq-256 *val* split (never the test faces the README reports), clean bicubic inputs, bicubic in the same
# run, every row in one run; the GAN-stage candidates are the deeper GAN stage alone and its weight blends towards the
# deeper PSNR stage at F (FRACTIONS, default 0.05 0.10 0.15 0.20: ESRGAN network interpolation, the app's fidelity slider).
# Then apply the rule written before the scores (tools/pick_fast_pair.py).
# Usage: [FRACTIONS="0.05 0.10"] tools/score_fast_deeper.sh [RUNS_DIR] [OUT]
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-runs}
out=${2:-docs/results/fast-deeper-val}
data=${FACESR_DATA:-../shared/data}
read -ra fractions <<<"${FRACTIONS:-0.05 0.10 0.15 0.20}"
gan=("$runs/fast-16-gan/model")
uv run python tools/fidelity_points.py "$runs/fast-16-gan/model" --psnr "$runs/fast-psnr-16/model" \
  --fidelity "${fractions[@]}" --out "$runs/blends-val-fast"
for f in "${fractions[@]}"; do gan+=("$runs/blends-val-fast/fast-16-gan-f$f"); done
models=(--model fast-psnr --model "$runs/fast-psnr-16/model" --model fast)
for row in "${gan[@]}"; do models+=(--model "$row"); done
uv run python -m facesr_hub.evaluate --data "$data/celebamask-hq-256" --split val --limit 60 "${models[@]}" \
  --baseline bicubic --no-speed --grid-images 0 --json "$out.json" >"$out.md"
cat "$out.md"
uv run python tools/pick_fast_pair.py "$out.json" --psnr-candidate "$runs/fast-psnr-16/model" \
  --gan-candidate "${gan[@]}"
