"""The discriminators: any input size, the seed's per-image logit, PatchGAN's per-patch logits and LR conditioning."""

from __future__ import annotations

import pytest
import torch
from torch.nn.utils import parametrize

from facesr_hub import DISCRIMINATORS, PatchDiscriminator, SeedDiscriminator


@pytest.mark.parametrize("size", [(64, 64), (96, 80), (130, 70)])
def test_seed_discriminator_accepts_any_size(size):
    logits = SeedDiscriminator(base_channels=8).eval()(torch.rand(2, 3, *size))
    assert logits.shape == (2, 1)


@pytest.mark.parametrize("size", [(64, 64), (96, 80)])
@pytest.mark.parametrize("conditional", [False, True])
def test_patch_discriminator_gives_a_logit_per_patch(size, conditional):
    model = PatchDiscriminator(base_channels=8, conditional=conditional)
    hr = torch.rand(2, 3, *size)
    lr = torch.rand(2, 3, size[0] // 4, size[1] // 4) if conditional else None
    logits = model(hr, lr)
    assert logits.ndim == 4 and logits.shape[:2] == (2, 1) and logits.shape[-1] > 1


def test_conditional_discriminator_sees_the_lr_input():
    torch.manual_seed(0)
    model = PatchDiscriminator(base_channels=8, conditional=True).eval()
    hr = torch.rand(1, 3, 64, 64)
    a = model(hr, torch.zeros(1, 3, 16, 16))
    b = model(hr, torch.ones(1, 3, 16, 16))
    assert not torch.allclose(a, b)
    with pytest.raises(ValueError, match="needs the LR input"):
        model(hr)


def test_patch_discriminator_convs_are_spectrally_normalised():
    convs = [m for m in PatchDiscriminator().modules() if isinstance(m, torch.nn.Conv2d)]
    assert convs and all(parametrize.is_parametrized(conv, "weight") for conv in convs)


def test_registry_and_validation():
    assert DISCRIMINATORS == {"seed": SeedDiscriminator, "patchgan": PatchDiscriminator}
    with pytest.raises(ValueError):
        SeedDiscriminator(num_blocks=0)
    with pytest.raises(ValueError):
        PatchDiscriminator(num_layers=0)
