"""Pixel, perceptual and adversarial losses: known values, gradients, frozen VGG, argument validation."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from facesr_hub.losses import (
    VGG16_CONV_LAYERS,
    AdversarialLoss,
    PerceptualLoss,
    PixelLoss,
    normalized_feature_distance,
    pixel_loss,
)


@pytest.fixture(scope="module")
def cache_dir(backbone_cache_dir):
    return backbone_cache_dir


@pytest.fixture(scope="module")
def perceptual(cache_dir) -> PerceptualLoss:
    return PerceptualLoss(layers=("conv3_3", "conv5_3"), weights=(0.5, 1.0), device="cpu", cache_dir=cache_dir)


# --- pixel -------------------------------------------------------------------------------------------------------

def test_pixel_losses_have_known_values():
    hr = torch.zeros(1, 3, 4, 4)
    sr = torch.full_like(hr, 0.5)
    assert pixel_loss(sr, hr).item() == pytest.approx(0.5)
    assert pixel_loss(sr, hr, kind="charbonnier", eps=1e-3).item() == pytest.approx(math.sqrt(0.25 + 1e-6))
    assert PixelLoss(kind="charbonnier", eps=0.1)(hr, hr).item() == pytest.approx(0.1)  # eps at zero error


@pytest.mark.parametrize("kwargs", [{"kind": "l2"}, {"eps": 0.0}])
def test_pixel_loss_validates(kwargs):
    with pytest.raises(ValueError):
        PixelLoss(**kwargs)
    if "kind" in kwargs:
        with pytest.raises(ValueError):
            pixel_loss(torch.zeros(1), torch.zeros(1), **kwargs)


# --- perceptual --------------------------------------------------------------------------------------------------

def test_layer_table_points_at_vgg16_convs(cache_dir):
    vgg = PerceptualLoss(layers=("conv5_3",), device="cpu", cache_dir=cache_dir).vgg
    assert len(vgg) == 29 and isinstance(vgg[-1], torch.nn.Conv2d)  # truncated right after conv5_3, before ReLU
    convs = [i for i, m in enumerate(vgg) if isinstance(m, torch.nn.Conv2d)]
    assert convs == sorted(VGG16_CONV_LAYERS.values())


def test_perceptual_loss_is_zero_for_identical_and_positive_otherwise(perceptual):
    hr = torch.rand(2, 3, 48, 48)
    assert perceptual(hr, hr).item() == 0.0
    assert perceptual(hr.flip(-1), hr).item() > 0


def test_perceptual_features_are_pre_activation(perceptual):
    feats = perceptual.features(torch.rand(1, 3, 48, 48))
    assert [f.shape[1] for f in feats] == [256, 512]
    assert all((f < 0).any() for f in feats)  # after a ReLU nothing would be negative


def test_perceptual_loss_is_the_weighted_sum_of_layer_distances(perceptual):
    sr, hr = torch.rand(1, 3, 32, 32), torch.rand(1, 3, 32, 32)
    (s3, s5), (h3, h5) = perceptual.features(sr), perceptual.features(hr)
    expected = 0.5 * F.l1_loss(s3, h3) + 1.0 * F.l1_loss(s5, h5)
    torch.testing.assert_close(perceptual(sr, hr), expected)


def test_perceptual_gradients_reach_sr_but_never_the_vgg(perceptual):
    sr = torch.rand(1, 3, 32, 32, requires_grad=True)
    perceptual.train()  # a trainer calling .train() must not unfreeze or un-eval the VGG
    perceptual(sr, torch.rand(1, 3, 32, 32)).backward()
    assert sr.grad is not None and sr.grad.abs().sum() > 0
    assert not perceptual.vgg.training
    assert all(p.grad is None and not p.requires_grad for p in perceptual.parameters())


def test_normalized_distance_has_known_values_and_ignores_feature_scale():
    a = torch.zeros(1, 2, 3, 3)
    a[:, 0] = 1.0  # every position points along channel 0
    b = torch.zeros_like(a)
    b[:, 1] = 5.0  # along channel 1, five times longer: orthogonal unit vectors are sqrt(2) apart
    assert normalized_feature_distance(a, b).item() == pytest.approx(2.0)
    assert normalized_feature_distance(a, 7.0 * a).item() == pytest.approx(0.0, abs=1e-9)
    assert normalized_feature_distance(a, -a).item() == pytest.approx(4.0)


def test_normalized_perceptual_loss_puts_layers_on_one_scale(cache_dir):
    layers = ("conv1_2", "conv5_3")
    raw = PerceptualLoss(layers=layers, device="cpu", cache_dir=cache_dir)
    normalized = PerceptualLoss(layers=layers, criterion="normalized", device="cpu", cache_dir=cache_dir)
    torch.manual_seed(0)
    hr = torch.rand(1, 3, 48, 48)
    sr = (hr + 0.1 * torch.randn_like(hr)).clamp(0, 1).requires_grad_()
    per_layer = [normalized_feature_distance(s, h).item() for s, h in zip(normalized.features(sr),
                                                                           normalized.features(hr), strict=True)]
    assert all(0 < d <= 4 for d in per_layer)
    assert normalized(sr, hr).item() == pytest.approx(sum(per_layer), rel=1e-5)
    assert normalized(hr, hr).item() == pytest.approx(0.0, abs=1e-9)
    normalized(sr, hr).backward()
    assert sr.grad is not None and sr.grad.abs().sum() > 0
    assert raw(sr.detach(), hr).item() > 10 * normalized(sr.detach(), hr).item()  # raw L1 lives on another scale


@pytest.mark.parametrize("kwargs", [
    {"layers": ("conv5_4",)}, {"layers": ()}, {"layers": ("conv1_1", "conv1_1")},
    {"layers": ("conv1_1",), "weights": (1.0, 2.0)}, {"layers": ("conv1_1",), "weights": (-1.0,)},
    {"criterion": "huber"},
])
def test_perceptual_loss_validates(kwargs, cache_dir):
    with pytest.raises(ValueError):
        PerceptualLoss(device="cpu", cache_dir=cache_dir, **kwargs)


# --- adversarial -------------------------------------------------------------------------------------------------

def test_vanilla_gan_on_undecided_discriminator_is_log2():
    loss = AdversarialLoss("vanilla")
    zeros = torch.zeros(4, 1)
    assert loss.generator_loss(zeros).item() == pytest.approx(math.log(2))
    assert loss.discriminator_loss(zeros, zeros).item() == pytest.approx(2 * math.log(2))


def test_hinge_values():
    loss = AdversarialLoss("hinge")
    real, fake = torch.tensor([2.0, 0.5]), torch.tensor([-2.0, 0.0])
    assert loss.discriminator_loss(real, fake).item() == pytest.approx((0 + 0.5) / 2 + (0 + 1) / 2)
    assert loss.generator_loss(fake).item() == pytest.approx(1.0)


def test_relativistic_average_matches_esrgan_formula():
    loss = AdversarialLoss("relativistic")
    real, fake = torch.tensor([1.0, 3.0]), torch.tensor([0.0, 0.0])  # mean(real) = 2, mean(fake) = 0
    sp = F.softplus  # BCE-with-logits: target 1 -> softplus(-x), target 0 -> softplus(x)
    d_expected = (sp(-real).mean() + sp(fake - 2).mean()) / 2
    g_expected = (sp(real).mean() + sp(-(fake - 2)).mean()) / 2
    torch.testing.assert_close(loss.discriminator_loss(real, fake), d_expected)
    torch.testing.assert_close(loss.generator_loss(fake, real), g_expected)


def test_relativistic_generator_loss_does_not_train_the_discriminator_on_reals():
    real = torch.randn(3, requires_grad=True)
    fake = torch.randn(3, requires_grad=True)
    AdversarialLoss("relativistic")(fake, real).backward()
    assert real.grad is None and fake.grad is not None


def test_adversarial_loss_validates():
    with pytest.raises(ValueError, match="wgan"):
        AdversarialLoss("wgan")
    with pytest.raises(ValueError, match="real_logits"):
        AdversarialLoss("relativistic").generator_loss(torch.zeros(2))
