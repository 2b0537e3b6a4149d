"""tools/fidelity_points.py: the saved slider blends are the models the app serves, and load strictly by path."""

from __future__ import annotations

import importlib.util

import pytest
import torch
from paths import REPO

from facesr_hub import load_generator

spec = importlib.util.spec_from_file_location("fidelity_points", REPO / "tools" / "fidelity_points.py")
fidelity_points = importlib.util.module_from_spec(spec)
spec.loader.exec_module(fidelity_points)


def test_saved_blend_is_the_weight_interpolation_of_the_model_and_its_psnr_stage(tmp_path):
    (folder,) = fidelity_points.write_points("fast", [0.25], tmp_path)
    assert folder.name == "fast-f0.25"
    blend = load_generator(folder, device="cpu").state_dict()
    gan, psnr = (load_generator(name, device="cpu").state_dict() for name in ("fast", "fast-psnr"))
    moved = False
    for key, value in blend.items():
        expected = torch.lerp(gan[key].float(), psnr[key].float(), 0.25)
        assert torch.allclose(value.float(), expected, atol=1e-6), key
        moved |= not torch.equal(gan[key], psnr[key])
    assert moved  # the two endpoints differ, so the blend is a third model


@pytest.mark.parametrize("name, fidelities, message", [
    ("fast", [0.0], "strictly between 0"),
    ("fast", [1.0], "strictly between 0"),
    ("upsample", [0.5], "no PSNR-stage partner"),
])
def test_refuses_endpoints_and_models_without_a_partner(tmp_path, name, fidelities, message):
    with pytest.raises(ValueError, match=message):
        fidelity_points.write_points(name, fidelities, tmp_path)
    assert not any(tmp_path.iterdir())


def test_checkpoint_points_interpolate_any_two_checkpoints_of_one_config(tmp_path):
    gan_folder = tmp_path / "run" / "model"
    load_generator("fast", device="cpu").save_pretrained(gan_folder)
    (folder,) = fidelity_points.write_checkpoint_points(str(gan_folder), "fast-psnr", [0.4], tmp_path / "points")
    assert folder == tmp_path / "points" / "run-f0.40"
    blend = load_generator(folder, device="cpu").state_dict()
    gan, psnr = (load_generator(name, device="cpu").state_dict() for name in ("fast", "fast-psnr"))
    for key, value in blend.items():
        assert torch.allclose(value.float(), torch.lerp(gan[key].float(), psnr[key].float(), 0.4), atol=1e-6), key


def test_checkpoint_points_refuse_two_different_networks(tmp_path):
    with pytest.raises(ValueError, match="same config"):
        fidelity_points.write_checkpoint_points("fast", "residual-attention", [0.5], tmp_path)
    assert not any(tmp_path.iterdir())
