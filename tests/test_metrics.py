"""PSNR / SSIM against closed forms and an independent BasicSR-style reference; LPIPS and identity on real faces."""

from __future__ import annotations

import io
import math
import shutil
import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from numpy.lib.stride_tricks import sliding_window_view
from PIL import Image

from facesr_hub import metrics
from facesr_hub.metrics import (
    LPIPS,
    IdentitySimilarity,
    IdentityUnavailableError,
    MetricSuite,
    lpips_distance,
    psnr,
    rgb_to_y,
    ssim,
)
from paths import CELEBA_HQ

FACES_DIR = CELEBA_HQ
FACE_IDS = (0, 1, 2)  # three different people


def _to_tensor(img: Image.Image) -> torch.Tensor:
    return torch.from_numpy(np.array(img.convert("RGB"))).permute(2, 0, 1).float() / 255


def _jpeg(face: torch.Tensor, quality: int) -> torch.Tensor:
    buffer = io.BytesIO()
    Image.fromarray((face.permute(1, 2, 0) * 255).round().byte().numpy()).save(buffer, "JPEG", quality=quality)
    return _to_tensor(Image.open(buffer))


@pytest.fixture(scope="module")
def faces(tmp_path_factory) -> torch.Tensor:
    """Three real 256x256 aligned faces, copied into a temporary folder first."""
    folder = tmp_path_factory.mktemp("faces")
    paths = [shutil.copy(FACES_DIR / f"{i:05d}.png", folder) for i in FACE_IDS]
    return torch.stack([_to_tensor(Image.open(p)) for p in paths])


@pytest.fixture(scope="module")
def cache_dir(backbone_cache_dir):
    return backbone_cache_dir


@pytest.fixture(scope="module")
def suite(cache_dir) -> MetricSuite:
    return MetricSuite("cpu", cache_dir=cache_dir)


# --- PSNR / SSIM -------------------------------------------------------------------------------------------------

def test_psnr_of_a_constant_offset_is_known():
    hr = torch.rand(2, 3, 24, 24) * 0.8
    sr = hr + 0.1  # MSE = 0.01 in every channel -> exactly 20 dB
    torch.testing.assert_close(psnr(sr, hr), torch.full((2,), 20.0, dtype=torch.float64))
    # Y = (16 + 219 * 0.1 offset ...)/255: the offset in Y is 0.1 * (65.481 + 128.553 + 24.966) / 255 = 0.1 * 219/255
    expected_y = -20 * math.log10(0.1 * 219 / 255)
    torch.testing.assert_close(psnr(sr, hr, y_channel=True), torch.full((2,), expected_y, dtype=torch.float64))


def test_identical_images_give_inf_psnr_and_unit_ssim(faces):
    face = faces[:1, :, 64:192, 64:192]  # a 128x128 crop keeps float64 SSIM quick on CPU
    assert torch.isinf(psnr(face, face)).all() and torch.isinf(psnr(face, face, y_channel=True)).all()
    torch.testing.assert_close(ssim(face, face), torch.ones(1, dtype=torch.float64))
    torch.testing.assert_close(ssim(face, face, y_channel=True), torch.ones(1, dtype=torch.float64))


def test_crop_border_ignores_the_border():
    hr = torch.rand(1, 3, 32, 32)
    sr = hr.clone()
    sr[..., :4, :] = 0  # damage only the top 4 rows
    assert torch.isinf(psnr(sr, hr, crop_border=4)).all() and ssim(sr, hr, crop_border=4).item() == 1.0
    assert psnr(sr, hr, crop_border=0).item() < 30 and ssim(sr, hr, crop_border=0).item() < 1


def test_y_channel_matches_bt601():
    rgb = torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [1.0, 1.0, 1.0], [0.0, 0.0, 0.0]])
    y = rgb_to_y(rgb.T.reshape(1, 3, 5, 1)).flatten() * 255
    torch.testing.assert_close(y, torch.tensor([16 + 65.481, 16 + 128.553, 16 + 24.966, 235.0, 16.0]))


