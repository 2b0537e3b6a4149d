"""Interpolation baselines: torch bicubic (what every generator's skip uses) and PIL Lanczos on the 8-bit LR."""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image
from torch import nn

from ..blocks import bicubic_upscale


class BicubicUpscaler(nn.Module):
    """``torch.nn.functional.interpolate(mode="bicubic", align_corners=False)`` x4 (Keys a=-0.75), clamped to [0, 1].

    This is the same bicubic the generators add as their global skip, so "model minus bicubic" is a fair reading.
    """

    scale = 4

    def forward(self, lr: torch.Tensor) -> torch.Tensor:
        return bicubic_upscale(lr, self.scale).clamp(0, 1)


class LanczosUpscaler(nn.Module):
    """PIL ``Image.LANCZOS`` x4 on the uint8 LR image, the way an image editor would enlarge the 8-bit file.

    Runs on the CPU whatever the input device (PIL has no GPU path); the result returns to the input's device.
    The output is 8-bit, as PIL produces it.
    """

    scale = 4
    cpu_only = True  # tells the speed report that a CUDA figure would be meaningless

    def forward(self, lr: torch.Tensor) -> torch.Tensor:
        if lr.ndim != 4 or lr.shape[1] != 3:
            raise ValueError(f"expected a (B, 3, H, W) RGB batch, got shape {tuple(lr.shape)}")
        # The protocol's LR is already quantised to 8 bits, so this round trip is exact.
        batch = (lr.detach().clamp(0, 1) * 255).round().to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy()
        height, width = lr.shape[-2] * self.scale, lr.shape[-1] * self.scale
        outputs = [np.asarray(Image.fromarray(image).resize((width, height), Image.LANCZOS)) for image in batch]
        out = torch.from_numpy(np.stack(outputs)).permute(0, 3, 1, 2)  # (B, H, W, 3) -> (B, 3, H, W)
        return out.to(device=lr.device, dtype=lr.dtype) / 255
