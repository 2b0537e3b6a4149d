"""The evaluation loop: same images, same degradation, same crop and the same metrics for every contender."""

from __future__ import annotations

import math
import os
import platform
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F

from ..baselines import LDM_REPO
from ..blocks import bicubic_upscale
from ..data import HRImageCache, collect_images, degrade_all, list_files_hash
from ..data.degradations import DegradationConfig
from ..devices import resolve_device
from ..inference import upscale_tensor
from ..metrics import MetricSuite
from .contenders import Contender, load_contenders
from .overlap import check_no_training_overlap
from .speed import Speed, measure_speed

METRIC_KEYS = ("psnr", "ssim", "psnr_y", "ssim_y", "lpips_alex", "lpips_vgg", "identity")
PROTOCOL = ("HR 256x256 (data.prepare_hr); LR = data.degrade(HR): antialiased bicubic /4, clamped, 8-bit; "
            "SR clamped and quantised to 8 bits before scoring")
REALISTIC_PROTOCOL = ("HR 256x256 (data.prepare_hr); LR = data.realistic_degrade(HR) with DegradationConfig defaults "
                      "(blur, random resize, Gaussian/Poisson noise, JPEG, second order with probabilities), each "
                      "image degraded once from degradation seed {seed}, 8-bit; SR clamped and quantised to 8 bits "
                      "before scoring")


@dataclass
class Row:
    """One contender's results: mean metrics (None where not computed), per-image values, cost columns."""

    name: str
    kind: str
    description: str
    unavailable: str | None = None
    metrics: dict[str, float | None] = field(default_factory=dict)
    per_image: dict[str, list[float | None]] = field(default_factory=dict)
    speed: Speed | None = None
    notes: list[str] = field(default_factory=list)


@dataclass
class Evaluation:
    """Everything the table, the JSON and the grid need. ``grid_columns`` holds (label, uint8 (K,3,256,256))."""

    data_dir: str
    split: str
    image_names: list[str]
    files_hash: str
    protocol: str
    crop_border: int
    seed: int
    device: str
    cpu_threads: int
    environment: dict[str, str]
    rows: list[Row]
    notes: list[str] = field(default_factory=list)
    grid_columns: list[tuple[str, torch.Tensor]] = field(default_factory=list, repr=False)


def _cpu_name() -> str:
    """The CPU model from /proc/cpuinfo on Linux (platform.processor() is often empty there)."""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text(encoding="utf-8", errors="replace").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def _environment() -> dict[str, str]:
    """Versions and hardware; the load average because other processes slow CPU timings down."""
    return {"torch": torch.__version__, "python": platform.python_version(), "cpu": _cpu_name(),
            "load_average_1min": f"{os.getloadavg()[0]:.2f}" if hasattr(os, "getloadavg") else "unknown",
            "gpu": torch.cuda.get_device_name() if torch.cuda.is_available() else "none"}


def _to_uint8(x: torch.Tensor) -> torch.Tensor:
    return (x.clamp(0, 1) * 255).round().to(torch.uint8).cpu()


def _mean(values: list[float | None]) -> float | None:
    finite = [v for v in values if v is not None and math.isfinite(v)]
    return sum(finite) / len(finite) if finite else None


def _score(contender: Contender, cache: HRImageCache, lr_images: torch.Tensor, suite: MetricSuite, *,
           device: torch.device, batch_size: int, grid_images: int) -> tuple[Row, torch.Tensor]:
    """Metrics over every image (``lr_images``: their LR inputs), and the first ``grid_images`` SR outputs (uint8)."""
    row = Row(contender.name, contender.kind, contender.description)
    values: dict[str, list[float]] = {}
    kept = []
    for start in range(0, len(cache), batch_size):
        hr = cache.images[start:start + batch_size].to(device).float() / 255
        lr = lr_images[start:start + batch_size].to(device)
        sr = upscale_tensor(contender.module, lr, tile=None, batch_size=batch_size)
        sr = sr.clamp(0, 1).mul(255).round().div(255)  # as if saved as an 8-bit PNG: what a user gets
        for key, value in suite(sr, hr).items():
            values.setdefault(key, []).extend(value.tolist())
        if start < grid_images:
            kept.append(_to_uint8(sr[:grid_images - start]))
    row.per_image = {key: [v if math.isfinite(v) else None for v in values[key]] for key in METRIC_KEYS
                     if key in values}
    row.metrics = {key: _mean(vals) for key, vals in row.per_image.items()}
    if "identity" in row.per_image and (missing := row.per_image["identity"].count(None)):
        row.notes.append(f"identity: dlib found no descriptor for {missing} of {len(cache)} images (left out)")
    if not kept:
        return row, torch.empty(0, 3, *cache.images.shape[-2:], dtype=torch.uint8)
    return row, torch.cat(kept)


