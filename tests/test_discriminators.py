"""The discriminators: any input size, the seed's per-image logit, PatchGAN's per-patch logits and LR conditioning."""

from __future__ import annotations

import pytest
import torch
from torch.nn.utils import parametrize

from facesr_hub import DISCRIMINATORS, PatchDiscriminator, SeedDiscriminator, UNetDiscriminator


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
    assert DISCRIMINATORS == {"seed": SeedDiscriminator, "patchgan": PatchDiscriminator, "unet": UNetDiscriminator}
    with pytest.raises(ValueError):
        SeedDiscriminator(num_blocks=0)
    with pytest.raises(ValueError):
        PatchDiscriminator(num_layers=0)


@pytest.mark.parametrize("size", [(96, 96), (64, 40), (70, 54)])
def test_unet_discriminator_gives_a_logit_per_pixel_at_any_size(size):
    logits = UNetDiscriminator(base_channels=8)(torch.rand(2, 3, *size))
    assert logits.shape == (2, 1, *size)


def test_unet_discriminator_is_local_and_sees_the_lr_input_when_conditional():
    torch.manual_seed(0)
    model = UNetDiscriminator(base_channels=8, conditional=True).eval()
    hr = torch.rand(1, 3, 64, 64)
    lr = torch.rand(1, 3, 16, 16)
    changed = hr.clone()
    changed[..., :8, :8] = 1 - changed[..., :8, :8]  # a change in one corner moves that corner's logits most
    delta = (model(changed, lr) - model(hr, lr)).abs()[0, 0]
    assert delta[:16, :16].mean() > 5 * delta[48:, 48:].mean()
    assert not torch.allclose(model(hr, lr), model(hr, torch.zeros_like(lr)))
    with pytest.raises(ValueError, match="needs the LR input"):
        model(hr)


def test_unet_discriminator_follows_real_esrgan_layout():
    model = UNetDiscriminator()  # Real-ESRGAN's UNetDiscriminatorSN(3, num_feat=64)
    convs = [m for m in model.modules() if isinstance(m, torch.nn.Conv2d)]
    assert len(convs) == 10
    assert sum(p.numel() for p in model.parameters()) == 4_376_897
    # the first conv and the head are plain; the eight between are spectrally normalised, as in Real-ESRGAN
    assert [parametrize.is_parametrized(conv, "weight") for conv in convs] == [False] + [True] * 8 + [False]
