"""Inference speed of every registered generator beside plain bicubic, as a markdown table.

    uv run python benchmarks/speed.py                       # all models, CPU (2 threads), CUDA too if present
    uv run python benchmarks/speed.py --models fast,quality --repeats 20 --threads 4
    uv run python benchmarks/speed.py --models fast,fast-real,quality --photo --no-cuda   # PyTorch vs onnxruntime
    python benchmarks/speed.py --models fast,quality --cuda-dtypes fp16   # the GPU bench call: half the compiles

CPU: batch 1, 64x64 input, median milliseconds per image after warm-up, in PyTorch and in onnxruntime (the
model's ONNX export, run as ``load_generator(..., backend="onnxruntime")`` runs it, with as many threads), timed
in alternation so that both see the same machine load, and their ratio. ``--photo`` adds a whole-photo request as
the app serves it (``facesr_hub.app.service.upscale_file``: detection, three faces restored, pasted back) on a 12 MP
(4000x3000) phone-sized photo at x1, once per backend, made as ``benchmarks/app_latency.py`` makes it. CUDA (when
available): images per second at batch 64 in fp16 and bf16, eager and ``torch.compile``d. Models are registry names
(random weights: speed does not depend on them) or bundled names such as ``fast-real`` (their own config and
weights). GMACs are counted on the meta device, so counting costs nothing. Each model's figures are printed as soon
as they are measured, before the table: a run stopped at a time limit (compiling `quality` takes minutes) keeps what
it measured.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import platform
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from facesr_hub import GENERATORS, bundled_model_names, count_gmacs, count_parameters, load_generator
from facesr_hub.onnx_export import onnx_available
from facesr_hub.onnx_runtime import OnnxGenerator

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
def cuda_images_per_second(model: Callable[[torch.Tensor], torch.Tensor], dtype: torch.dtype, size: int, batch: int,
                           warmup: int, repeats: int) -> float:
    x = torch.rand(batch, 3, size, size, device="cuda", dtype=dtype)
    return batch / median_seconds(lambda: model(x), warmup=warmup, repeats=repeats, sync=torch.cuda.synchronize)


def interleaved_ms(fns: dict[str, Callable[[], object]], *, warmup: int, repeats: int) -> dict[str, float]:
    """Median milliseconds of each function, timed in turn round after round, so a change in the machine's load
    (another process, a CPU's clock) falls on all of them alike."""
    for fn in fns.values():
        for _ in range(warmup):
            fn()
    times: dict[str, list[float]] = {key: [] for key in fns}
    for _ in range(repeats):
        for key, fn in fns.items():
            start = time.perf_counter()
            fn()
            times[key].append(time.perf_counter() - start)
    return {key: 1e3 * statistics.median(values) for key, values in times.items()}


def build_model(name: str) -> nn.Module:
    """A registry architecture with random weights, or a bundled model (its own config) by name."""
    if name in GENERATORS:
        return GENERATORS[name]().eval()
    return load_generator(name, device="cpu")


def onnxruntime_file(model: nn.Module, folder: Path) -> Path:
    """``model`` exported to ONNX as the onnxruntime backend exports it (run by ``OnnxGenerator``).

    The export's parity check is skipped (tests/test_onnx.py holds it): only the speed is measured here.
    """
    from facesr_hub.onnx_export import export_onnx

    return export_onnx(model, folder / f"{id(model)}.onnx", check=False).path


def make_phone_photo(folder: Path) -> Path:
    """The 12 MP (4000x3000) photo with three real faces of ``benchmarks/app_latency.py``."""
    spec = importlib.util.spec_from_file_location("app_latency", Path(__file__).with_name("app_latency.py"))
    app_latency = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(app_latency)
    return app_latency.make_photo((4000, 3000), [(391, 400, 900, 220), (393, 1700, 700, 210),
                                                 (395, 2900, 1100, 200)], folder / "phone.jpg")


def photo_seconds(name: str, photo: Path, repeats: int) -> dict[str, float]:
    """Median seconds of a whole-photo x1 request (``upscale_file``) with ``name`` per backend, in alternation."""
    from facesr_hub.app.models import ModelRegistry, discover_models
    from facesr_hub.app.options import MODE_PHOTO, UpscaleOptions
    from facesr_hub.app.service import upscale_file

    catalog = discover_models(environ={})
    options = UpscaleOptions(model=name, mode=MODE_PHOTO, scale=1)
    registries = {backend: ModelRegistry(catalog, device="cpu", backend=backend)
                  for backend in ("torch", "onnxruntime")}
    requests = {backend: (lambda registry=registry: upscale_file(photo, options, registry))
                for backend, registry in registries.items()}
    faces = {backend: len(request().faces) for backend, request in requests.items()}  # warm-up: loads, detector
    if len(set(faces.values())) != 1:
        raise RuntimeError(f"the backends restored different numbers of faces: {faces}")
    return {backend: ms / 1e3 for backend, ms in interleaved_ms(requests, warmup=0, repeats=repeats).items()}


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
    parser.add_argument("--models", default=",".join(GENERATORS),
                        help="comma-separated registry or bundled names (default: every registry architecture)")
    parser.add_argument("--repeats", type=int, default=10, help="timed runs per measurement (median reported)")
    parser.add_argument("--warmup", type=int, default=2, help="untimed runs first")
    parser.add_argument("--threads", default="2",
                        help="CPU threads (torch and onnxruntime alike); a comma-separated list measures each")
    parser.add_argument("--size", type=int, default=64, help="input side in pixels")
    parser.add_argument("--cuda-batch", type=int, default=64, help="batch size for the CUDA columns")
    parser.add_argument("--no-cuda", action="store_true", help="skip the CUDA columns even when a GPU exists")
    parser.add_argument("--no-compile", action="store_true", help="skip the torch.compile columns")
    parser.add_argument("--cuda-dtypes", default="fp16,bf16", help="comma-separated CUDA dtypes: fp16, bf16")
    parser.add_argument("--no-onnx", action="store_true",
                        help="skip the onnxruntime columns (skipped anyway when onnx/onnxruntime are not installed)")
    parser.add_argument("--photo", action="store_true",
                        help="also time a 12 MP whole-photo request at x1 per backend (bundled models, the largest "
                             "--threads; needs the [app] extra and the CelebA-HQ faces of benchmarks/app_latency.py)")
    parser.add_argument("--photo-repeats", type=int, default=3, help="timed photo requests per backend")
    args = parser.parse_args(argv)
    args.cuda_dtypes = [dtype.strip() for dtype in args.cuda_dtypes.split(",") if dtype.strip()]
    if not args.cuda_dtypes or set(args.cuda_dtypes) - set(CUDA_DTYPES):
        parser.error(f"--cuda-dtypes takes a comma-separated subset of {sorted(CUDA_DTYPES)}")
    try:
        thread_counts = [int(t) for t in args.threads.split(",") if t.strip()]
    except ValueError:
        thread_counts = []
    if not thread_counts or min(thread_counts) < 1:
        parser.error(f"--threads takes positive integers, comma-separated; got {args.threads!r}")
    names = [name.strip() for name in args.models.split(",") if name.strip()]
    if unknown := sorted(set(names) - set(GENERATORS) - set(bundled_model_names())):
        parser.error(f"unknown models {unknown}; registered: {sorted(GENERATORS)}, bundled: {bundled_model_names()}")
    use_cuda = torch.cuda.is_available() and not args.no_cuda
    use_onnx = not args.no_onnx and onnx_available()
    if not args.no_onnx and not use_onnx:
        print("onnx/onnxruntime are not installed: no onnxruntime columns (pip install 'facesr-hub[onnx]')", flush=True)
    work = Path(tempfile.mkdtemp(prefix="facesr-speed-"))
    photo = make_phone_photo(work) if args.photo else None

    rows = []
    for name in [BICUBIC, *names]:
        row: dict = {"model": name, "ms": {}}
        model = bicubic if name == BICUBIC else build_model(name)
        if name == BICUBIC:
            row.update(params="0", gmacs="–")
        else:
            row["gmacs"] = f"{count_gmacs(model, size=args.size):.2f}"  # counted on a meta-device copy: no arithmetic
            row["params"] = f"{count_parameters(model):,}"
            onnx_file = onnxruntime_file(model, work) if use_onnx else None
        x = torch.rand(1, 3, args.size, args.size)
        for threads in thread_counts:
            torch.set_num_threads(threads)
            fns = {"torch": lambda: model(x)}
            if name != BICUBIC and onnx_file is not None:
                onnx_model = OnnxGenerator(onnx_file, config=model.config, threads=threads)
                fns["onnxruntime"] = lambda: onnx_model(x)
            with torch.inference_mode():
                row["ms"][threads] = interleaved_ms(fns, warmup=args.warmup, repeats=args.repeats)
        if photo is not None and name in bundled_model_names():
            torch.set_num_threads(max(thread_counts))
            row["photo_s"] = photo_seconds(name, photo, args.photo_repeats)
        if use_cuda:
            row.update(cuda_columns(name, args))
        rows.append(row)
        cpu = "; ".join(f"{t} thr: " + ", ".join(f"{backend} {ms:.1f}" for backend, ms in times.items())
                        for t, times in row["ms"].items())
        whole = "".join(f", 12 MP x1 photo {backend} {s:.2f} s" for backend, s in row.get("photo_s", {}).items())
        cuda = "".join(f", {key} {value}" for key, value in row.items() if key.startswith("CUDA"))
        print(f"measured {name}: ms/img on CPU ({cpu}){whole}{cuda}", flush=True)

    first = thread_counts[0]
    reference_ms = next((row["ms"][first]["torch"] for row in rows if row["model"] == REFERENCE), None)
    table = []
    for row in rows:
        times, photo_s = row.pop("ms"), row.pop("photo_s", None)
        line = {"model": row.pop("model"), "params": row.pop("params"), f"GMACs / {args.size}²": row.pop("gmacs")}
        for threads, measured in times.items():
            line[f"CPU ms/img ({threads} thr)"] = f"{measured['torch']:,.1f}"
            if use_onnx:
                ort_ms = measured.get("onnxruntime")
                line[f"onnxruntime ms/img ({threads} thr)"] = "–" if ort_ms is None else f"{ort_ms:,.1f}"
                line[f"torch / onnxruntime ({threads} thr)"] = "–" if ort_ms is None else \
                    f"{measured['torch'] / ort_ms:.2f}"
        if photo is not None:
            line["12 MP x1 photo s: torch"] = "–" if photo_s is None else f"{photo_s['torch']:.2f}"
            line["onnxruntime"] = "–" if photo_s is None else f"{photo_s['onnxruntime']:.2f}"
            line["torch / onnxruntime"] = "–" if photo_s is None else \
                f"{photo_s['torch'] / photo_s['onnxruntime']:.2f}"
        line["x faster than v1"] = f"{reference_ms / times[first]['torch']:,.1f}" if reference_ms else "–"
        table.append({**line, **row})
    device = torch.cuda.get_device_name() if use_cuda else "no CUDA"
    onnx_note = ""
    if use_onnx:
        import onnxruntime

        onnx_note = f", onnxruntime {onnxruntime.__version__}"
    threads_text = ", ".join(map(str, thread_counts))
    print(f"\ntorch {torch.__version__}{onnx_note}; CPU {cpu_name()}, threads {threads_text} (load average "
          f"{os.getloadavg()[0]:.1f}), {device}; input {args.size}x{args.size}, median of {args.repeats} after "
          f"{args.warmup} warm-up runs, backends in alternation"
          + (f"; CUDA batch {args.cuda_batch}" if use_cuda else "")
          + (f"; photo: {max(thread_counts)} threads, median of {args.photo_repeats} requests" if photo else "") + "\n")
    print(markdown_table(table))


def cpu_name() -> str:
    """The CPU's model name (``lscpu``'s "Model name"), for the figures' context."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return f"{line.split(':', 1)[1].strip()} x {os.cpu_count()}"
    except OSError:
        pass
    return f"{platform.processor() or platform.machine()} x {os.cpu_count()}"


if __name__ == "__main__":
    main()
