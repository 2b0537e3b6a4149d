"""ResidualAttentionGenerator: the seed's third design (described there, never built).

Residual groups of RCAN channel-attention blocks with one optional self-attention block, all at input resolution
(64x64 for a face), then PixelShuffle x2 twice. Most compute and all activations that matter for memory stay at the
small size.
"""

from __future__ import annotations

import torch
from torch import nn

from ..blocks import (ACTIVATIONS, ResidualChannelAttentionBlock, SelfAttention2d, bicubic_upscale, check_choice,
                      conv3x3, make_activation)
from .base import Generator


class _ResidualGroup(nn.Module):
    def __init__(self, channels: int, num_blocks: int, norm: str, activation: str, reduction: int) -> None:
        super().__init__()
        blocks = [ResidualChannelAttentionBlock(channels, norm=norm, activation=activation, reduction=reduction)
                  for _ in range(num_blocks)]
        self.body = nn.Sequential(*blocks, conv3x3(channels, channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class ResidualAttentionGenerator(Generator):
    """Residual channel-attention groups (+ optional self-attention) at input resolution, PixelShuffle x4."""

    architecture = "residual-attention"

    def __init__(self, *, num_features: int = 64, num_groups: int = 4, blocks_per_group: int = 4,
                 reduction: int = 16, self_attention: bool = True, attention_heads: int = 4, norm: str = "none",
                 activation: str = "relu", bicubic_skip: bool = True) -> None:
        super().__init__()
        if num_features < 1 or num_groups < 1 or blocks_per_group < 1:
            raise ValueError("num_features, num_groups and blocks_per_group must all be >= 1, got "
                             f"{num_features}, {num_groups}, {blocks_per_group}")
        if reduction < 1 or attention_heads < 1:
            raise ValueError(f"reduction and attention_heads must be >= 1, got {reduction}, {attention_heads}")
        check_choice("activation", activation, ACTIVATIONS)
        self.head = conv3x3(3, num_features)
        groups: list[nn.Module] = [_ResidualGroup(num_features, blocks_per_group, norm, activation, reduction)
                                   for _ in range(num_groups)]
        if self_attention:  # in the middle, where features are already rich but still at low resolution
            groups.insert(num_groups // 2, SelfAttention2d(num_features, heads=attention_heads))
        self.groups = nn.Sequential(*groups, conv3x3(num_features, num_features))
        self.upsample = nn.Sequential(
            conv3x3(num_features, 4 * num_features), nn.PixelShuffle(2), make_activation(activation, num_features),
            conv3x3(num_features, 4 * num_features), nn.PixelShuffle(2), make_activation(activation, num_features),
        )
        self.tail = conv3x3(num_features, 3)
        self.bicubic_skip = bicubic_skip

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        feat = self.head(x - 0.5)  # 1. features at input resolution
        feat = feat + self.groups(feat)  # 2. long skip over the residual groups
        out = self.tail(self.upsample(feat))  # 3. x4 by two PixelShuffle stages
        if self.bicubic_skip:  # 4. predict the residual over bicubic
            out = out + bicubic_upscale(x, self.scale)
        else:
            out = out + 0.5
        return out