def _reference_ssim(a: np.ndarray, b: np.ndarray) -> float:
    """BasicSR's ``_ssim`` for one channel in [0, 255]: 11x11 Gaussian (sigma 1.5), valid windows, float64."""
    x = np.arange(11) - 5
    g = np.exp(-(x ** 2) / (2 * 1.5 ** 2))
    g /= g.sum()

    def filt(img):  # separable 'valid' filtering with the outer(g, g) window
        rows = sliding_window_view(img, 11, axis=0) @ g
        return sliding_window_view(rows, 11, axis=1) @ g

    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    mu1, mu2 = filt(a), filt(b)
    s11, s22, s12 = filt(a * a) - mu1 ** 2, filt(b * b) - mu2 ** 2, filt(a * b) - mu1 * mu2
    ssim_map = ((2 * mu1 * mu2 + c1) * (2 * s12 + c2)) / ((mu1 ** 2 + mu2 ** 2 + c1) * (s11 + s22 + c2))
    return float(ssim_map.mean())


def test_ssim_matches_an_independent_basicsr_reference(faces):
    faces = faces[..., 64:192, 64:192]  # 128x128 centre crops keep float64 SSIM quick on CPU
    lr = F.interpolate(faces, scale_factor=0.25, mode="bicubic", antialias=True)
    sr = F.interpolate(lr, scale_factor=4, mode="bicubic").clamp(0, 1)  # a realistic 4x SR degradation
    hr64, sr64 = faces.double().numpy()[..., 4:-4, 4:-4], sr.double().numpy()[..., 4:-4, 4:-4]
    rgb_ref = [np.mean([_reference_ssim(hr64[i, c] * 255, sr64[i, c] * 255) for c in range(3)]) for i in range(3)]
    weights = np.array([65.481, 128.553, 24.966]).reshape(3, 1, 1)
    y_ref = [_reference_ssim(16 + (sr64[i] * weights).sum(0), 16 + (hr64[i] * weights).sum(0)) for i in range(3)]
    torch.testing.assert_close(ssim(sr, faces), torch.tensor(rgb_ref, dtype=torch.float64), atol=1e-8, rtol=0)
    torch.testing.assert_close(ssim(sr, faces, y_channel=True), torch.tensor(y_ref, dtype=torch.float64),
                               atol=1e-8, rtol=0)
    assert (ssim(sr, faces) < 0.95).all() and (psnr(sr, faces) > 20).all()


@pytest.mark.parametrize(("sr_shape", "hr_shape", "kwargs", "match"), [
    ((1, 3, 32, 32), (1, 3, 32, 30), {}, "differ"),
    ((1, 1, 32, 32), (1, 1, 32, 32), {}, "RGB"),
    ((3, 32, 32), (3, 32, 32), {}, "RGB"),
    ((1, 3, 32, 32), (1, 3, 32, 32), {"crop_border": -1}, "crop_border"),
    ((1, 3, 18, 18), (1, 3, 18, 18), {"crop_border": 4}, "11x11"),
])
def test_bad_inputs_are_value_errors(sr_shape, hr_shape, kwargs, match):
    with pytest.raises(ValueError, match=match):
        ssim(torch.rand(sr_shape), torch.rand(hr_shape), **kwargs)


# --- LPIPS -------------------------------------------------------------------------------------------------------

def test_lpips_separates_different_people_from_a_jpeg_copy(faces, suite):
    """Robust evidence that the converted trunks are the trained ones.

    LPIPS between two unrelated face photos is large (alex ~0.4-0.5, vgg ~0.5-0.6 here), while a JPEG q90 copy
    is nearly invisible (<0.01 / <0.06). LPIPS' calibrated heads on a random or scrambled trunk still rank the pairs
    correctly but collapse the large distance (~0.12-0.19 for different people, measured with lpips' own random
    init below), so absolute thresholds, not a ratio, separate trained from garbage weights.
    """
    jpeg = torch.stack([_jpeg(f, 90) for f in faces])
    others = faces.roll(1, dims=0)
    pairs_sr, pairs_hr = torch.cat([jpeg, others]), torch.cat([faces, faces])
    for net, max_jpeg, min_other in (("alex", 0.02, 0.3), ("vgg", 0.1, 0.4)):
        d = lpips_distance(pairs_sr, pairs_hr, net, metric=suite.lpips[net])
        assert d.shape == (6,)
        assert (d[:3] < max_jpeg).all() and (d[3:] > min_other).all(), (net, d)
        torch.testing.assert_close(suite.lpips[net](faces, faces), torch.zeros(3), atol=1e-6, rtol=0)

    import lpips

    # Negative control: the same calibrated heads (loaded by lpips itself) on its randomly initialised AlexNet.
    with torch.random.fork_rng(), warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # lpips passes torchvision the deprecated `pretrained=`
        torch.manual_seed(0)
        reference = lpips.LPIPS(net="alex", pnet_rand=True, verbose=False).eval()
    with torch.no_grad():
        assert (reference(others, faces, normalize=True).flatten() < 0.3).all()
        # With our AlexNet copied in the ordinary way, lpips' own model gives exactly our numbers.
        ours = suite.lpips["alex"].model.net
        for name, tensor in reference.net.named_parameters():
            tensor.copy_(ours.get_parameter(name))
        torch.testing.assert_close(reference(pairs_sr, pairs_hr, normalize=True).flatten(),
                                   suite.lpips["alex"](pairs_sr, pairs_hr))


