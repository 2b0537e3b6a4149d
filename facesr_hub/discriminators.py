"""Discriminators for the GAN stage: the seed's classifier, a spectral-norm PatchGAN and Real-ESRGAN's U-Net."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from .blocks import bicubic_upscale


def _with_lr(image: torch.Tensor, lr: torch.Tensor | None, conditional: bool, name: str) -> torch.Tensor:
    """``image`` in [-1, 1], with the bicubic-upsampled LR input appended as three channels when ``conditional``."""
    x = image * 2 - 1
    if not conditional:
        return x
    if lr is None:
        raise ValueError(f"a conditional {name} needs the LR input")
    scale = image.shape[-1] // lr.shape[-1]
    return torch.cat((x, bicubic_upscale(lr, scale) * 2 - 1), dim=1)


class SeedDiscriminator(nn.Module):
    """The seed's SRGAN-style discriminator: strided conv + BatchNorm + LeakyReLU blocks, then a dense head.

    The seed flattened a fixed 256x256 feature map; global average pooling before the head makes it accept any size.
    Returns one logit per image, shape (B, 1).
    """

    def __init__(self, *, base_channels: int = 64, num_blocks: int = 4) -> None:
        super().__init__()
        if num_blocks < 1:
            raise ValueError(f"num_blocks must be >= 1, got {num_blocks}")
        layers: list[nn.Module] = [nn.Conv2d(3, base_channels, 3, padding=1), nn.LeakyReLU(0.2, inplace=True)]
        channels = base_channels
        for index in range(num_blocks):
            out_channels = base_channels * 2 ** min(index, 3)
            layers += [
                nn.Conv2d(channels, out_channels, 3, stride=2, padding=1, bias=False),
                nn.BatchNorm2d(out_channels), nn.LeakyReLU(0.2, inplace=True),
            ]
            channels = out_channels
        self.features = nn.Sequential(*layers)
        self.head = nn.Sequential(
            nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(channels, 1024), nn.LeakyReLU(0.2, inplace=True),
            nn.Linear(1024, 1),
        )

    def forward(self, image: torch.Tensor, lr: torch.Tensor | None = None) -> torch.Tensor:
        """Logits for ``image`` (RGB in [0, 1]); ``lr`` is accepted for interface parity and ignored."""
        return self.head(self.features(image * 2 - 1))


class PatchDiscriminator(nn.Module):
    """PatchGAN (pix2pix) with spectral norm: one logit per ~70x70 patch, shape (B, 1, H', W').

    With ``conditional=True`` it also sees the bicubic-upsampled LR input, so it judges whether the detail is
    consistent with the input, not only whether it looks like a face.
    """

    def __init__(self, *, base_channels: int = 64, num_layers: int = 3, conditional: bool = False) -> None:
        super().__init__()
        if num_layers < 1:
            raise ValueError(f"num_layers must be >= 1, got {num_layers}")
        self.conditional = conditional
        in_channels = 6 if conditional else 3
        layers: list[nn.Module] = [spectral_norm(nn.Conv2d(in_channels, base_channels, 4, 2, 1)),
                                   nn.LeakyReLU(0.2, inplace=True)]
        channels = base_channels
        for index in range(1, num_layers + 1):
            out_channels = base_channels * 2 ** min(index, 3)
            stride = 2 if index < num_layers else 1
            layers += [spectral_norm(nn.Conv2d(channels, out_channels, 4, stride, 1)), nn.LeakyReLU(0.2, inplace=True)]
            channels = out_channels
        layers.append(spectral_norm(nn.Conv2d(channels, 1, 4, 1, 1)))
        self.net = nn.Sequential(*layers)

    def forward(self, image: torch.Tensor, lr: torch.Tensor | None = None) -> torch.Tensor:
        """Patch logits for ``image``; a conditional discriminator needs the LR input too."""
        return self.net(_with_lr(image, lr, self.conditional, "PatchDiscriminator"))


class UNetDiscriminator(nn.Module):
    """Real-ESRGAN's U-Net discriminator with spectral norm (``UNetDiscriminatorSN``): one logit per pixel.

    Three strided convs down, three convs back up with skip connections, two more convs and a 1-channel head, so
    the generator is told *where* an image looks fake, not only whether a patch does. Layout and widths follow
    Real-ESRGAN (``base_channels`` 64 there); inputs of any size work (each upsampling step resizes to its skip).
    """

    def __init__(self, *, base_channels: int = 64, conditional: bool = False) -> None:
        super().__init__()
        if base_channels < 1:
            raise ValueError(f"base_channels must be >= 1, got {base_channels}")
        self.conditional = conditional
        c = base_channels

        def sn_conv(in_ch: int, out_ch: int, kernel: int, stride: int) -> nn.Module:
            return spectral_norm(nn.Conv2d(in_ch, out_ch, kernel, stride, 1, bias=False))

        self.conv0 = nn.Conv2d(6 if conditional else 3, c, 3, 1, 1)
        self.down = nn.ModuleList([sn_conv(c, 2 * c, 4, 2), sn_conv(2 * c, 4 * c, 4, 2), sn_conv(4 * c, 8 * c, 4, 2)])
        self.up = nn.ModuleList([sn_conv(8 * c, 4 * c, 3, 1), sn_conv(4 * c, 2 * c, 3, 1), sn_conv(2 * c, c, 3, 1)])
        self.extra = nn.ModuleList([sn_conv(c, c, 3, 1), sn_conv(c, c, 3, 1)])
        self.head = nn.Conv2d(c, 1, 3, 1, 1)

    def forward(self, image: torch.Tensor, lr: torch.Tensor | None = None) -> torch.Tensor:
        """Per-pixel logits (B, 1, H, W) for ``image``; a conditional discriminator needs the LR input too."""
        x = F.leaky_relu(self.conv0(_with_lr(image, lr, self.conditional, "UNetDiscriminator")), 0.2)
        skips = [x]
        for conv in self.down:
            x = F.leaky_relu(conv(x), 0.2)
            skips.append(x)
        skips.pop()  # the bottleneck is not a skip of itself
        for conv in self.up:
            skip = skips.pop()
            x = F.interpolate(x, size=skip.shape[-2:], mode="bilinear", align_corners=False)
            x = F.leaky_relu(conv(x), 0.2) + skip
        for conv in self.extra:
            x = F.leaky_relu(conv(x), 0.2)
        return self.head(x)


#: Name -> class, for ``train.py --discriminator``.
DISCRIMINATORS: dict[str, type[nn.Module]] = {"seed": SeedDiscriminator, "patchgan": PatchDiscriminator,
                                              "unet": UNetDiscriminator}
