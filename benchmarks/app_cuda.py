"""The demo's own inference functions on CUDA (float16) beside the CPU path (float32): latency and agreement.

    uv run python benchmarks/app_cuda.py                 # bundled weights (facesr_hub/weights/ or $FACESR_WEIGHTS_DIR)
    uv run python benchmarks/app_cuda.py --model quality --repeats 10

For each mode (aligned face, whole photo with the fast-generator background) it runs
``facesr_hub.app.service.upscale_file`` exactly as the app does, through ``ModelRegistry`` (models loaded once,
before timing), and prints the median latency per request on each device and the PSNR of the CUDA output against
the CPU output, which must exceed 40 dB (float16 should change results by less than about one 8-bit level).
Without trained weights for the model it falls back to randomly initialised full-size ones (and says so).
Exits with a message, and status 1, when no CUDA GPU is visible.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from facesr_hub import GENERATORS
from facesr_hub.app.models import ModelRegistry, discover_models
from facesr_hub.app.service import MODE_ALIGNED, MODE_PHOTO, UpscaleOptions, UpscaleResult, upscale_file

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "examples"
CELEBA = REPO.parent / "shared" / "data" / "celeba" / "img_align_celeba" / "img_align_celeba"
MIN_PSNR_DB = 40.0


def psnr(a: Image.Image, b: Image.Image) -> float:
    x, y = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    mse = float(np.mean((x - y) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(255.0**2 / mse)


def make_inputs(folder: Path) -> dict[str, list[Path]]:
    """Aligned faces: the bundled 64x64 examples. Photos: one CelebA photo and a 2x2 group of four."""
    faces = sorted(EXAMPLES.glob("*.png"))
    if CELEBA.is_dir():
        sources = [Image.open(p).convert("RGB") for p in sorted(CELEBA.glob("*.jpg"))[:4]]
    else:  # no CelebA photos on this machine: enlarged examples still hold detectable faces
        sources = [Image.open(p).convert("RGB").resize((256, 256), Image.BICUBIC) for p in faces[:4]]
    width, height = sources[0].size
    group = Image.new("RGB", (2 * width, 2 * height))
    for k, source in enumerate(sources):
        group.paste(source.resize((width, height)), ((k % 2) * width, (k // 2) * height))
    single, grid = folder / "photo_single.png", folder / "photo_group.png"
    sources[0].save(single)
    group.save(grid)
    return {MODE_ALIGNED: faces, MODE_PHOTO: [single, grid]}


def random_weights(folder: Path, model: str) -> None:
    """Full-size random ``model`` and ``model-psnr`` (last layers perturbed: zero-initialised ones are bicubic)."""
    for seed, name in enumerate((model, model + "-psnr")):
        torch.manual_seed(seed)
        generator = GENERATORS[model]()
        with torch.no_grad():
            for parameter in generator.parameters():
                parameter.add_(torch.randn_like(parameter) * 1e-3)
        generator.save_pretrained(folder / name)


def run(registry: ModelRegistry, options: UpscaleOptions, paths: list[Path], repeats: int
        ) -> tuple[list[float], list[UpscaleResult]]:
    """Median wall time per request (seconds) for each input, and each result, after one warm-up request."""
    medians, results = [], []
    for path in paths:
        result = upscale_file(path, options, registry)  # warm-up: model load, cuDNN autotuning, allocator
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            result = upscale_file(path, options, registry)  # returns PIL: the GPU work is finished
            times.append(time.perf_counter() - start)
        medians.append(statistics.median(times))
        results.append(result)
    return medians, results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="fast", help="catalog name of the face model (default fast)")
    parser.add_argument("--repeats", type=int, default=5, help="timed requests per input (default 5)")
    parser.add_argument("--device", default="cuda", help="device to compare with the CPU (default cuda)")
    args = parser.parse_args(argv)
    if torch.device(args.device).type == "cuda" and not torch.cuda.is_available():
        print("benchmarks/app_cuda.py: no CUDA GPU is visible, so there is nothing to compare; "
              "run it on a machine with an NVIDIA GPU.", file=sys.stderr)
        return 1

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        catalog = discover_models()
        needed = {args.model, "fast"}
        if not needed <= set(catalog.names):
            if args.model not in GENERATORS:
                print(f"no weights for {args.model!r} and it is not an architecture name", file=sys.stderr)
                return 1
            print(f"note: no trained weights for {sorted(needed - set(catalog.names))}: using random full-size "
                  "weights (latency is representative, outputs are not)")
            os.environ["FACESR_WEIGHTS_DIR"] = str(tmp / "weights")
            for name in needed:
                random_weights(tmp / "weights", name)
            catalog = discover_models()
        inputs = make_inputs(tmp)
        registries = {"cpu": ModelRegistry(catalog, device="cpu"), args.device: ModelRegistry(catalog,
                                                                                          device=args.device)}
        print(f"CPU: {torch.get_num_threads()} threads; {args.device}: {registries[args.device].device_label}")
        print(f"{'mode':<13} {'input':<10} {'cpu fp32 ms':>12} {args.device + ' ms':>10} {'speed-up':>9} "
              f"{'PSNR dB':>8} {'faces':>6}")
        worst = float("inf")
        for mode, paths in inputs.items():
            options = UpscaleOptions(model=args.model, mode=mode, fidelity=0.5, background="fast",
                                     max_pixels=4096 * 4096)
            cpu_times, cpu_outputs = run(registries["cpu"], options, paths, args.repeats)
            dev_times, dev_outputs = run(registries[args.device], options, paths, args.repeats)
            for path, ct, dt, co, do in zip(paths, cpu_times, dev_times, cpu_outputs, dev_outputs, strict=True):
                with Image.open(path) as image:
                    size = f"{image.width}x{image.height}"
                agreement = psnr(co.output, do.output)
                worst = min(worst, agreement)
                print(f"{mode:<13} {size:<10} {ct * 1e3:>12.1f} {dt * 1e3:>10.1f} {ct / dt:>8.1f}x "
                      f"{agreement:>8.1f} {'' if do.num_faces is None else do.num_faces:>6}")
    if worst <= MIN_PSNR_DB:
        print(f"FAIL: {args.device} output differs from the CPU output (PSNR {worst:.1f} dB <= {MIN_PSNR_DB} dB)")
        return 1
    print(f"OK: every {args.device} output is within {worst:.1f} dB PSNR of the CPU output (> {MIN_PSNR_DB} dB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
