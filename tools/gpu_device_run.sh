#!/usr/bin/env bash
# The command the device tool runs on a lent GPU machine (its `run`); tools/prepare_gpu_carry.py prepares what it
# carries and prints the exact calls. Two calls, the second while the machine is still warm:
#   tools/gpu_device_run.sh train   carry data/gpu-subset: tools/train_gpu.sh on the subset, then the weights and a
#                                   report packed into $OUT (at most 8 files, 16 MiB each, 64 MiB in all)
#   tools/gpu_device_run.sh bench   carry .whl, .device-extras and, the tree slimmed as it must be since stop 30
#                                   (tools/slim_tree.py), the bundled fast: the CUDA benchmarks (speed.py,
#                                   app_cuda.py, train_speed.py), one $OUT/NAME.md each, each under its own time limit
# Back here: tools/finish_gpu_run.sh FILES_AT scores the weights fully on the CPU.
#
# The device image has PyTorch, accelerate, huggingface_hub and torchmetrics but not diffusers, lpips, gradio, dlib or
# face_recognition_models, and nothing can be installed from a registry there: training and evaluation run without
# them (--no-val-lpips, --no-lpips); the benchmarks' face detector comes as a carried dlib-bin wheel and landmark file.
# Environment: FACESR_GPU_MINUTES (train_gpu.sh's budget scale; the default fits one 10-minute call: the longest run
# 7 x 0.8 min, then evaluation and packing), FACESR_GPU_SMOKE=1 (train_gpu.sh's CPU smoke run; the CPU test of this
# script), FACESR_GPU_SUBSET (default data/gpu-subset), FACESR_GPU_RUNS (default runs/gpu); train_gpu.sh's
# FACESR_GPU_MODELS and FACESR_GPU_INIT (runs continued from carried weights) pass through.
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:?usage: tools/gpu_device_run.sh train|bench}
out=${OUT:?OUT (the return folder of the device tool) is not set}
subset=${FACESR_GPU_SUBSET:-data/gpu-subset}
runs=${FACESR_GPU_RUNS:-runs/gpu}
export PYTHON=${PYTHON:-python3} PYTHONUNBUFFERED=1
# The device image has no install of this project: tools/*.py and benchmarks/*.py import facesr_hub from the tree.
export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH}
read -r -a py <<<"$PYTHON"
report=$(mktemp -d)
trap 'rm -rf "$report"' EXIT

machine() {
  { date -u; uname -a; nvidia-smi 2>&1 || echo "nvidia-smi: not found"; nproc; free -g; "${py[@]}" -c \
    "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda, torch.cuda.is_available())"; } \
    >"$report/machine.txt" 2>&1
}

case $mode in
  train)
    [ -d "$subset/train" ] || { echo "no data subset at $subset: carry it (tools/prepare_gpu_carry.py)" >&2; exit 2; }
    machine
    export FACESR_GPU_MINUTES=${FACESR_GPU_MINUTES:-0.8}
    # GPU load every 15 s: nine runs share 16 CPU cores for decoding and degrading, so the first question about the
    # table is whether the GPU was kept busy at all.
    if command -v nvidia-smi >/dev/null; then
      nvidia-smi --query-gpu=timestamp,utilization.gpu,memory.used --format=csv -l 15 >"$report/gpu-load.csv" 2>&1 &
      sampler=$!
    fi
    set +e
    FACESR_WEIGHTS_OUT="$runs/weights" FACESR_RESULTS_OUT="$report/results" tools/train_gpu.sh "$subset" "$runs" \
      2>&1 | tee "$report/train_gpu.log"
    status=${PIPESTATUS[0]}
    set -e
    [ -n "${sampler:-}" ] && kill "$sampler" 2>/dev/null
    mkdir -p "$report/logs"
    cp "$runs"/*.log "$report/logs/" 2>/dev/null || true
    names=()
    for run in "$runs"/*/; do
      [ -f "$run/model/model.safetensors" ] && names+=("$(basename "$run")")
    done
    # The report comes back even when packing fails: it holds the device's table and every log.
    if [ ${#names[@]} -gt 0 ]; then
      set +e
      "${py[@]}" tools/pack_gpu_weights.py pack --runs "$runs" --names "${names[@]}" \
        --probe "$subset/celeba-hq-256-test" --out "$out" 2>&1 | tee "$report/pack.log"
      [ "${PIPESTATUS[0]}" = 0 ] || status=1
      set -e
    fi
    tar -czf "$out/report.tar.gz" -C "$report" .
    ls -l "$out"
    exit "$status"
    ;;
  bench)
    machine
    site=$(mktemp -d)
    if ! compgen -G ".whl/*.whl" >/dev/null; then
      echo "no carried wheels in .whl: app_cuda.py's whole-photo rows need dlib-bin" >&2
    elif ! "${py[@]}" -m pip --version >/dev/null 2>&1; then
      echo "no pip in $PYTHON: the carried wheels are not installed" >&2  # (a uv venv, as in the CPU test)
    else
      "${py[@]}" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target "$site" .whl/*.whl
    fi
    # The detector's landmark model, as the face_recognition_models package would hold it (that package is 100 MB).
    if [ -f .device-extras/shape_predictor_5_face_landmarks.dat.bz2 ]; then
      mkdir -p "$site/face_recognition_models/models"
      : >"$site/face_recognition_models/__init__.py"
      bunzip2 -c .device-extras/shape_predictor_5_face_landmarks.dat.bz2 \
        >"$site/face_recognition_models/models/shape_predictor_5_face_landmarks.dat"
    fi
    export PYTHONPATH=$site${PYTHONPATH:+:$PYTHONPATH}
    status=0
    cp "$report/machine.txt" "$out/machine.txt"
    # Each benchmark has its own time limit and writes straight into $OUT, so what finished comes back even when a
    # later one runs long. Most useful first. FACESR_BENCH_SCALE scales every limit, plus 1 s so none becomes 0
    # (`timeout 0` never stops); the defaults sum to 258 s of a 270 s call. Stop 29 measured what they need on a cold
    # machine: speed.py spent 61 s on bicubic and `fast` (CUDA start, four compiles) and compiling `quality` takes
    # over a minute per dtype, hence fp16 only (the app's CUDA dtype); app_cuda.py needed 41 s for its four aligned-face
    # requests; train_speed.py --arch quality is left out: compiling its training step took 112 s (the training log's
    # img/s is its trainer figure).
    bench() {
      local name=$1 seconds=$2
      shift 2
      seconds=$(awk "BEGIN{print int($seconds * ${FACESR_BENCH_SCALE:-1}) + 1}")
      local rc=0
      timeout "$seconds" "${py[@]}" "$@" >"$out/$name.md" 2>&1 || rc=$?
      if [ "$rc" != 0 ]; then
        status=1
        echo "(exit $rc; 124: stopped at its $seconds s limit)" >>"$out/$name.md"
      fi
    }
    bench speed 150 benchmarks/speed.py --models fast,quality --repeats 5 --cuda-dtypes fp16
    bench app-cuda 60 benchmarks/app_cuda.py --repeats 3
    bench train-speed-fast 45 benchmarks/train_speed.py --arch fast --compile
    exit "$status"
    ;;
  *)
    echo "unknown mode $mode (train or bench)" >&2; exit 2
    ;;
esac
