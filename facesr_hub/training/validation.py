"""Validation during training: metrics on whole 256x256 validation faces and a LR-bicubic | output | HR grid."""

from __future__ import annotations

from pathlib import Path

import torch
from PIL import Image
from torch import nn
from torchvision.utils import make_grid

from ..blocks import bicubic_upscale
from ..data import degrade, iter_hr_batches
from ..metrics import MetricSuite

#: Metrics logged during training (identity similarity needs dlib on CPU and is left to the evaluation script).
VAL_METRICS = ("psnr", "ssim", "psnr_y", "ssim_y", "lpips_alex")


def make_metric_suite(device: torch.device, *, lpips: bool = True) -> MetricSuite:
    """PSNR/SSIM (RGB and Y) and, with ``lpips``, LPIPS-alex, the network loaded once for the whole run."""
    return MetricSuite(device, lpips_nets=("alex",) if lpips else (), identity=False)


@torch.no_grad()
def validate(model: nn.Module, images: torch.Tensor, suite: MetricSuite, *, device: torch.device,
             batch_size: int = 16, grid_images: int = 4, lr_images: torch.Tensor | None = None
             ) -> tuple[dict[str, float], torch.Tensor | None]:
    """Mean validation metrics of ``model`` (switched to eval for the call) and a uint8 (3,H,W) sample grid.

    ``images`` is the uint8 validation cache (N,3,256,256); ``lr_images`` its LR inputs (float, made once with a
    fixed seed for realistic degradations), the protocol's ``degrade`` when None. Output is clamped to [0,1].
    The grid has one row per image: bicubic upscale of the LR input | model output | HR.
    """
    was_training = model.training
    model.eval()
    sums: dict[str, float] = {}
    rows: list[torch.Tensor] = []
    count = 0
    try:
        for start, hr in zip(range(0, images.shape[0], batch_size), iter_hr_batches(images, batch_size, device=device)):
            lr = degrade(hr) if lr_images is None else lr_images[start:start + batch_size].to(device)
            sr = model(lr).float().clamp(0, 1)
            for name, values in suite(sr, hr).items():
                sums[name] = sums.get(name, 0.0) + float(values.sum())
            count += hr.shape[0]
            if len(rows) < grid_images * 3:
                bicubic = bicubic_upscale(lr, hr.shape[-1] // lr.shape[-1]).clamp(0, 1)
                for i in range(min(hr.shape[0], grid_images - len(rows) // 3)):
                    rows += [bicubic[i].cpu(), sr[i].cpu(), hr[i].cpu()]
    finally:
        model.train(was_training)
    metrics = {name: total / count for name, total in sums.items() if name in VAL_METRICS}
    grid = None
    if rows:
        grid = make_grid(torch.stack(rows), nrow=3, padding=2, pad_value=1.0).mul(255).round().to(torch.uint8)
    return metrics, grid


def save_grid(grid: torch.Tensor, path: Path) -> None:
    """Write a uint8 (3,H,W) grid as PNG."""
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(grid.permute(1, 2, 0).numpy()).save(path)
