"""Realistic degradations: HR -> LR the way phone photos, chat apps and old scans degrade faces.

A second-order chain in the spirit of Real-ESRGAN (Wang et al., 2021), scaled for 4x faces:

    HR -> blur -> resize to ~HR/4 -> noise -> JPEG -> [second order: blur -> resize -> noise] -> HR/4 -> JPEG -> 8 bit

Every op has a probability and every strength a range in :class:`DegradationConfig`; each sample draws its own
parameters from one ``torch.Generator`` in batch order, so a seed fixes the whole batch (and evaluation sets are
identical whatever the batch size). The ops are maintained primitives: ``torchvision.transforms.v2.functional``
``gaussian_blur`` (separate x/y sigmas for the anisotropic case), ``jpeg`` and ``torch.poisson``/``randn`` for
noise, ``torch.nn.functional.interpolate`` for resizing. They run on the tensor's device.

With every probability at 0 the chain is exactly the protocol's :func:`~facesr_hub.data.protocol.degrade`.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torchvision.transforms.v2 import functional as TF

from .protocol import SCALE, degrade

RESIZE_MODES = ("area", "bilinear", "bicubic")
DEGRADATIONS = ("bicubic", "realistic")


@dataclass(frozen=True)
class DegradationConfig:
    """Probabilities and ranges of the realistic chain. Ranges are (low, high), drawn uniformly per sample.

    Blur sigmas are in pixels of the image being blurred (HR for the first order, about LR for the second);
    resize factors are relative to HR/4 (1.0 lands on the LR size); noise sigmas are on the 0-255 scale; Poisson
    scales multiply the photon count of the image (higher: more noise), as in Real-ESRGAN.
    """

    blur_prob: float = 0.8
    blur_sigma: tuple[float, float] = (0.2, 2.5)
    anisotropic_prob: float = 0.3
    resize_prob: float = 0.7
    resize_range: tuple[float, float] = (0.6, 1.3)
    noise_prob: float = 0.6
    poisson_prob: float = 0.4  # share of noisy samples that get Poisson rather than Gaussian noise
    gaussian_sigma: tuple[float, float] = (1.0, 15.0)
    poisson_scale: tuple[float, float] = (0.05, 1.0)
    gray_noise_prob: float = 0.4
    jpeg_prob: float = 0.8
    jpeg_quality: tuple[int, int] = (40, 95)
    second_order_prob: float = 0.4
    blur2_prob: float = 0.6
    blur2_sigma: tuple[float, float] = (0.2, 1.0)
    resize2_range: tuple[float, float] = (0.7, 1.2)
    noise2_prob: float = 0.5
    gaussian2_sigma: tuple[float, float] = (1.0, 10.0)
    jpeg2_prob: float = 0.8
    jpeg2_quality: tuple[int, int] = (50, 95)

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if f.name.endswith("_prob"):
                if not 0.0 <= value <= 1.0:
                    raise ValueError(f"degradation {f.name} must be in [0, 1], got {value}")
            else:
                value = tuple(value)
                object.__setattr__(self, f.name, value)
                if len(value) != 2 or not value[0] <= value[1] or value[0] < 0:
                    raise ValueError(f"degradation {f.name} must be a range (low, high) with 0 <= low <= high, "
                                     f"got {value}")
        for name in ("jpeg_quality", "jpeg2_quality"):
            low, high = getattr(self, name)
            if low < 1 or high > 100 or low != int(low) or high != int(high):
                raise ValueError(f"degradation {name} must be whole numbers in [1, 100], got {(low, high)}")
        for name in ("resize_range", "resize2_range"):
            if getattr(self, name)[0] <= 0:
                raise ValueError(f"degradation {name} must be > 0, got {getattr(self, name)}")

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> DegradationConfig:
        """Build from JSON-style values (lists for ranges), naming any unknown key."""
        known = {f.name for f in dataclasses.fields(cls)}
        if unknown := sorted(set(values) - known):
            raise ValueError(f"unknown degradation settings {unknown}; known: {sorted(known)}")
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in values.items()})


class _Draws:
    """Per-sample random numbers from one CPU generator (same draws on any device, in a fixed order)."""

    def __init__(self, generator: torch.Generator | None) -> None:
        self.generator = generator

    def uniform(self, low: float, high: float) -> float:
        return low + (high - low) * float(torch.rand((), generator=self.generator))

    def chance(self, probability: float) -> bool:
        # Always draw, so that one op's probability does not shift the numbers every later op sees.
        return float(torch.rand((), generator=self.generator)) < probability

    def choice(self, options: tuple[str, ...]) -> str:
        return options[int(torch.randint(len(options), (), generator=self.generator))]

    def normal(self, shape: tuple[int, ...], device: torch.device) -> torch.Tensor:
        return torch.randn(shape, generator=self.generator).to(device)


def _blur(image: torch.Tensor, sigma_range: tuple[float, float], anisotropic_prob: float, draws: _Draws
          ) -> torch.Tensor:
    sigma_x = draws.uniform(*sigma_range)
    sigma_y = draws.uniform(*sigma_range) if draws.chance(anisotropic_prob) else sigma_x
    # Kernel covers +-3 sigma (odd size), as Real-ESRGAN's kernels cover theirs.
    kernel = [2 * math.ceil(3 * s) + 1 for s in (sigma_x, sigma_y)]
    return TF.gaussian_blur(image, kernel_size=kernel, sigma=[sigma_x, sigma_y])


def _resize(image: torch.Tensor, size: tuple[int, int], mode: str) -> torch.Tensor:
    if tuple(image.shape[-2:]) == size:
        return image
    kwargs: dict[str, Any] = {} if mode == "area" else {"align_corners": False, "antialias": True}
    return F.interpolate(image, size=size, mode=mode, **kwargs).clamp(0.0, 1.0)


def _noise(image: torch.Tensor, gaussian_sigma: tuple[float, float], config: DegradationConfig, draws: _Draws
           ) -> torch.Tensor:
    gray = draws.chance(config.gray_noise_prob)
    poisson = draws.chance(config.poisson_prob)
    channels = 1 if gray else image.shape[1]
    if poisson:
        scale = draws.uniform(*config.poisson_scale)
        # Photon counts of an 8-bit image: values*255 photons, noise = Poisson(counts)/counts - image, then scaled.
        base = image.mean(dim=1, keepdim=True) if gray else image
        counts = (base * 255.0).clamp_min(0.0)
        generator = draws.generator
        sample = torch.poisson(counts.cpu(), generator=generator).to(image.device)
        noise = (sample - counts) / 255.0 * scale
    else:
        sigma = draws.uniform(*gaussian_sigma) / 255.0
        noise = draws.normal((image.shape[0], channels, *image.shape[-2:]), image.device) * sigma
    return (image + noise).clamp(0.0, 1.0)  # broadcasts a grey (1-channel) noise over every channel


def _jpeg(image: torch.Tensor, quality_range: tuple[int, int], draws: _Draws) -> torch.Tensor:
    quality = int(round(draws.uniform(quality_range[0], quality_range[1])))
    as_uint8 = image.mul(255.0).round().clamp(0, 255).to(torch.uint8)
    return TF.jpeg(as_uint8, quality=quality).float().div(255.0)


def _degrade_one(hr: torch.Tensor, config: DegradationConfig, draws: _Draws) -> torch.Tensor:
    """One sample (1,C,H,W) float32 -> LR (1,C,H/4,W/4) float32 in [0,1] (not yet quantised)."""
    height, width = hr.shape[-2:]
    lr_size = (height // SCALE, width // SCALE)
    image = hr
    if draws.chance(config.blur_prob):
        image = _blur(image, config.blur_sigma, config.anisotropic_prob, draws)
    if draws.chance(config.resize_prob):
        factor = draws.uniform(*config.resize_range)
        size = (max(4, round(lr_size[0] * factor)), max(4, round(lr_size[1] * factor)))
        image = _resize(image, size, draws.choice(RESIZE_MODES))
    else:
        image = _resize(image, lr_size, "bicubic")
    if draws.chance(config.noise_prob):
        image = _noise(image, config.gaussian_sigma, config, draws)
    if draws.chance(config.jpeg_prob):
        image = _jpeg(image, config.jpeg_quality, draws)
    if draws.chance(config.second_order_prob):
        if draws.chance(config.blur2_prob):
            image = _blur(image, config.blur2_sigma, config.anisotropic_prob, draws)
        factor = draws.uniform(*config.resize2_range)
        size = (max(4, round(lr_size[0] * factor)), max(4, round(lr_size[1] * factor)))
        image = _resize(image, size, draws.choice(RESIZE_MODES))
        if draws.chance(config.noise2_prob):
            image = _noise(image, config.gaussian2_sigma, config, draws)
        image = _resize(image, lr_size, draws.choice(RESIZE_MODES))
        if draws.chance(config.jpeg2_prob):
            image = _jpeg(image, config.jpeg2_quality, draws)
    return _resize(image, lr_size, "bicubic")


def realistic_degrade(hr: torch.Tensor, config: DegradationConfig | None = None, *,
                      generator: torch.Generator | None = None) -> torch.Tensor:
    """HR batch (B,C,H,W) float in [0,1], H and W multiples of 4 -> LR (B,C,H/4,W/4), clamped and 8-bit.

    ``generator`` (a CPU generator; the default one when None) fixes every sample's degradation. Keeps ``hr``'s
    dtype and device.
    """
    if hr.ndim != 4 or not hr.is_floating_point():
        raise ValueError(f"realistic_degrade expects a float batch (B,C,H,W) in [0,1], got {hr.dtype} "
                         f"{tuple(hr.shape)}")
    height, width = hr.shape[-2:]
    if height % SCALE or width % SCALE:
        raise ValueError(f"HR height and width must be multiples of {SCALE}, got {height}x{width}")
    config = config or DegradationConfig()
    draws = _Draws(generator)
    out = [_degrade_one(hr[i:i + 1].float(), config, draws) for i in range(hr.shape[0])]
    return torch.cat(out).clamp_(0.0, 1.0).mul_(255.0).round_().div_(255.0).to(hr.dtype)


def make_lr(hr: torch.Tensor, degradation: str, *, config: DegradationConfig | None = None,
            generator: torch.Generator | None = None) -> torch.Tensor:
    """LR of an HR batch under ``degradation`` (one of ``DEGRADATIONS``): the protocol's bicubic or realistic."""
    if degradation == "bicubic":
        return degrade(hr)
    if degradation == "realistic":
        return realistic_degrade(hr, config, generator=generator)
    raise ValueError(f"degradation must be one of {DEGRADATIONS}, got {degradation!r}")


def degrade_all(images: torch.Tensor, degradation: str, *, seed: int, config: DegradationConfig | None = None,
                batch_size: int = 32) -> torch.Tensor:
    """LR float32 (N,C,H/4,W/4) of a whole uint8 HR cache, each image degraded once from ``seed``.

    The same seed gives the same LR set whatever ``batch_size`` (draws run in image order): every evaluated method
    sees identical inputs, run after run.
    """
    generator = torch.Generator().manual_seed(seed)
    parts = []
    for start in range(0, images.shape[0], batch_size):
        hr = images[start:start + batch_size].float().div(255.0)
        parts.append(make_lr(hr, degradation, config=config, generator=generator))
    return torch.cat(parts)