def test_lpips_rejects_unknown_nets_and_mismatched_metrics(suite, faces):
    with pytest.raises(ValueError, match="squeeze"):
        LPIPS("squeeze")
    with pytest.raises(ValueError, match="vgg"):
        lpips_distance(faces, faces, "vgg", metric=suite.lpips["alex"])


# --- identity ----------------------------------------------------------------------------------------------------

def test_identity_similarity_on_real_faces(faces, suite):
    identity = suite.identity
    assert identity is not None, suite.notes
    jpeg = torch.stack([_jpeg(f, 90) for f in faces])
    same, copy, other = identity(faces, faces), identity(jpeg, faces), identity(faces.roll(1, dims=0), faces)
    torch.testing.assert_close(same, torch.ones(3, dtype=torch.float64))
    assert (copy > 0.99).all(), copy
    assert (other < 0.95).all() and (other < copy.min() - 0.05).all(), other  # measured 0.83-0.90


def test_identity_is_nan_where_no_descriptor_exists(faces, suite):
    broken = faces[:2].clone()
    broken[1, :, 10, 10] = float("nan")
    out = suite.identity(broken, faces[:2])
    assert out[0] == pytest.approx(1.0) and math.isnan(out[1])


def test_identity_without_model_files_is_a_clear_error(tmp_path):
    with pytest.raises(IdentityUnavailableError, match="face-recognition-models"):
        IdentitySimilarity(models_dir=tmp_path)


# --- suite -------------------------------------------------------------------------------------------------------

def test_suite_returns_every_metric_per_image(faces, suite):
    hr = F.interpolate(faces[:2], size=(128, 128), mode="area")  # smaller: quick on CPU
    sr = (hr + 0.5).clamp(0, 1)  # what `suite` does to out-of-range SR itself
    out = suite(hr + 0.5, hr)
    assert set(out) == {"psnr", "ssim", "psnr_y", "ssim_y", "lpips_alex", "lpips_vgg", "identity"}
    assert all(v.shape == (2,) and v.dtype == torch.float64 and v.device.type == "cpu" for v in out.values())
    torch.testing.assert_close(out["psnr"], psnr(sr, hr))
    torch.testing.assert_close(out["ssim_y"], ssim(sr, hr, y_channel=True))
    torch.testing.assert_close(out["lpips_vgg"], suite.lpips["vgg"](sr, hr).double())
    assert suite.notes == []


def test_suite_omits_identity_with_a_note_when_dlib_models_are_missing(cache_dir, tmp_path, monkeypatch, faces):
    monkeypatch.setattr(metrics, "_face_models_dir", lambda: tmp_path)  # as if face-recognition-models were absent
    small = MetricSuite("cpu", lpips_nets=(), cache_dir=cache_dir)
    assert set(small(faces[:1], faces[:1])) == {"psnr", "ssim", "psnr_y", "ssim_y"}
    assert len(small.notes) == 1 and "identity omitted" in small.notes[0]


@pytest.mark.parametrize("kwargs", [{"lpips_nets": ("alex", "alex")}, {"lpips_nets": ("squeeze",)},
                                    {"crop_border": -2}])
def test_suite_validates_its_arguments(kwargs):
    with pytest.raises(ValueError):
        MetricSuite("cpu", identity=False, **kwargs)
