"""The realistic degradation chain: shapes, ranges, each op's probability, seeding, and the protocol at p=0."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from facesr_hub.data import DegradationConfig, degrade, degrade_all, make_lr, prepare_hr, realistic_degrade
from paths import CELEBA_HQ

PROBABILITIES = [f.name for f in dataclasses.fields(DegradationConfig) if f.name.endswith("_prob")]
OFF = {name: 0.0 for name in PROBABILITIES}


@pytest.fixture(scope="module")
def faces() -> torch.Tensor:
    paths = sorted(CELEBA_HQ.glob("*.png"))[:4]
    return torch.stack([prepare_hr(p, celeba_aligned=False) for p in paths]).float() / 255


def _only(**enabled: float) -> DegradationConfig:
    return DegradationConfig(**{**OFF, **enabled})


def test_output_is_exactly_hr_over_4_in_range_and_8_bit(faces):
    lr = realistic_degrade(faces, generator=torch.Generator().manual_seed(0))
    assert lr.shape == (4, 3, 64, 64) and lr.dtype == torch.float32
    assert lr.min() >= 0 and lr.max() <= 1
    assert torch.equal(lr * 255, (lr * 255).round())


def test_all_probabilities_zero_is_the_protocol(faces):
    assert torch.equal(realistic_degrade(faces, DegradationConfig(**OFF)), degrade(faces))


# (probability field, extra settings that make the op's effect certain)
OPS = [
    ("blur_prob", {"blur_sigma": (2.0, 3.0)}),  # a sigma near 0.2 is (rightly) invisible after the /4
    ("resize_prob", {}),
    ("noise_prob", {"poisson_prob": 0.0, "gaussian_sigma": (5.0, 15.0)}),
    ("noise_prob", {"poisson_prob": 1.0, "poisson_scale": (0.5, 1.0)}),
    ("jpeg_prob", {}),
    ("second_order_prob", {}),
]


@pytest.mark.parametrize(("op", "extra"), OPS, ids=[f"{op}-{i}" for i, (op, _) in enumerate(OPS)])
def test_each_op_changes_the_image_at_probability_1_and_not_at_0(faces, op, extra):
    protocol = degrade(faces)
    on = realistic_degrade(faces, _only(**{op: 1.0}, **extra), generator=torch.Generator().manual_seed(3))
    off = realistic_degrade(faces, _only(**{op: 0.0}, **extra), generator=torch.Generator().manual_seed(3))
    assert torch.equal(off, protocol)
    changed = (on - protocol).abs().flatten(1).mean(1)
    assert (changed > 1 / 255).all(), f"{op} at probability 1 left some images unchanged: {changed}"


def test_grey_noise_is_the_same_in_every_channel(faces):
    grey = torch.full_like(faces, 0.5)
    lr = realistic_degrade(grey, _only(noise_prob=1.0, gray_noise_prob=1.0, poisson_prob=0.0),
                           generator=torch.Generator().manual_seed(0))
    assert torch.equal(lr[:, 0], lr[:, 1]) and torch.equal(lr[:, 1], lr[:, 2])
    assert lr.std() > 0


def test_same_seed_same_batch_other_seed_other_batch(faces):
    first = realistic_degrade(faces, generator=torch.Generator().manual_seed(7))
    again = realistic_degrade(faces, generator=torch.Generator().manual_seed(7))
    other = realistic_degrade(faces, generator=torch.Generator().manual_seed(8))
    assert torch.equal(first, again)
    assert not torch.equal(first, other)


def test_a_dataset_degrades_identically_whatever_the_batch_size(faces):
    images = (faces * 255).round().to(torch.uint8)
    by_two = degrade_all(images, "realistic", seed=5, batch_size=2)
    by_three = degrade_all(images, "realistic", seed=5, batch_size=3)
    assert torch.equal(by_two, by_three)
    assert torch.equal(degrade_all(images, "bicubic", seed=5), degrade(faces))


def test_settings_are_validated_and_named():
    with pytest.raises(ValueError, match="blur_prob"):
        DegradationConfig(blur_prob=1.5)
    with pytest.raises(ValueError, match="jpeg_quality"):
        DegradationConfig(jpeg_quality=(0, 120))
    with pytest.raises(ValueError, match="unknown degradation settings"):
        DegradationConfig.from_dict({"blurr_prob": 0.1})
    assert DegradationConfig.from_dict({"blur_sigma": [0.5, 1.0]}).blur_sigma == (0.5, 1.0)
    with pytest.raises(ValueError, match="degradation must be one of"):
        make_lr(torch.zeros(1, 3, 8, 8), "jpeg")
