#!/usr/bin/env bash
# Fifth segment of the CPU recipe, for `fast-real` (issue 10): GAN stages for the 16-conv blind PSNR stage (the bundled
# fast-real-psnr, from tools/fast_real_segment_cpu.sh), two loss weightings side by side, one thread each, nice'd.
# All use seed 5, so their validation inputs are the same and their curves compare directly.
# --sweep pixel-weight (default; stop 17):
#   runs/fast-real-16-gan      L1 x5 + 0.5 five-layer VGG16 + 0.05 relativistic PatchGAN (fast-real-4's losses)
#   runs/fast-real-16-gan-p10  the same with L1 x10: a fidelity-leaning GAN stage
# --sweep fidelity (stop 18): the two axes that might trade PSNR for LPIPS better than a weight blend does, beside
# fast-real-16-gan-p10 (L1 x10, GAN 0.05). Stop 17 found L1 x10 kept 0.06 dB more than x5 at the same LPIPS.
#   runs/fast-real-16-perc     L1 x10, GAN weight 0: L1 + perceptual only (the discriminator still trains, unused)
#   runs/fast-real-16-gan-p40  L1 x40, GAN 0.05
# --sweep l1-weight (stop 19): stop 18 found L1 x40 kept 0.10 dB over x10 for 0.006 LPIPS-alex, a far better rate
# than a weight blend's (about 0.02 per 0.1 dB); does the rate hold further up?
#   runs/fast-real-16-gan-p100 L1 x100, GAN 0.05
#   runs/fast-real-16-gan-p250 L1 x250, GAN 0.05 (the L1 term then about equals the perceptual term)
# --only NAME launches just that run of the sweep (to restart one run).
# Score them (and their weight blends with fast-real-psnr: tools/fidelity_points.py RUN/model --psnr fast-real-psnr)
# with tools/score_fast_real_segment.sh.
# Usage: [INIT_FROM=DIR] tools/fast_real_gan16_cpu.sh [RUNS_DIR] [MINUTES] [--resume]
#          [--sweep pixel-weight|fidelity|l1-weight] [--only NAME]
# Its input is the 16-conv fast-real-psnr bundled in stops 18-20; the bundled one has changed since. To reproduce,
# check that folder out of git and point INIT_FROM at it:
#   mkdir DIR && git archive 471d30f facesr_hub/weights/fast-real-psnr | tar -x --strip-components 3 -C DIR
set -euo pipefail
cd "$(dirname "$0")/.."
positional=() resume= sweep=pixel-weight only=
while (($#)); do
  case $1 in
    --resume) resume=--resume ;;
    --sweep) sweep=${2:?--sweep needs pixel-weight, fidelity or l1-weight}; shift ;;
    --only) only=${2:?--only needs a run name}; shift ;;
    *) positional+=("$1") ;;
  esac
  shift
done
runs=${positional[0]:-runs}
minutes=${positional[1]:-75}
data=${FACESR_DATA:-../shared/data}
mkdir -p "$runs"
source tools/background_run.sh
mapfile -t common < <(blind_recipe_args "$data")
mapfile -t -O "${#common[@]}" common < <(blind_gan_args)
common+=(--arch-kwargs '{"num_convs":16}' --init-from "${INIT_FROM:-facesr_hub/weights/fast-real-psnr}"
         --gan-lr 1e-4 --max-minutes "$minutes" --seed 5 $resume)
launch() {  # NAME ARGS...: one run of the common arguments plus ARGS (tools/background_run.sh)
  [ -z "$only" ] || [ "$only" = "$1" ] || return 0
  background_run "$runs" "$1" "${common[@]}" "${@:2}"
}
case $sweep in
  pixel-weight) launch fast-real-16-gan --pixel-weight 5
                launch fast-real-16-gan-p10 --pixel-weight 10 ;;
  fidelity)     launch fast-real-16-perc --pixel-weight 10 --gan-weight 0
                launch fast-real-16-gan-p40 --pixel-weight 40 ;;
  l1-weight)    launch fast-real-16-gan-p100 --pixel-weight 100
                launch fast-real-16-gan-p250 --pixel-weight 250 ;;
  *) echo "unknown --sweep $sweep (pixel-weight, fidelity or l1-weight)" >&2; exit 2 ;;
esac
wait
