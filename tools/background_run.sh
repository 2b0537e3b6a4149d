# Sourced by the CPU recipe scripts (tools/*_cpu.sh), not run.
# background_run RUNS_DIR NAME TRAIN_ARGS...: one `train.py` run in the background on one thread at low priority (so
# two runs share the two cores and other work stays responsive), output in RUNS_DIR/NAME, log appended to
# RUNS_DIR/NAME.log (appended, so a --resume keeps the earlier part of the log).
background_run() {
  local runs=$1 name=$2; shift 2
  OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 nice -n 10 uv run train.py "$@" --output-dir "$runs/$name" \
    >>"$runs/$name.log" 2>&1 &
}

# recipe_args DATA: the training arguments every `fast`-family segment since stop 18 shares, one per line (read them
# with `mapfile -t ARRAY < <(recipe_args "$data")`): the shipped recipe's four sources with 80% of the batches from
# the true-256 faces, warm-up, EMA, validation on 16 faces, checkpoints every 250 steps, one loader worker.
recipe_args() {
  local data=$1
  printf '%s\n' --data "$data/celeba" --data "$data/utkface" --data "$data/celeba-hq-256" \
    --data "$data/celebamask-hq-256" --source-weights 0.1 0.1 0.06 0.74 --arch fast \
    --warmup-steps 100 --ema-decay 0.999 --val-images 16 --val-every 250 --save-every 250 --num-workers 1
}

# blind_recipe_args DATA: recipe_args with realistic inputs, for every blind (`fast-real`) segment.
blind_recipe_args() {
  recipe_args "$1"
  printf '%s\n' --degradation realistic
}

# fast_gan_args: the GAN-stage arguments of every clean 16-conv `fast` segment since stop 24, one per line (`mapfile -t`
# as above): 16 body convs, batch 8 at 96 px, L1 + VGG16 conv5_3 + 0.05 relativistic PatchGAN, discriminator lr 2e-4.
# The L1 weight, the generator's learning rate, the start point and the seed are each segment's own.
fast_gan_args() {
  printf '%s\n' --arch-kwargs '{"num_convs":16}' --pixel-fraction 0 --gan-batch-size 8 --gan-patch-size 96 \
    --d-lr 2e-4 --perceptual-weight 1 --gan-weight 0.05 --gan-loss relativistic
}

# blind_gan_args: the GAN-stage arguments every blind segment shares, one per line (`mapfile -t` as above): batch 8
# at 96 px, a five-layer VGG16 perceptual loss at 0.5 and 0.05 relativistic PatchGAN, discriminator lr 2e-4. The
# L1 weight, the generator's learning rate and the seed are each segment's own.
blind_gan_args() {
  printf '%s\n' --pixel-fraction 0 --gan-batch-size 8 --gan-patch-size 96 --d-lr 2e-4 --perceptual-weight 0.5 \
    --perceptual-layers conv1_2 conv2_2 conv3_3 conv4_3 conv5_3 --gan-weight 0.05 --gan-loss relativistic
}
