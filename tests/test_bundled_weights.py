"""The models shipped in facesr_hub/weights/: every folder loads strictly by bare name and really upscales faces."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from facesr_hub import GENERATORS, bundled_model_names, bundled_weights_dir, load_generator
from facesr_hub.data import collect_images, degrade, degrade_all, prepare_hr
from facesr_hub.metrics import psnr
from paths import CELEBA_HQ

REPO = Path(__file__).resolve().parents[1]
WEIGHTS = REPO / "facesr_hub" / "weights"  # package data: the wheel ships them (tests/test_wheel.py)
HELD_OUT = CELEBA_HQ  # its hash *test* split was never used for training the shipped models
SHIPPED = ["fast", "fast-psnr", "fast-real", "fast-real-psnr", "quality"]
CLEAN_INPUT_MODELS = ["fast", "fast-psnr", "quality"]  # fast-real is for real photos: on clean crops it smooths (README)
WITH_ONNX = ["fast", "fast-real"]  # also ship onnx/model.onnx, written by `facesr export NAME -o facesr_hub/weights`


def test_default_models_are_bundled() -> None:
    assert bundled_weights_dir() == WEIGHTS
    assert set(SHIPPED) <= set(bundled_model_names())


def test_bundled_weights_stay_small() -> None:
    total = sum(f.stat().st_size for f in WEIGHTS.rglob("*") if f.is_file())
    assert total < 60e6, f"facesr_hub/weights/ holds {total / 1e6:.1f} MB"


@pytest.mark.parametrize("name", WITH_ONNX)
def test_bundled_onnx_file_is_the_export_of_the_bundled_weights(name: str) -> None:
    """A model retrained without re-exporting fails here (the onnxruntime backend would skip the stale file)."""
    pytest.importorskip("onnxruntime")
    from facesr_hub.onnx_export import ONNX_PATH, onnx_is_current

    assert (WEIGHTS / name / ONNX_PATH).is_file()
    assert onnx_is_current(WEIGHTS / name), f"stale {ONNX_PATH}: run `facesr export {name} -o facesr_hub/weights`"


@pytest.mark.parametrize("name", sorted(bundled_model_names()))
def test_bundled_model_loads_strictly_by_name(name: str) -> None:
    folder = WEIGHTS / name
    config = json.loads((folder / "config.json").read_text())
    model = load_generator(name, device="cpu")  # load_generator always loads with strict=True
    assert isinstance(model, GENERATORS[config["architecture"]])
    assert not model.training
    card = (folder / "README.md").read_text()
    assert "non-commercial research" in card
    assert "## Held-out evaluation" in card, "the card must carry the measured held-out numbers"
    out = model(torch.rand(1, 3, 8, 8))
    assert out.shape == (1, 3, 32, 32) and torch.isfinite(out).all()


@pytest.fixture(scope="module")
def held_out_faces() -> tuple[torch.Tensor, torch.Tensor]:
    records = collect_images(HELD_OUT, "test", limit=8)
    hr = torch.stack([prepare_hr(r.path, celeba_aligned=False) for r in records]).float() / 255
    return degrade(hr), hr


@pytest.mark.parametrize("name", CLEAN_INPUT_MODELS)
def test_shipped_model_beats_bicubic_on_held_out_faces(name: str, held_out_faces) -> None:
    """A real, failing-if-broken check: random or mis-loaded weights score far below bicubic."""
    lr, hr = held_out_faces
    model = load_generator(name, device="cpu")
    with torch.inference_mode():
        sr = model(lr).clamp(0, 1)
    bicubic = torch.nn.functional.interpolate(lr, scale_factor=4, mode="bicubic", align_corners=False).clamp(0, 1)
    gain = (psnr(sr, hr) - psnr(bicubic, hr)).mean().item()
    assert gain > 0.3, f"{name}: {gain:+.2f} dB over bicubic"


def test_fast_real_beats_bicubic_and_fast_on_realistic_inputs(held_out_faces) -> None:
    """The blind models' reason to exist: on blurred, noisy, JPEG-compressed inputs, fast-real-psnr gains PSNR over
    bicubic and fast, and fast-real (its GAN stage) is perceptually far closer to the truth than both."""
    from facesr_hub.metrics import MetricSuite

    _, hr = held_out_faces
    lr = degrade_all((hr * 255).round().to(torch.uint8), "realistic", seed=0)
    suite = MetricSuite("cpu", lpips_nets=("alex",), identity=False)
    outputs = {"bicubic": torch.nn.functional.interpolate(lr, scale_factor=4, mode="bicubic", align_corners=False)}
    with torch.inference_mode():
        for name in ("fast", "fast-real", "fast-real-psnr"):
            outputs[name] = load_generator(name, device="cpu")(lr)
        scores = {name: {k: v.mean().item() for k, v in suite(sr.clamp(0, 1), hr).items()}
                  for name, sr in outputs.items()}
    psnr_gain = scores["fast-real-psnr"]["psnr"] - scores["bicubic"]["psnr"]
    assert psnr_gain > 0.3 and scores["fast-real-psnr"]["psnr"] > scores["fast"]["psnr"], scores
    lpips_real = scores["fast-real"]["lpips_alex"]
    assert lpips_real < 0.8 * scores["bicubic"]["lpips_alex"] and lpips_real < scores["fast"]["lpips_alex"], scores
