#!/usr/bin/env bash
# Back from the GPU: unpack what `tools/gpu_device_run.sh train` returned and score it fully on the CPU.
#   tools/finish_gpu_run.sh FILES_AT [DATA_DIR] [RUNS_DIR]
# FILES_AT is the train call's files_at (weights.tar.part-NN, transport.json, report.tar.gz). The runs land in
# RUNS_DIR (default runs/gpu) in the layout `tools/ship_weights.py bundle --runs` reads; the device's report (its
# PSNR/SSIM table, logs, nvidia-smi) in RUNS_DIR/device-report. Then the full evaluation the device cannot run (LPIPS,
# identity, Real-ESRGAN x4plus) of every GPU model beside the bundled fast-psnr, bicubic and Real-ESRGAN x4plus, on the
# CelebA-HQ test split with clean inputs: docs/results/gpu-celeba-hq-test.{md,json} and -grid.png. Shipping is a
# separate decision (tools/ship_weights.py), made on that table; the GAN stages start from RUNS_DIR/fast-psnr/model
# (tools/fast_gan_from_psnr_cpu.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
files_at=${1:?usage: tools/finish_gpu_run.sh FILES_AT [DATA_DIR] [RUNS_DIR]}
data=${2:-../shared/data}
runs=${3:-runs/gpu}
out=${FACESR_RESULTS_OUT:-docs/results}
uv run --no-sync python tools/pack_gpu_weights.py unpack "$files_at" --runs "$runs"
# ship_weights.py bundles fast-psnr from RUNS/fast/psnr-stage (a CPU run's PSNR stage); the GPU's is its own run.
[ -d "$runs/fast-psnr/model" ] && mkdir -p "$runs/fast" && ln -sfn ../fast-psnr/model "$runs/fast/psnr-stage"
report=$(find "$files_at" -name report.tar.gz | head -1)
if [ -n "$report" ]; then
  mkdir -p "$runs/device-report" && tar -xzf "$report" -C "$runs/device-report"
  echo "device report: $runs/device-report (results/gpu-celeba-hq-test.md is its PSNR/SSIM table)"
fi
models=()
for folder in "$runs"/*/model; do  # (RUNS/fast has no model/: only the link above)
  [ -f "$folder/config.json" ] && models+=(--model "$folder")
done
[ ${#models[@]} -gt 0 ] || { echo "no models unpacked into $runs" >&2; exit 1; }
mkdir -p "$out"
uv run --no-sync python -m facesr_hub.evaluate --data "$data/celeba-hq-256" --split test "${models[@]}" \
  --model fast-psnr --baseline bicubic --baseline realesrgan ${FACESR_FINISH_EVAL_ARGS:-} \
  --train-data "$data/celeba-hq-256" --train-data "$data/celebamask-hq-256" --grid-images 3 \
  --json "$out/gpu-celeba-hq-test.json" --grid "$out/gpu-celeba-hq-test-grid.png" | tee "$out/gpu-celeba-hq-test.md"
