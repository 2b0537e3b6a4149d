"""Layers shared by the generators, the discriminators and the Real-ESRGAN baseline.

Options are plain strings (``norm="instance"``, ``activation="prelu"``) so that they survive a round trip through
``config.json``; this module turns them into layers.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

NORMS = ("instance", "batch", "none")
ACTIVATIONS = ("relu", "leaky_relu", "prelu", "silu", "gelu")


def check_choice(name: str, value: str, choices: tuple[str, ...]) -> None:
    """Raise a ``ValueError`` naming the option when ``value`` is not one of ``choices``."""
    if value not in choices:
        raise ValueError(f"{name} must be one of {choices}, got {value!r}")


def make_norm(norm: str, channels: int) -> nn.Module:
    """A normalisation layer by name; ``"none"`` gives an identity."""
    check_choice("norm", norm, NORMS)
    if norm == "instance":
        return nn.InstanceNorm2d(channels)  # affine=False, as in the seed: keeps its parameter counts
    if norm == "batch":
        return nn.BatchNorm2d(channels)
    return nn.Identity()


def make_activation(activation: str, channels: int) -> nn.Module:
    """An activation by name; PReLU gets one slope per channel."""
    check_choice("activation", activation, ACTIVATIONS)
    if activation == "relu":
        return nn.ReLU(inplace=True)
    if activation == "leaky_relu":
        return nn.LeakyReLU(0.2, inplace=True)
    if activation == "prelu":
        return nn.PReLU(channels)
    if activation == "silu":
        return nn.SiLU(inplace=True)
    return nn.GELU()


def conv3x3(in_channels: int, out_channels: int, stride: int = 1, bias: bool = True) -> nn.Conv2d:
    """A 3x3 convolution with 'same' padding (output size = input size / stride)."""
    return nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=bias)


def bicubic_upscale(x: torch.Tensor, scale: int) -> torch.Tensor:
    """Bicubic upsampling used as the global skip: the network then only predicts the missing detail."""
    return F.interpolate(x, scale_factor=scale, mode="bicubic", align_corners=False)


class ChannelAttention(nn.Module):
    """Squeeze-and-excitation channel attention as in RCAN (Zhang et al., 2018)."""

    def __init__(self, channels: int, reduction: int = 16) -> None:
        super().__init__()
        hidden = max(channels // reduction, 4)
        self.gate = nn.Sequential(
            nn.AdaptiveAvgPool2d(1),
            nn.Conv2d(channels, hidden, 1),
            nn.ReLU(inplace=True),
            nn.Conv2d(hidden, channels, 1),
            nn.Sigmoid(),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.gate(x)


class ResidualChannelAttentionBlock(nn.Module):
    """RCAB: conv-act-conv, channel attention, scaled residual add."""

    def __init__(self, channels: int, *, norm: str = "none", activation: str = "relu", reduction: int = 16,
                 res_scale: float = 1.0) -> None:
        super().__init__()
        self.body = nn.Sequential(
            conv3x3(channels, channels), make_norm(norm, channels), make_activation(activation, channels),
            conv3x3(channels, channels), make_norm(norm, channels),
            ChannelAttention(channels, reduction),
        )
        self.res_scale = res_scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.res_scale * self.body(x)


class SelfAttention2d(nn.Module):
    """Non-local self-attention over pixels; keys/values are pooled to keep memory low at 64x64 inputs.

    The output projection starts at zero, so a freshly built block is the identity and cannot hurt early training.
    """

    def __init__(self, channels: int, *, heads: int = 4, kv_pool: int = 2) -> None:
        super().__init__()
        if channels % heads:
            raise ValueError(f"channels ({channels}) must be divisible by heads ({heads})")
        self.heads = heads
        self.norm = nn.GroupNorm(1, channels)
        self.to_q = nn.Conv2d(channels, channels, 1)
        self.to_kv = nn.Conv2d(channels, 2 * channels, 1)
        self.kv_pool = nn.AvgPool2d(kv_pool, ceil_mode=True) if kv_pool > 1 else nn.Identity()
        self.proj = nn.Conv2d(channels, channels, 1)
        nn.init.zeros_(self.proj.weight)
        nn.init.zeros_(self.proj.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        y = self.norm(x)
        q = self.to_q(y).reshape(b, self.heads, c // self.heads, h * w).transpose(-1, -2)  # (B, heads, HW, d)
        k, v = self.to_kv(self.kv_pool(y)).chunk(2, dim=1)
        k = k.reshape(b, self.heads, c // self.heads, -1).transpose(-1, -2)  # (B, heads, hw', d)
        v = v.reshape(b, self.heads, c // self.heads, -1).transpose(-1, -2)
        out = F.scaled_dot_product_attention(q, k, v)  # (B, heads, HW, d)
        out = out.transpose(-1, -2).reshape(b, c, h, w)
        return x + self.proj(out)


class ResidualDenseBlock(nn.Module):
    """ESRGAN's residual dense block: five densely connected convs, residual scaled by 0.2."""

    def __init__(self, channels: int = 64, growth: int = 32) -> None:
        super().__init__()
        self.conv1 = conv3x3(channels, growth)
        self.conv2 = conv3x3(channels + growth, growth)
        self.conv3 = conv3x3(channels + 2 * growth, growth)
        self.conv4 = conv3x3(channels + 3 * growth, growth)
        self.conv5 = conv3x3(channels + 4 * growth, channels)
        self.lrelu = nn.LeakyReLU(0.2, inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x1 = self.lrelu(self.conv1(x))
        x2 = self.lrelu(self.conv2(torch.cat((x, x1), 1)))
        x3 = self.lrelu(self.conv3(torch.cat((x, x1, x2), 1)))
        x4 = self.lrelu(self.conv4(torch.cat((x, x1, x2, x3), 1)))
        x5 = self.conv5(torch.cat((x, x1, x2, x3, x4), 1))
        return x + 0.2 * x5


class RRDB(nn.Module):
    """Residual-in-residual dense block (ESRGAN / Real-ESRGAN); attribute names match their checkpoints."""

    def __init__(self, channels: int = 64, growth: int = 32) -> None:
        super().__init__()
        self.rdb1 = ResidualDenseBlock(channels, growth)
        self.rdb2 = ResidualDenseBlock(channels, growth)
        self.rdb3 = ResidualDenseBlock(channels, growth)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + 0.2 * self.rdb3(self.rdb2(self.rdb1(x)))
