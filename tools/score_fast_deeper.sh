#!/usr/bin/env bash
# Score tools/fast_deeper_cpu.sh's two candidates (stop 23): the deeper PSNR stage, and the deeper GAN stage alone and
# blended towards it at F (FRACTIONS, default 0.05 0.10 0.15 0.20), beside the shipped pair on 60 validation faces,
# then apply tools/pick_fast_pair.py's rule (tools/score_fast_candidates.sh does both).
# Usage: [FRACTIONS="0.05 0.10"] tools/score_fast_deeper.sh [RUNS_DIR] [OUT]
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-runs}
PSNR_STAGE="$runs/fast-psnr-16/model" exec tools/score_fast_candidates.sh "${2:-docs/results/fast-deeper-val}" \
  "$runs" fast-16-gan
