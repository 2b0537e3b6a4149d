#!/usr/bin/env bash
# Choose how far to blend a fast-real GAN stage towards its PSNR stage (ship_weights.py bundle --interpolate) on
# *validation* faces, never on the test faces the README reports: each GAN run of tools/fast_real_gan16_cpu.sh and its
# weight blends with the bundled fast-real-psnr at F = 0.2 ... 0.5, scored on 60 faces of the celebamask-hq-256 val
# split with realistic inputs (degradation seed 0), bicubic in the same run; one job per run, one thread each.
# The rule (stop 19's, written down before its runs were scored): among the rows that meet both of issue 10's targets
# on these faces (at least 1.0 dB above bicubic, LPIPS-alex at most 0.6x bicubic's), the lowest LPIPS-alex; if no row
# meets both, the highest PSNR among the rows under 0.6x, shipped only if it beats the shipped fast-real's PSNR there.
# (Stop 17's rule, the lowest LPIPS among rows at +1.0 dB or more, could pick a row that misses the LPIPS target.)
# tools/pick_fast_real_blend.py applies the rule to this script's JSON tables (the shipped row competing too).
# Usage: [PSNR_STAGE=CHECKPOINT] [FRACTIONS="F ..."] tools/choose_fast_real_blend.sh [RUNS_DIR] [OUT_PREFIX] [RUN_NAME ...]
#   default runs: every finished GAN run of tools/fast_real_gan16_cpu.sh (all are named fast-real-16-*)
#   PSNR_STAGE: the PSNR stage to blend towards (default the bundled fast-real-psnr). Another one (a run folder such as
#   runs/fast-real-psnr16-more/model, which continued the bundled stage) is scored alone in each job too, and its
#   blends and tables are named after its run (OUT_PREFIX-RUN-with-PSNRRUN, RUNS_DIR/blends-val-PSNRRUN).
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-runs}
out=${2:-docs/results/fast-real-blend-val}
names=("${@:3}")
if ((${#names[@]} == 0)); then
  for dir in "$runs"/fast-real-16-*/; do names+=("$(basename "$dir")"); done
fi
data=${FACESR_DATA:-../shared/data}
read -ra fractions <<<"${FRACTIONS:-0.20 0.30 0.40 0.50}"  # FRACTIONS="0.20 0.30": fewer blend rows, a shorter run
psnr=${PSNR_STAGE:-fast-real-psnr}
tag= blends=$runs/blends-val psnr_row=()
if [ "$psnr" != fast-real-psnr ]; then
  psnr_run=$(basename "$(dirname "$psnr")")
  tag=-with-$psnr_run blends=$runs/blends-val-$psnr_run psnr_row=(--model "$psnr")
fi
export OMP_NUM_THREADS=1
for name in "${names[@]}"; do
  [ -f "$runs/$name/model/config.json" ] || continue
  uv run python tools/fidelity_points.py "$runs/$name/model" --psnr "$psnr" --fidelity "${fractions[@]}" \
    --out "$blends"
  models=(--model "$runs/$name/model" "${psnr_row[@]}")
  for f in "${fractions[@]}"; do models+=(--model "$blends/$name-f$f"); done
  uv run python -m facesr_hub.evaluate --data "$data/celebamask-hq-256" --split val --limit 60 \
    --degradation realistic --degradation-seed 0 "${models[@]}" --baseline bicubic --no-speed --grid-images 0 \
    --json "$out-$name$tag.json" >"$out-$name$tag.md" &
done
wait
for name in "${names[@]}"; do cat "$out-$name$tag.md" 2>/dev/null || true; done
