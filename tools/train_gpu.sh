#!/usr/bin/env bash
# One command for the day a GPU is lent: the PSNR (L1) stage of every architecture on a carried data subset, then a
# PSNR/SSIM evaluation on the held-out CelebA-HQ test split.
#   tools/train_gpu.sh SUBSET_DIR [RUNS_DIR]
# On the device it is run by tools/gpu_device_run.sh (the `run` command that tools/prepare_gpu_carry.py prints).
#
# Why PSNR stages only, and no LPIPS: the device tool carries at most 64 MiB per call and the repository alone is
# about 51 MiB, so the 59 MB of VGG16 weights the GAN stage's perceptual loss needs (and LPIPS-vgg) cannot travel,
# nor the 10 MB of AlexNet beside a useful data subset. The GPU does what it is best at, long L1 stages of the big
# models (`quality`'s RRDB, the 16-conv `fast` as `fast-psnr`, the seed layouts, all at once, each with its own
# --max-minutes planned from its measured speed; `fast-psnr` and `quality` compiled; bf16 autocast from accelerate on
# CUDA), validates on PSNR/SSIM (--no-val-lpips) and scores PSNR/SSIM (--no-lpips). The weights come back and
# tools/finish_gpu_run.sh scores them fully (LPIPS, identity, Real-ESRGAN beside) on the CPU; the GAN stages start
# from them there (tools/fast_gan_from_psnr_cpu.sh). Nothing is shipped from here: which GPU model replaces a bundled
# one is decided on those tables.
#
# Output: RUNS_DIR/<name>/ (each run), $FACESR_WEIGHTS_OUT/<name>/ (each final EMA model, default RUNS_DIR/weights),
# $FACESR_RESULTS_OUT/gpu-celeba-hq-test.{md,json} and -grid.png (default RUNS_DIR/results).
# Environment: PYTHON (default `uv run --no-sync python`; `python3` on the device image), FACESR_GPU_MINUTES (budget
# scale, default 1), FACESR_GPU_SMOKE=1 (a few steps per model with tiny batches: the CPU test of this script),
# FACESR_GPU_INIT (a folder of <name>/ model folders to start those runs from: tools/prepare_gpu_carry.py --init),
# FACESR_GPU_MODELS (space-separated names of the table below, default all: e.g. `quality` alone, to give the RRDB the
# whole GPU once the seed layouts are trained; stop 28's `quality` had 2.4 minutes and missed its target).
# `quality` takes batch 128: at batch 32 its 32-px LR patches left the H200 waiting on kernel launches (225 img/s
# eager while sharing the GPU, a few percent of the card), so four times the images cost little more per step.
set -euo pipefail
cd "$(dirname "$0")/.."
subset=${1:?usage: tools/train_gpu.sh SUBSET_DIR [RUNS_DIR]}
runs=${2:-runs/gpu}
weights_out=${FACESR_WEIGHTS_OUT:-$runs/weights}
results_out=${FACESR_RESULTS_OUT:-$runs/results}
scale=${FACESR_GPU_MINUTES:-1}
read -r -a py <<<"${PYTHON:-uv run --no-sync python}"
train_roots=()
for root in "$subset"/train/*/; do train_roots+=(--data "${root%/}"); done
[ ${#train_roots[@]} -gt 0 ] || { echo "no training folders under $subset/train/" >&2; exit 2; }
fixed='{"norm":"none","output_activation":"none","bicubic_skip":true}'
mkdir -p "$runs"

# name|arch|arch-kwargs|minutes|batch|patch|extra
models=(
  "fast-psnr|fast|{\"num_convs\":16}|7|64|128|--compile"
  "quality|quality|{}|7|128|128|--compile"
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
    budget=(--pixel-steps 2 --gan-steps 0 --batch-size 2 --patch-size 32 --warmup-steps 1)
    extra=""  # torch.compile is CUDA-only in the trainer; the smoke run checks the wiring, not speed
  else
    budget=(--max-minutes "$(awk "BEGIN{print $minutes*$scale}")" --batch-size "$batch" --patch-size "$patch")
  fi
  # An earlier GPU session's weights for this run (carried in FACESR_GPU_INIT): continue from them, with a fresh
  # warm-up and cosine, since one session's minutes do not hold the whole stage (stop 29's `quality`).
  init=()
  if [ -n "${FACESR_GPU_INIT:-}" ] && [ -f "$FACESR_GPU_INIT/$name/config.json" ]; then
    init=(--init-from "$FACESR_GPU_INIT/$name")
  fi
  # --val-images 0: the subset holds hash-train files only; the held-out score comes after training.
  # shellcheck disable=SC2086  # $extra is a word list on purpose
  "${py[@]}" train.py "${train_roots[@]}" --arch "$arch" --arch-kwargs "$kwargs" --output-dir "$runs/$name" \
    --pixel-fraction 1 --val-images 0 --no-val-lpips --lr 5e-4 --ema-decay 0.999 --save-every 100000 \
    --num-workers "$workers" --seed 0 "${budget[@]}" "${init[@]}" $extra >"$runs/$name.log" 2>&1 && echo "trained: $name" || { echo "FAILED: $name"; tail -5 "$runs/$name.log"; return 1; }
}

if [ -n "${FACESR_GPU_MODELS:-}" ]; then
  chosen=()
  for name in $FACESR_GPU_MODELS; do
    match=""
    for spec in "${models[@]}"; do [ "${spec%%|*}" = "$name" ] && match=$spec; done
    [ -n "$match" ] || { echo "FACESR_GPU_MODELS: unknown model '$name' (known: ${models[*]%%|*})" >&2; exit 2; }
    chosen+=("$match")
  done
  models=("${chosen[@]}")
fi
# Data workers (decode, crop, degrade) per run: nine runs share the device's 16 cores, one run alone gets most of them.
workers=$(( ${#models[@]} == 1 ? 12 : 4 ))

pids=()
for spec in "${models[@]}"; do train_one "$spec" & pids+=($!); done
failed=0
for pid in "${pids[@]}"; do wait "$pid" || failed=1; done
[ "$failed" = 0 ] || { echo "some runs failed; see $runs/*.log"; exit 1; }

mkdir -p "$weights_out" "$results_out"
eval_models=()
for spec in "${models[@]}"; do
  name=${spec%%|*}
  rm -rf "${weights_out:?}/$name"; cp -r "$runs/$name/model" "$weights_out/$name"; eval_models+=(--model "$weights_out/$name")
done

speed=(--cpu-repeats 1)  # the CPU column is a side note on the GPU machine
[ "${FACESR_GPU_SMOKE:-0}" = 1 ] && speed=(--no-speed)  # CPU timings of 9 models would dominate the smoke run
"${py[@]}" -m facesr_hub.evaluate --data "$subset/celeba-hq-256-test" "${eval_models[@]}" \
  --baseline bicubic --baseline lanczos --no-lpips --grid-images 3 "${speed[@]}" \
  --json "$results_out/gpu-celeba-hq-test.json" --grid "$results_out/gpu-celeba-hq-test-grid.png" \
  | tee "$results_out/gpu-celeba-hq-test.md"
echo "done: weights in $weights_out, results in $results_out"