def evaluate(data_dir: str | os.PathLike, *, models: Sequence[str] = (), baselines: Sequence[str] = ("bicubic",),
             split: str | None = None, limit: int | None = None, batch_size: int = 8,
             device: torch.device | str | None = None, speed: bool = True, cpu_repeats: int = 3,
             grid_images: int = 4, seed: int = 0, ldm_steps: int = 100, ldm_source: str = LDM_REPO,
             train_roots: Sequence[str | os.PathLike] = (), allow_overlap: bool = False,
             suite: MetricSuite | None = None, degradation: str = "bicubic", degradation_seed: int = 0,
             degradation_config: DegradationConfig | None = None, lpips: bool = True) -> Evaluation:
    """Score models and baselines on the HR faces under ``data_dir`` (see :mod:`facesr_hub.evaluate`).

    Args:
        split: one of ``facesr_hub.data.SPLITS`` or None for every image in the folder.
        limit: evaluate this many images (picked by a hash of their names, deterministic).
        train_roots: when given, refuse (``TrainingOverlapError``) images that are in these roots' training split,
            unless ``allow_overlap`` (then the overlap is written into the notes).
        ldm_steps, ldm_source, seed: the diffusion baseline's steps, weights (Hub id or folder) and noise seed.
        suite: reuse a ``MetricSuite`` (it holds the LPIPS networks); built on ``device`` when None.
        lpips: with a suite built here, score LPIPS-alex and LPIPS-vgg (False: PSNR/SSIM/identity only, for a
            machine without the backbone weights, such as the GPU training image).
        degradation: ``"bicubic"`` (the protocol) or ``"realistic"`` (``data.realistic_degrade``); every image is
            degraded once, from ``degradation_seed``, and every contender sees those same LR images.
    """
    if batch_size < 1 or grid_images < 0 or cpu_repeats < 1:
        raise ValueError(f"batch_size and cpu_repeats must be >= 1 and grid_images >= 0, got {batch_size}, "
                         f"{cpu_repeats}, {grid_images}")
    device = resolve_device(device)
    environment = _environment()  # before the run: the load average is the other processes', not ours
    records = collect_images(data_dir, split, limit=limit)
    cache = HRImageCache.from_records(records)
    decoded = set(cache.names)
    kept = [r for r in records if r.name in decoded]
    notes = []
    if cache.skipped:
        notes.append(f"{cache.skipped} unreadable images skipped")
    if train_roots:
        overlap = check_no_training_overlap(kept, train_roots, strict=not allow_overlap)
        notes.append(overlap.summary())
    contenders = load_contenders(models, baselines, device=device, ldm_steps=ldm_steps, ldm_source=ldm_source,
                                  seed=seed)
    if suite is None:
        suite = MetricSuite(device) if lpips else MetricSuite(device, lpips_nets=())
        if not lpips:
            notes.append("LPIPS omitted (--no-lpips)")
    notes += suite.notes
    grid_images = min(grid_images, len(cache))
    lr_images = degrade_all(cache.images, degradation, seed=degradation_seed, config=degradation_config)
    lr_grid = lr_images[:grid_images]
    grid = [("LR (nearest)", _to_uint8(F.interpolate(lr_grid, scale_factor=4, mode="nearest"))),
            ("bicubic", _to_uint8(bicubic_upscale(lr_grid, 4)))]
    speed_input = lr_images[:1]
    rows = []
    for contender in contenders:
        if contender.module is None:
            rows.append(Row(contender.name, contender.kind, contender.description, unavailable=contender.unavailable))
            continue
        row, outputs = _score(contender, cache, lr_images, suite, device=device, batch_size=batch_size,
                              grid_images=grid_images)
        if speed:
            row.speed = measure_speed(contender.module, speed_input.to(device), cpu_repeats=cpu_repeats)
        if contender.name != "bicubic":  # the grid always has its own bicubic column
            grid.append((contender.name, outputs))
        rows.append(row)
    grid.append(("HR", cache.images[:grid_images].clone()))
    return Evaluation(
        data_dir=str(Path(data_dir)), split=split or "all", image_names=list(cache.names),
        files_hash=list_files_hash(kept),
        protocol=PROTOCOL if degradation == "bicubic" else REALISTIC_PROTOCOL.format(seed=degradation_seed),
        crop_border=suite.crop_border, seed=seed,
        device=str(device), cpu_threads=torch.get_num_threads(),
        environment=environment, rows=rows, notes=notes, grid_columns=grid)
