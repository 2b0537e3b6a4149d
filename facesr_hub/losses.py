"""Training losses: pixel (L1 / Charbonnier), perceptual (frozen ImageNet VGG16), adversarial (vanilla / hinge / RaGAN).

All are ``nn.Module``s configured by their constructor only; images are RGB in [0, 1], (B, 3, H, W).
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from .backbones import load_vgg16_features

PIXEL_KINDS = ("l1", "charbonnier")
ADVERSARIAL_KINDS = ("vanilla", "hinge", "relativistic")

# torchvision VGG16 `features` index of each conv layer. Taking the conv output (before its ReLU) follows
# ESRGAN: post-activation features are sparse and give weaker, brightness-shifted supervision.
VGG16_CONV_LAYERS = {
    "conv1_1": 0, "conv1_2": 2,
    "conv2_1": 5, "conv2_2": 7,
    "conv3_1": 10, "conv3_2": 12, "conv3_3": 14,
    "conv4_1": 17, "conv4_2": 19, "conv4_3": 21,
    "conv5_1": 24, "conv5_2": 26, "conv5_3": 28,
}
_IMAGENET_MEAN = (0.485, 0.456, 0.406)
_IMAGENET_STD = (0.229, 0.224, 0.225)


def pixel_loss(sr: torch.Tensor, hr: torch.Tensor, *, kind: str = "l1", eps: float = 1e-3) -> torch.Tensor:
    """Mean L1, or Charbonnier ``sqrt((sr - hr)^2 + eps^2)`` (a smooth L1 with a defined gradient at 0)."""
    if kind == "l1":
        return F.l1_loss(sr, hr)
    if kind == "charbonnier":
        return torch.sqrt((sr - hr) ** 2 + eps * eps).mean()
    raise ValueError(f"kind must be one of {PIXEL_KINDS}, got {kind!r}")


class PixelLoss(nn.Module):
    """``pixel_loss`` as a module: ``PixelLoss(kind="l1" | "charbonnier", eps=1e-3)(sr, hr) -> scalar``."""

    def __init__(self, *, kind: str = "l1", eps: float = 1e-3) -> None:
        super().__init__()
        if kind not in PIXEL_KINDS:
            raise ValueError(f"kind must be one of {PIXEL_KINDS}, got {kind!r}")
        if eps <= 0:
            raise ValueError(f"eps must be > 0, got {eps}")
        self.kind, self.eps = kind, eps

    def forward(self, sr: torch.Tensor, hr: torch.Tensor) -> torch.Tensor:
        return pixel_loss(sr, hr, kind=self.kind, eps=self.eps)


def normalized_feature_distance(a: torch.Tensor, b: torch.Tensor, *, eps: float = 1e-10) -> torch.Tensor:
    """LPIPS's distance with every channel weighted 1 (Zhang et al. 2018, their untrained baseline): each position's
    feature vector is scaled to unit length over channels, then the squared differences are summed over channels and
    averaged over positions. Unlike L1 on raw features, every layer lands on the same 0-4 scale, so shallow texture
    layers are not drowned by the large activations of deep ones."""
    a = a / torch.sqrt(a.pow(2).sum(dim=1, keepdim=True) + eps)
    b = b / torch.sqrt(b.pow(2).sum(dim=1, keepdim=True) + eps)
    return (a - b).pow(2).sum(dim=1).mean()


#: The perceptual loss's distances between feature maps, by the name ``criterion`` takes.
_FEATURE_DISTANCES = {"l1": F.l1_loss, "l2": F.mse_loss, "normalized": normalized_feature_distance}
CRITERIA = tuple(_FEATURE_DISTANCES)


def check_perceptual_layers(layers: Sequence[str], weights: Sequence[float] | None, *, layers_name: str = "layers",
                            weights_name: str = "weights") -> None:
    """Raise ValueError unless ``layers`` are distinct VGG16 conv names (at least one) and ``weights`` (None = all
    1) are one number >= 0 per layer; ``*_name`` say how the caller calls them (e.g. the CLI flags)."""
    unknown = [name for name in layers if name not in VGG16_CONV_LAYERS]
    if not layers or unknown or len(set(layers)) != len(layers):
        raise ValueError(f"{layers_name} must be distinct names from {list(VGG16_CONV_LAYERS)} (at least one), "
                         f"got {list(layers)}")
    if weights is not None and (len(weights) != len(layers) or any(not w >= 0 for w in weights)):
        raise ValueError(f"{weights_name} must be {len(layers)} numbers >= 0 (one per {layers_name} entry), "
                         f"got {list(weights)}")


class PerceptualLoss(nn.Module):
    """Weighted distance between frozen VGG16 conv features (pre-ReLU) of SR and HR, ESRGAN-style.

    The default, ``conv5_3`` with weight 1 and L1, is VGG16's counterpart of ESRGAN's VGG19 ``conv5_4``.
    ``criterion`` is ``"l1"``, ``"l2"`` or ``"normalized"`` (``normalized_feature_distance``, LPIPS-style).
    HR features carry no gradient; the VGG weights never train (``requires_grad=False``, eval mode kept).
    """

    def __init__(self, *, layers: Sequence[str] = ("conv5_3",), weights: Sequence[float] | None = None,
                 criterion: str = "l1", device: torch.device | str | None = None,
                 cache_dir: str | os.PathLike[str] | None = None) -> None:
        super().__init__()
        layers = tuple(layers)
        weights = tuple(weights) if weights is not None else (1.0,) * len(layers)
        check_perceptual_layers(layers, weights)
        if criterion not in CRITERIA:
            raise ValueError(f"criterion must be one of {CRITERIA}, got {criterion!r}")
        self.layers, self.layer_weights, self.criterion = layers, weights, criterion
        self._distance = _FEATURE_DISTANCES[criterion]
        self._indices = [VGG16_CONV_LAYERS[name] for name in layers]
        # Keep only what the deepest requested layer needs.
        vgg = load_vgg16_features(device, cache_dir=cache_dir)
        self.vgg = vgg[: max(self._indices) + 1]
        for module in self.vgg:
            if isinstance(module, nn.ReLU):
                module.inplace = False  # an in-place ReLU would overwrite the pre-activation features we keep
        device = self.vgg[0].weight.device
        self.register_buffer("mean", torch.tensor(_IMAGENET_MEAN, device=device).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(_IMAGENET_STD, device=device).view(1, 3, 1, 1), persistent=False)

    def train(self, mode: bool = True) -> PerceptualLoss:
        super().train(mode)
        self.vgg.eval()  # frozen feature extractor: a trainer's .train() must not change it
        return self

    def features(self, img: torch.Tensor) -> list[torch.Tensor]:
        """Pre-ReLU features of ``img`` ([0, 1] RGB) at ``self.layers``, in that order."""
        x = (img - self.mean) / self.std
        wanted, out = set(self._indices), {}
        for index, module in enumerate(self.vgg):
            x = module(x)
            if index in wanted:
                out[index] = x
        return [out[i] for i in self._indices]

    def forward(self, sr: torch.Tensor, hr: torch.Tensor) -> torch.Tensor:
        sr_feats = self.features(sr)
        with torch.no_grad():
            hr_feats = self.features(hr)
        return sum(w * self._distance(s, h) for w, s, h in zip(self.layer_weights, sr_feats, hr_feats, strict=True))


class AdversarialLoss(nn.Module):
    """GAN objectives on raw discriminator logits.

    - ``"vanilla"``: non-saturating BCE (Goodfellow et al.); D: BCE(real, 1) + BCE(fake, 0).
    - ``"hinge"``: SAGAN / BigGAN; D: mean(relu(1 - real)) + mean(relu(1 + fake)); G: -mean(fake).
    - ``"relativistic"``: relativistic average GAN as in ESRGAN (Wang et al. 2018), both terms averaged:
      D: [BCE(real - mean(fake), 1) + BCE(fake - mean(real), 0)] / 2,
      G: [BCE(real - mean(fake), 0) + BCE(fake - mean(real), 1)] / 2 with ``real_logits`` detached.

    ``discriminator_loss`` expects ``fake_logits`` computed on detached generator output.
    """

    def __init__(self, kind: str = "vanilla") -> None:
        super().__init__()
        if kind not in ADVERSARIAL_KINDS:
            raise ValueError(f"kind must be one of {ADVERSARIAL_KINDS}, got {kind!r}")
        self.kind = kind

    @staticmethod
    def _bce(logits: torch.Tensor, target: float) -> torch.Tensor:
        return F.binary_cross_entropy_with_logits(logits, torch.full_like(logits, target))

    def generator_loss(self, fake_logits: torch.Tensor, real_logits: torch.Tensor | None = None) -> torch.Tensor:
        """Loss for G given D's logits on generated images (and on real ones, needed for ``"relativistic"``)."""
        if self.kind == "vanilla":
            return self._bce(fake_logits, 1.0)
        if self.kind == "hinge":
            return -fake_logits.mean()
        if real_logits is None:
            raise ValueError("the relativistic generator loss needs real_logits")
        real_logits = real_logits.detach()  # D is not updated by G's loss
        return (self._bce(real_logits - fake_logits.mean(), 0.0) + self._bce(fake_logits - real_logits.mean(), 1.0)) / 2

    def discriminator_loss(self, real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
        """Loss for D given its logits on real and (detached) generated images."""
        if self.kind == "vanilla":
            return self._bce(real_logits, 1.0) + self._bce(fake_logits, 0.0)
        if self.kind == "hinge":
            return F.relu(1.0 - real_logits).mean() + F.relu(1.0 + fake_logits).mean()
        return (self._bce(real_logits - fake_logits.mean(), 1.0) + self._bce(fake_logits - real_logits.mean(), 0.0)) / 2

    def forward(self, fake_logits: torch.Tensor, real_logits: torch.Tensor | None = None) -> torch.Tensor:
        """Same as ``generator_loss``."""
        return self.generator_loss(fake_logits, real_logits)
