"""The seed project's three generator layouts, reproduced layer for layer.

The seed worked in [-1, 1] with InstanceNorm after every hidden conv and a Tanh output. Both choices shift colours
(InstanceNorm throws away each image's mean and contrast), so ``norm="none"``, ``output_activation="none"`` and a
bicubic global skip (``bicubic_skip=True``: the net predicts only the residual over bicubic) are config options;
the defaults stay the seed's so that its numbers can be reproduced.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from ..blocks import bicubic_upscale, check_choice, conv3x3, make_norm
from .base import Generator

OUTPUT_ACTIVATIONS = ("tanh", "none")


def _conv_norm_relu(in_channels: int, out_channels: int, norm: str) -> list[nn.Module]:
    return [conv3x3(in_channels, out_channels), make_norm(norm, out_channels), nn.ReLU(inplace=True)]


def _shuffle_stage(channels: int, norm: str) -> list[nn.Module]:
    """conv C -> 4C, PixelShuffle(2) back to C channels at twice the size, norm, ReLU."""
    return [conv3x3(channels, 4 * channels), nn.PixelShuffle(2), make_norm(norm, channels), nn.ReLU(inplace=True)]


class _SeedGenerator(Generator):
    """Shared [-1, 1] wrapping of the seed layouts: ``body`` maps a signed image to a signed 4x image."""

    body: nn.Sequential
    bicubic_skip: bool

    @staticmethod
    def _validate(norm: str, output_activation: str) -> None:
        check_choice("norm", norm, ("instance", "none"))
        check_choice("output_activation", output_activation, OUTPUT_ACTIVATIONS)

    @property
    def receptive_radius(self) -> int | None:
        if any(isinstance(m, nn.InstanceNorm2d) for m in self.body):
            return None  # instance norm statistics span the whole image
        # A 3x3 conv reaches 1 pixel at its own resolution: 1, 1/2 or 1/4 LR pixel before, between or after the x2
        # stages.
        radius, step = 0.0, 1.0
        for module in self.body:
            if isinstance(module, (nn.PixelShuffle, nn.Upsample)):
                step /= 2
            elif isinstance(module, nn.Conv2d):
                radius += step
        return max(math.ceil(radius), 2)  # bicubic's kernel reaches 2 LR pixels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        signed = x * 2 - 1  # 1. the seed's input range
        out = self.body(signed)  # 2. the seed's layers
        if self.bicubic_skip:  # 3. optional residual over bicubic
            out = out + bicubic_upscale(signed, self.scale)
        return (out + 1) / 2  # 4. back to [0, 1]


def _output_layers(in_channels: int, output_activation: str) -> list[nn.Module]:
    return [conv3x3(in_channels, 3)] + ([nn.Tanh()] if output_activation == "tanh" else [])


class UpsampleGenerator(_SeedGenerator):
    """Seed design 1: nearest-neighbour x2 upsample + conv + norm + ReLU, twice.

    The seed used a kernel-2, padding-1 conv after each upsample, which grows the image by one pixel per stage;
    3x3 'same' convs make the output exactly 4H x 4W.
    """

    architecture = "upsample"

    def __init__(self, *, num_features: int = 64, norm: str = "instance", output_activation: str = "tanh",
                 bicubic_skip: bool = False) -> None:
        super().__init__()
        self._validate(norm, output_activation)
        if num_features < 1:
            raise ValueError(f"num_features must be >= 1, got {num_features}")
        layers = _conv_norm_relu(3, num_features, norm)
        for _ in range(2):
            layers += [nn.Upsample(scale_factor=2, mode="nearest"), *_conv_norm_relu(num_features, num_features, norm)]
        self.body = nn.Sequential(*layers, *_output_layers(num_features, output_activation))
        self.bicubic_skip = bicubic_skip


class PixelShuffleV1(_SeedGenerator):
    """Seed v1, 7 convs: 3->128, 128->512 + PS, 128->512 + PS, then 128->256->128->64->3 at 4x size.

    1,849,987 parameters and 55.7 GMACs per 64x64 input with the defaults: the last four convs run at full output
    resolution, which is where almost all of its cost goes.
    """

    architecture = "pixelshuffle-v1"
    tail_channels: tuple[int, ...] = (256, 128, 64)

    def __init__(self, *, norm: str = "instance", output_activation: str = "tanh", bicubic_skip: bool = False) -> None:
        super().__init__()
        self._validate(norm, output_activation)
        layers = _conv_norm_relu(3, 128, norm) + _shuffle_stage(128, norm) + _shuffle_stage(128, norm)
        channels = 128
        for out_channels in self.tail_channels:
            layers += _conv_norm_relu(channels, out_channels, norm)
            channels = out_channels
        self.body = nn.Sequential(*layers, *_output_layers(channels, output_activation))
        self.bicubic_skip = bicubic_skip


class PixelShuffleV2(PixelShuffleV1):
    """Seed v2, 8 convs: the same first three layers, then 128->384->128->128->32->3 (2,254,851 parameters)."""

    architecture = "pixelshuffle-v2"
    tail_channels = (384, 128, 128, 32)
