"""Cost columns measured in the evaluation run itself: parameters, GMACs per 64x64 input, CPU and CUDA speed."""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from ..inference import upscale_tensor
from ..data import LR_SIZE
from ..profiling import count_gmacs, count_parameters

CUDA_BATCH = 64


@dataclass(frozen=True)
class Speed:
    """``None`` where a figure does not apply (no GPU, a CPU-only baseline) or was not measured."""

    params: int
    gmacs: float | None
    cpu_ms_per_image: float | None
    cuda_images_per_s: float | None


@torch.no_grad()
def measure_gmacs(module: nn.Module, size: int = 64) -> float:
    """``facesr_hub.count_gmacs`` for networks; for weightless baselines, the same FLOP counter on a CPU input.

    Interpolation is not a convolution or matrix product, so the counter gives 0 for bicubic and Lanczos.
    """
    if next(module.parameters(), None) is not None:
        return count_gmacs(module, size)
    counter = FlopCounterMode(display=False)
    with counter:
        module(torch.rand(1, 3, size, size))
    return counter.get_total_flops() / 2e9


def _run(module: nn.Module, lr: torch.Tensor) -> torch.Tensor:
    if next(module.parameters(), None) is None:
        # Weightless baselines run where their input is (upscale_tensor would send them to the CPU).
        with torch.inference_mode():
            return module(lr).clamp_(0, 1)
    return upscale_tensor(module, lr, tile=None, batch_size=lr.shape[0])


def cpu_ms_per_image(module: nn.Module, lr: torch.Tensor, *, repeats: int = 3, min_seconds: float = 0.5,
                     max_repeats: int = 200) -> float:
    """Median wall time of batch-1 runs on the CPU (after one warm-up), with torch's current threads.

    At least ``repeats`` runs, and more (up to ``max_repeats``) until ``min_seconds`` have passed, so that
    millisecond-scale baselines get a stable median while a slow network is still timed only ``repeats`` times.
    """
    if repeats < 1 or max_repeats < repeats:
        raise ValueError(f"need 1 <= repeats <= max_repeats, got {repeats}, {max_repeats}")
    parameter = next(module.parameters(), None)
    if parameter is not None and parameter.device.type != "cpu":
        module = copy.deepcopy(module).to("cpu")  # time a CPU copy; the evaluated one stays on its device
    x = lr[:1].to("cpu")
    _run(module, x)
    times: list[float] = []
    while len(times) < repeats or (sum(times) < min_seconds and len(times) < max_repeats):
        start = time.perf_counter()
        _run(module, x)
        times.append(time.perf_counter() - start)
    return 1000 * sorted(times)[len(times) // 2]


def cuda_images_per_second(module: nn.Module, lr: torch.Tensor, *, batch_size: int = CUDA_BATCH,
                           repeats: int = 3) -> float | None:
    """Images per second at ``batch_size`` on CUDA (median of ``repeats`` runs); None without a GPU or for a
    CPU-only baseline (``module.cpu_only``)."""
    if not torch.cuda.is_available() or getattr(module, "cpu_only", False):
        return None
    device = torch.device("cuda")
    parameter = next(module.parameters(), None)
    if parameter is not None and parameter.device.type != "cuda":
        module = copy.deepcopy(module).to(device)
    x = lr.to(device).repeat((batch_size + lr.shape[0] - 1) // lr.shape[0], 1, 1, 1)[:batch_size]
    _run(module, x)
    times = []
    for _ in range(repeats):
        torch.cuda.synchronize(device)
        start = time.perf_counter()
        _run(module, x)
        torch.cuda.synchronize(device)
        times.append(time.perf_counter() - start)
    return batch_size / sorted(times)[len(times) // 2]


def measure_speed(module: nn.Module, lr: torch.Tensor, *, cpu_repeats: int = 3, cuda_repeats: int = 3) -> Speed:
    """All cost columns for one contender; ``lr`` is a batch of real LR inputs (the first is used on the CPU)."""
    return Speed(
        params=count_parameters(module),
        gmacs=measure_gmacs(module, LR_SIZE),
        cpu_ms_per_image=cpu_ms_per_image(module, lr, repeats=cpu_repeats),
        cuda_images_per_s=cuda_images_per_second(module, lr, repeats=cuda_repeats),
    )
