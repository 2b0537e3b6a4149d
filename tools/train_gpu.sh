#!/usr/bin/env bash
# One command for the day a GPU is lent: train every architecture on a carried data subset, evaluate, ship.
#   tools/train_gpu.sh SUBSET_DIR [RUNS_DIR]
# SUBSET_DIR comes from `tools/make_data_subset.py` (< 50 MiB, git-ignored, named in the device tool's `carry`).
# On one H100/H200 it fits in ~12 minutes of wall time: every run starts at once and shares the GPU (the small seed
# layouts leave most of it idle), each with its own --max-minutes budget planned from measured speed; `fast` (16 body
# convs) and `quality` (RRDB) use torch.compile; bf16 autocast comes from accelerate on CUDA. Then one evaluation
# run on the held-out CelebA-HQ test split (bicubic and Lanczos beside), and the models are copied into
# $FACESR_WEIGHTS_OUT (default facesr_hub/weights) with the results in $FACESR_RESULTS_OUT (default docs/results).
# Environment: PYTHON (default `uv run --no-sync python`; `python3` on the device image, with the missing packages
# carried as wheels, see the device README), FACESR_GPU_MINUTES (budget scale, default 1), FACESR_GPU_SMOKE=1 (a few
# steps per model with tiny batches: the CPU test of this script).
set -euo pipefail
cd "$(dirname "$0")/.."
subset=${1:?usage: tools/train_gpu.sh SUBSET_DIR [RUNS_DIR]}
runs=${2:-runs/gpu}
weights_out=${FACESR_WEIGHTS_OUT:-facesr_hub/weights}
results_out=${FACESR_RESULTS_OUT:-docs/results}
scale=${FACESR_GPU_MINUTES:-1}
read -r -a py <<<"${PYTHON:-uv run --no-sync python}"
train_roots=()
for root in "$subset"/train/*/; do train_roots+=(--data "${root%/}"); done
fixed='{"norm":"none","output_activation":"none","bicubic_skip":true}'
mkdir -p "$runs"

# name|arch|arch-kwargs|minutes|batch|patch|extra
models=(
  "fast|fast|{}|7|64|128|--compile"
  "quality|quality|{}|7|32|128|--compile"
  "upsample-fixed|upsample|$fixed|6|64|128|"
  "residual-attention|residual-attention|{}|6|32|128|"
  "pixelshuffle-v1-fixed|pixelshuffle-v1|$fixed|6|32|128|"
  "pixelshuffle-v2-fixed|pixelshuffle-v2|$fixed|6|32|128|"
  "upsample|upsample|{}|3|64|128|"
  "pixelshuffle-v1|pixelshuffle-v1|{}|3|32|128|"
  "pixelshuffle-v2|pixelshuffle-v2|{}|3|32|128|"
)

train_one() {
  IFS='|' read -r name arch kwargs minutes batch patch extra <<<"$1"
  if [ "${FACESR_GPU_SMOKE:-0}" = 1 ]; then
    budget=(--pixel-steps 2 --gan-steps 1 --batch-size 2 --patch-size 32 --gan-batch-size 2 --gan-patch-size 32
            --val-images 2 --warmup-steps 1)
    extra=""  # torch.compile is CUDA-only in the trainer; the smoke run checks the wiring, not speed
  else
    budget=(--max-minutes "$(awk "BEGIN{print $minutes*$scale}")" --batch-size "$batch" --patch-size "$patch"
            --gan-batch-size "$((batch / 2))" --gan-patch-size 96 --val-images 16 --val-every 2000)
  fi
  # shellcheck disable=SC2086  # $extra is a word list on purpose
  "${py[@]}" train.py "${train_roots[@]}" --arch "$arch" --arch-kwargs "$kwargs" --output-dir "$runs/$name" \
    --pixel-fraction 0.7 --lr 5e-4 --ema-decay 0.999 --save-every 100000 --num-workers 4 --seed 0 \
    "${budget[@]}" $extra >"$runs/$name.log" 2>&1 && echo "trained: $name" || { echo "FAILED: $name"; tail -5 "$runs/$name.log"; return 1; }
}

pids=()
for spec in "${models[@]}"; do train_one "$spec" & pids+=($!); done
failed=0
for pid in "${pids[@]}"; do wait "$pid" || failed=1; done
[ "$failed" = 0 ] || { echo "some runs failed; see $runs/*.log"; exit 1; }

# Ship: the final (GAN) models under their names, fast's PSNR stage as fast-psnr.
mkdir -p "$weights_out" "$results_out"
eval_models=()
for spec in "${models[@]}"; do
  name=${spec%%|*}
  rm -rf "${weights_out:?}/$name"; cp -r "$runs/$name/model" "$weights_out/$name"; eval_models+=(--model "$weights_out/$name")
done
rm -rf "${weights_out:?}/fast-psnr"; cp -r "$runs/fast/psnr-stage" "$weights_out/fast-psnr"
eval_models+=(--model "$weights_out/fast-psnr")
speed=()
[ "${FACESR_GPU_SMOKE:-0}" = 1 ] && speed=(--no-speed)  # CPU timings of 10 models would dominate the smoke run
"${py[@]}" -m facesr_hub.evaluate --data "$subset/celeba-hq-256-test" "${eval_models[@]}" \
  --baseline bicubic --baseline lanczos --grid-images 3 "${speed[@]}" \
  --json "$results_out/gpu-celeba-hq-test.json" --grid "$results_out/gpu-celeba-hq-test-grid.png" \
  | tee "$results_out/gpu-celeba-hq-test.md"
echo "done: weights in $weights_out, results in $results_out"
