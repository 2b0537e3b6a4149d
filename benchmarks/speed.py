"""Inference speed of every registered generator beside plain bicubic, as a markdown table.

    uv run python benchmarks/speed.py                       # all models, CPU (2 threads), CUDA too if present
    uv run python benchmarks/speed.py --models fast,quality --repeats 20 --threads 4
    python benchmarks/speed.py --models fast,quality --cuda-dtypes fp16   # the GPU bench call: half the compiles

CPU: batch 1, 64x64 input, median milliseconds per image after warm-up. CUDA (when available): images per second
at batch 64 in fp16 and bf16, eager and ``torch.compile``d. Weights are random (speed does not depend on them);
GMACs are counted on the meta device, so counting costs nothing. Each model's figures are printed as soon as they are
measured, before the table: a run stopped at a time limit (compiling `quality` takes minutes) keeps what it measured.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable

import torch
import torch.nn.functional as F

from facesr_hub import GENERATORS, count_gmacs, count_parameters

REFERENCE = "pixelshuffle-v1"  # the seed's model: the "x faster" column is relative to it
BICUBIC = "bicubic (F.interpolate)"
CUDA_DTYPES = {"fp16": torch.float16, "bf16": torch.bfloat16}


def bicubic(x: torch.Tensor) -> torch.Tensor:
    return F.interpolate(x, scale_factor=4, mode="bicubic", align_corners=False)


def median_seconds(fn: Callable[[], object], *, warmup: int, repeats: int, sync: Callable[[], None]) -> float:
    """Median wall time of ``fn`` after ``warmup`` untimed calls; ``sync`` waits for queued GPU work."""
    for _ in range(warmup):
        fn()
    sync()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        sync()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


@torch.inference_mode()
def cpu_ms(model: Callable[[torch.Tensor], torch.Tensor], size: int, warmup: int, repeats: int) -> float:
    x = torch.rand(1, 3, size, size)
    return 1e3 * median_seconds(lambda: model(x), warmup=warmup, repeats=repeats, sync=lambda: None)


@torch.inference_mode()
def cuda_images_per_second(model: Callable[[torch.Tensor], torch.Tensor], dtype: torch.dtype, size: int, batch: int,
                           warmup: int, repeats: int) -> float:
    x = torch.rand(batch, 3, size, size, device="cuda", dtype=dtype)
    return batch / median_seconds(lambda: model(x), warmup=warmup, repeats=repeats, sync=torch.cuda.synchronize)


def cuda_columns(name: str, args: argparse.Namespace) -> dict[str, str]:
    """fp16/bf16, eager/compiled images per second for one model (or bicubic) at ``args.cuda_batch``."""
    columns = {}
    for short in args.cuda_dtypes:
        dtype = CUDA_DTYPES[short]
        model = bicubic if name == BICUBIC else GENERATORS[name]().eval().to(device="cuda", dtype=dtype)
        variants = {"eager": model}
        if not args.no_compile:
            variants["compiled"] = torch.compile(model)
        for kind, fn in variants.items():
            # Compiling happens during the warm-up calls, which are not timed.
            rate = cuda_images_per_second(fn, dtype, args.size, args.cuda_batch, args.warmup + 2, args.repeats)
            columns[f"CUDA {short} {kind} img/s"] = f"{rate:,.0f}"
        del model, variants
        torch.cuda.empty_cache()
    return columns


def markdown_table(rows: list[dict[str, str]]) -> str:
    headers = list(rows[0])
    align = ["---" if header == "model" else "---:" for header in headers]
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join(align) + "|"]
    lines += ["| " + " | ".join(row.get(h, "–") for h in headers) + " |" for row in rows]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", default=",".join(GENERATORS), help="comma-separated registry names (default: all)")
    parser.add_argument("--repeats", type=int, default=10, help="timed runs per measurement (median reported)")
    parser.add_argument("--warmup", type=int, default=2, help="untimed runs first")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    parser.add_argument("--size", type=int, default=64, help="input side in pixels")
    parser.add_argument("--cuda-batch", type=int, default=64, help="batch size for the CUDA columns")
    parser.add_argument("--no-cuda", action="store_true", help="skip the CUDA columns even when a GPU exists")
    parser.add_argument("--no-compile", action="store_true", help="skip the torch.compile columns")
    parser.add_argument("--cuda-dtypes", default="fp16,bf16", help="comma-separated CUDA dtypes: fp16, bf16")
    args = parser.parse_args(argv)
    args.cuda_dtypes = [dtype.strip() for dtype in args.cuda_dtypes.split(",") if dtype.strip()]
    if not args.cuda_dtypes or set(args.cuda_dtypes) - set(CUDA_DTYPES):
        parser.error(f"--cuda-dtypes takes a comma-separated subset of {sorted(CUDA_DTYPES)}")
    names = [name.strip() for name in args.models.split(",") if name.strip()]
    if unknown := sorted(set(names) - set(GENERATORS)):
        parser.error(f"unknown models {unknown}; registered: {sorted(GENERATORS)}")
    torch.set_num_threads(args.threads)
    use_cuda = torch.cuda.is_available() and not args.no_cuda

    rows = []
    for name in [BICUBIC, *names]:
        row = {"model": name}
        if name == BICUBIC:
            row.update(params="0", gmacs="–", ms=cpu_ms(bicubic, args.size, args.warmup, args.repeats))
        else:
            with torch.device("meta"):  # shapes only: counting MACs runs no arithmetic
                row["gmacs"] = f"{count_gmacs(GENERATORS[name](), size=args.size):.2f}"
            model = GENERATORS[name]().eval()
            row.update(params=f"{count_parameters(model):,}",
                       ms=cpu_ms(model, args.size, args.warmup, args.repeats))
        if use_cuda:
            row.update(cuda_columns(name, args))
        rows.append(row)
        cuda = "".join(f", {key} {value}" for key, value in row.items() if key.startswith("CUDA"))
        print(f"measured {name}: {row['ms']:.1f} ms/img on CPU{cuda}", flush=True)

    reference_ms = next((row["ms"] for row in rows if row["model"] == REFERENCE), None)
    table = []
    for row in rows:
        ms = row.pop("ms")
        table.append({"model": row.pop("model"), "params": row.pop("params"),
                      f"GMACs / {args.size}²": row.pop("gmacs"), f"CPU ms/img ({args.threads} thr)": f"{ms:,.1f}",
                      "x faster than v1": f"{reference_ms / ms:,.1f}" if reference_ms else "–", **row})
    device = torch.cuda.get_device_name() if use_cuda else "no CUDA"
    print(f"\ntorch {torch.__version__}, CPU threads {args.threads} (load average {os.getloadavg()[0]:.1f}), "
          f"{device}; input {args.size}x{args.size}, median of {args.repeats} after {args.warmup} warm-up runs"
          + (f"; CUDA batch {args.cuda_batch}" if use_cuda else "") + "\n")
    print(markdown_table(table))


if __name__ == "__main__":
    main()
