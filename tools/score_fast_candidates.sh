#!/usr/bin/env bash
# Score candidates for the shipped `fast-psnr` / `fast` pair on 60 faces of the celebamask-hq-256 *val* split (never
# the test faces the README reports), clean bicubic inputs, bicubic and the shipped pair in the same run, every row in
# one run. GAN-stage candidates are each run alone and its weight blends towards PSNR_STAGE at F (FRACTIONS: ESRGAN
# network interpolation, the app's fidelity slider). PSNR_STAGE is the blend partner: the bundled `fast-psnr` (the
# default) or a run's folder, which is then also the candidate for `fast-psnr`. Then applies the rule written before
# the scores (tools/pick_fast_pair.py).
# Usage: [FRACTIONS="0.1 0.2"] [PSNR_STAGE=runs/x/model] tools/score_fast_candidates.sh OUT RUNS_DIR GAN_RUN_NAME...
#   e.g. tools/score_fast_candidates.sh docs/results/fast-gan-val runs fast-gan-l1x1 fast-gan-l1x10
# Writes OUT.md, OUT.json and the blends under RUNS_DIR/blends-val-fast.
set -euo pipefail
cd "$(dirname "$0")/.."
(($# >= 3)) || { echo "usage: tools/score_fast_candidates.sh OUT RUNS_DIR GAN_RUN_NAME..." >&2; exit 2; }
out=$1 runs=$2
shift 2
data=${FACESR_DATA:-../shared/data}
psnr_stage=${PSNR_STAGE:-fast-psnr}
read -ra fractions <<<"${FRACTIONS:-0.05 0.10 0.15 0.20}"
# tools/fidelity_points.py names each blend's folder with two decimals (0.1 -> -f0.10): spell the fractions the same way.
for i in "${!fractions[@]}"; do fractions[i]=$(printf '%.2f' "${fractions[i]}"); done
models=(--model fast-psnr --model fast)
pick=()
if [[ $psnr_stage != fast-psnr ]]; then
  models+=(--model "$psnr_stage")
  pick+=(--psnr-candidate "$psnr_stage")
fi
gan=()
for name in "$@"; do
  uv run python tools/fidelity_points.py "$runs/$name/model" --psnr "$psnr_stage" --fidelity "${fractions[@]}" \
    --out "$runs/blends-val-fast"
  gan+=("$runs/$name/model")
  for f in "${fractions[@]}"; do gan+=("$runs/blends-val-fast/$name-f$f"); done
done
for row in "${gan[@]}"; do models+=(--model "$row"); done
uv run python -m facesr_hub.evaluate --data "$data/celebamask-hq-256" --split val --limit 60 "${models[@]}" \
  --baseline bicubic --no-speed --grid-images 0 --json "$out.json" >"$out.md"
cat "$out.md"
uv run python tools/pick_fast_pair.py "$out.json" "${pick[@]}" --gan-candidate "${gan[@]}"
