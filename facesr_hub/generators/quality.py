"""QualityGenerator: an ESRGAN/Real-ESRGAN RRDB network (about 12 M parameters with the defaults).

The layer names and the forward pass match Real-ESRGAN's ``RRDBNet`` exactly when ``bicubic_skip=False``, so the
Real-ESRGAN x4plus baseline is this class with 23 blocks and converted weights.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ..blocks import RRDB, bicubic_upscale, conv3x3
from .base import Generator


class QualityGenerator(Generator):
    """RRDB trunk at input resolution, nearest-neighbour + conv upsampling twice, optional bicubic skip."""

    architecture = "quality"

    def __init__(self, *, num_features: int = 64, num_blocks: int = 16, growth_channels: int = 32,
                 bicubic_skip: bool = True) -> None:
        super().__init__()
        if num_features < 1 or num_blocks < 1 or growth_channels < 1:
            raise ValueError("num_features, num_blocks and growth_channels must be >= 1, got "
                             f"{num_features}, {num_blocks}, {growth_channels}")
        self.conv_first = conv3x3(3, num_features)
        self.body = nn.Sequential(*[RRDB(num_features, growth_channels) for _ in range(num_blocks)])
        self.conv_body = conv3x3(num_features, num_features)
        self.conv_up1 = conv3x3(num_features, num_features)
        self.conv_up2 = conv3x3(num_features, num_features)
        self.conv_hr = conv3x3(num_features, num_features)
        self.conv_last = conv3x3(num_features, 3)
        self.lrelu = nn.LeakyReLU(0.2, inplace=True)
        self.bicubic_skip = bicubic_skip

    @property
    def receptive_radius(self) -> int:
        trunk = 1 + 15 * len(self.body) + 1  # conv_first, 15 convs per RRDB, conv_body: all at input resolution
        return math.ceil(trunk + 0.5 + 0.25 * 3)  # conv_up1 at 2x; conv_up2, conv_hr, conv_last at 4x

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        feat = self.conv_first(x)
        feat = feat + self.conv_body(self.body(feat))
        feat = self.lrelu(self.conv_up1(F.interpolate(feat, scale_factor=2, mode="nearest")))
        feat = self.lrelu(self.conv_up2(F.interpolate(feat, scale_factor=2, mode="nearest")))
        out = self.conv_last(self.lrelu(self.conv_hr(feat)))
        if self.bicubic_skip:
            out = out + bicubic_upscale(x, self.scale)
        return out
