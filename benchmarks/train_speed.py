"""Training throughput: the trainer's step (crops, degrade, update, EMA) beside the bare model step.

    uv run benchmarks/train_speed.py [--arch fast] [--batch-size 16] [--patch-size 128] [--steps 20] [--threads 2]

The bare step is forward + L1 + backward + Adam on one fixed, pre-made batch: the ceiling for a PSNR-stage step.
Both use the same generator, batch, patch and precision (bf16 autocast on CUDA, fp32 on CPU) in the same process.
On a GPU the trainer should reach at least 80% of the bare step's img/s; on CPU the numbers are only printed.
The GAN-stage step (perceptual + discriminator) is timed too, for reference.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time

import torch

from facesr_hub.data import degrade
from facesr_hub.generators import GENERATORS
from facesr_hub.training import TrainConfig, TrainData, Trainer, make_accelerator
from facesr_hub.training.planning import synchronize


def _time(fn, steps: int, warmup: int, device: torch.device) -> float:
    """Seconds per call of ``fn()`` after ``warmup`` calls."""
    for _ in range(warmup):
        fn()
    synchronize(device)
    start = time.perf_counter()
    for _ in range(steps):
        fn()
    synchronize(device)
    return (time.perf_counter() - start) / steps


def bare_step_seconds(config: TrainConfig, accelerator, images: torch.Tensor, steps: int, warmup: int) -> float:
    device = accelerator.device
    model = GENERATORS[config.arch](**config.arch_kwargs).to(device).train()
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr, betas=(0.9, 0.99))
    hr = images[: config.batch_size, :, : config.patch_size, : config.patch_size].to(device).float() / 255
    lr = degrade(hr)

    def step() -> None:
        with accelerator.autocast():
            loss = torch.nn.functional.l1_loss(model(lr).float(), hr)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    return _time(step, steps, warmup, device)


def trainer_step_seconds(config: TrainConfig, accelerator, images: torch.Tensor, steps: int, warmup: int,
                         stage: str) -> float:
    stage_config = TrainConfig.from_dict({**config.to_dict(), "pixel_steps": 0 if stage == "gan" else 10**6,
                                          "gan_steps": 10**6 if stage == "gan" else 0})
    trainer = Trainer(stage_config, TrainData(train=images, val=None, sources=[]), accelerator=accelerator)
    return _time(trainer.train_step, steps, warmup, accelerator.device)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--arch", default="fast", choices=sorted(GENERATORS))
    parser.add_argument("--arch-kwargs", type=json.loads, default={})
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--patch-size", type=int, default=128)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    parser.add_argument("--gan", action="store_true", help="also time the GAN-stage step")
    parser.add_argument("--compile", action="store_true", help="torch.compile (CUDA only)")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    accelerator = make_accelerator(compile=args.compile)
    # Random uint8 faces stand in for the cache: crops and updates cost the same on any pixels.
    images = torch.randint(0, 256, (64, 3, 256, 256), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    with tempfile.TemporaryDirectory() as out:
        config = TrainConfig(data=["<synthetic>"], output_dir=out, arch=args.arch, arch_kwargs=args.arch_kwargs,
                             batch_size=args.batch_size, patch_size=args.patch_size, val_images=0,
                             compile=args.compile, max_steps=10**6)
        precision = "bf16 autocast" if accelerator.device.type == "cuda" else "fp32"
        print(f"{args.arch} {json.dumps(args.arch_kwargs)} batch {args.batch_size} patch {args.patch_size} "
              f"on {accelerator.device} ({precision}, {torch.get_num_threads()} threads)")
        bare = args.batch_size / bare_step_seconds(config, accelerator, images, args.steps, args.warmup)
        trainer = args.batch_size / trainer_step_seconds(config, accelerator, images, args.steps, args.warmup, "psnr")
        print(f"bare model step      {bare:9.1f} img/s")
        print(f"trainer, PSNR stage  {trainer:9.1f} img/s  ({100 * trainer / bare:.0f}% of bare)")
        if args.gan:
            gan = args.batch_size / trainer_step_seconds(config, accelerator, images, args.steps, args.warmup, "gan")
            print(f"trainer, GAN stage   {gan:9.1f} img/s")


if __name__ == "__main__":
    main()
