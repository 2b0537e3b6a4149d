# Sourced by the CPU recipe scripts (tools/*_cpu.sh), not run.
# background_run RUNS_DIR NAME TRAIN_ARGS...: one `train.py` run in the background on one thread at low priority (so
# two runs share the two cores and other work stays responsive), output in RUNS_DIR/NAME, log appended to
# RUNS_DIR/NAME.log (appended, so a --resume keeps the earlier part of the log).
background_run() {
  local runs=$1 name=$2; shift 2
  OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 nice -n 10 uv run train.py "$@" --output-dir "$runs/$name" \
    >>"$runs/$name.log" 2>&1 &
}
