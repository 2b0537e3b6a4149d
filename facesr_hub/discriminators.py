"""Discriminators for the GAN stage: the seed's classifier and a spectral-norm PatchGAN."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from .blocks import bicubic_upscale


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
        x = image * 2 - 1
        if self.conditional:
            if lr is None:
                raise ValueError("a conditional PatchDiscriminator needs the LR input")
            scale = image.shape[-1] // lr.shape[-1]
            x = torch.cat((x, bicubic_upscale(lr, scale) * 2 - 1), dim=1)
        return self.net(x)


#: Name -> class, for ``train.py --discriminator``.
DISCRIMINATORS: dict[str, type[nn.Module]] = {"seed": SeedDiscriminator, "patchgan": PatchDiscriminator}
