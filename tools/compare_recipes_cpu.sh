#!/usr/bin/env bash
# Side-by-side measurements behind the shipped recipe's choices, each from scratch on the shipped recipe's four sources,
# L1 only, one thread per run, then scored on held-out true-256 faces (the celebamask-hq-256 hash test split, never
# trained on). Usage: tools/compare_recipes_cpu.sh [RUNS_DIR] [STEPS] [NAMES...]
#   native      fast, 8 body convs, HR patches cut from each source's own pixels (the default)
#   resized     the same, HR patches cut from every source resized to 256 first (CelebA 178 px, UTKFace 200 px upsampled)
#   convs16     fast with its 16-conv default, given half of `native`'s steps: a 16-conv step costs about twice an
#               8-conv one on this CPU (the logs' s/step show the measured ratio), so both get about the same CPU time;
#               the question is which depth learns more per CPU minute
#   true256-half  native, but half the batches from the true-256 faces (celeba-hq-256 + celebamask-hq-256), each
#               root in proportion to its size (--source-weights; uniform by image gives them 32%)
#   true256-only  native, all batches from the true-256 faces (CelebA and UTKFace get weight 0)
# Scores: tools/compare_recipes_cpu.sh only trains; run tools/score_recipes.sh RUNS_DIR afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-runs/recipes}
steps=${2:-900}
shift $(( $# > 2 ? 2 : $# ))
names=("$@")
[ ${#names[@]} -gt 0 ] || names=(native resized convs16)
data=${FACESR_DATA:-../shared/data}
mkdir -p "$runs"
common=(--data "$data/celeba" --data "$data/utkface" --data "$data/celeba-hq-256" --data "$data/celebamask-hq-256"
        --batch-size 16 --patch-size 128 --lr 1e-3 --warmup-steps 200 --ema-decay 0.999 --val-images 16
        --val-every 100000 --save-every 100000 --num-workers 1 --seed 0 --pixel-fraction 1)
for name in "${names[@]}"; do
  case $name in
    native)  extra=(--arch-kwargs '{"num_convs":8}' --hr-source native --pixel-steps "$steps" --gan-steps 0) ;;
    resized) extra=(--arch-kwargs '{"num_convs":8}' --hr-source resized --pixel-steps "$steps" --gan-steps 0) ;;
    convs16) extra=(--arch-kwargs '{}' --hr-source native --pixel-steps "$((steps / 2))" --gan-steps 0) ;;
    # Train-split sizes: celeba 4,560, utkface 6,000, celeba-hq-256 363, celebamask-hq-256 4,711 (order of --data).
    true256-half) extra=(--arch-kwargs '{"num_convs":8}' --hr-source native --pixel-steps "$steps" --gan-steps 0
                         --source-weights 0.2159 0.2841 0.0358 0.4642) ;;
    true256-only) extra=(--arch-kwargs '{"num_convs":8}' --hr-source native --pixel-steps "$steps" --gan-steps 0
                         --source-weights 0 0 363 4711) ;;
    *) echo "unknown run: $name" >&2; exit 2 ;;
  esac
  OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 nice -n 10 uv run train.py "${common[@]}" --arch fast "${extra[@]}" \
    --output-dir "$runs/$name" >>"$runs/$name.log" 2>&1 && echo "done: $name" || echo "FAILED: $name"
done
