"""Image-quality metrics for 4x face SR: PSNR / SSIM (RGB and Y), LPIPS (alex / vgg), dlib identity similarity.

All functions take RGB float tensors in [0, 1] shaped (B, 3, H, W) and return one value per image, shape (B,).
PSNR / SSIM follow BasicSR's conventions (the numbers SR papers report): ``crop_border`` pixels are dropped on
every side, Y is BT.601 ``(16 + 65.481 R + 128.553 G + 24.966 B) / 255``, and SSIM is the 11x11 Gaussian
(sigma 1.5) SSIM averaged over the windows that lie fully inside the image (MATLAB's ``'valid'``).
Values are neither clamped nor quantised here; ``MetricSuite`` clamps SR output to [0, 1] first.
"""

from __future__ import annotations

import math
import os
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

from .extras import require

require("train", "torchmetrics", "torchvision")
from torchmetrics.functional.image import peak_signal_noise_ratio, structural_similarity_index_measure

from .backbones import load_alexnet_features, load_vgg16_features
from .devices import resolve_device
from .faces.detection import default_models_dir

if TYPE_CHECKING:
    import dlib

LPIPS_NETS = ("alex", "vgg")
_SSIM_SIGMA = 1.5
_SSIM_RADIUS = 5  # torchmetrics' Gaussian kernel for sigma 1.5 is 11x11
_Y_WEIGHTS = (65.481, 128.553, 24.966)


def _check_pair(sr: torch.Tensor, hr: torch.Tensor) -> None:
    if sr.ndim != 4 or sr.shape[1] != 3:
        raise ValueError(f"expected RGB tensors shaped (B, 3, H, W), got {tuple(sr.shape)}")
    if sr.shape != hr.shape:
        raise ValueError(f"sr and hr shapes differ: {tuple(sr.shape)} vs {tuple(hr.shape)}")


def rgb_to_y(img: torch.Tensor) -> torch.Tensor:
    """BT.601 luma of [0, 1] RGB as in MATLAB's ``rgb2ycbcr`` / BasicSR: (B, 3, H, W) -> (B, 1, H, W)."""
    weights = torch.tensor(_Y_WEIGHTS, dtype=img.dtype, device=img.device).view(1, 3, 1, 1)
    return (16.0 + (img * weights).sum(dim=1, keepdim=True)) / 255.0


def _prepare(sr: torch.Tensor, hr: torch.Tensor, crop_border: int,
             y_channel: bool) -> tuple[torch.Tensor, torch.Tensor]:
    _check_pair(sr, hr)
    if crop_border < 0:
        raise ValueError(f"crop_border must be >= 0, got {crop_border}")
    # float64 like BasicSR's numpy code. float32 SSIM loses ~1e-5 to cancellation in E[x^2] - E[x]^2 (identical
    # images score 0.99999); float64 costs ~0.5 s per 256x256 image on one CPU core, less than LPIPS-vgg.
    sr, hr = sr.to(torch.float64), hr.to(torch.float64)
    if crop_border:
        sr = sr[..., crop_border:-crop_border, crop_border:-crop_border]
        hr = hr[..., crop_border:-crop_border, crop_border:-crop_border]
    if sr.shape[-1] < 1 or sr.shape[-2] < 1:
        raise ValueError(f"crop_border={crop_border} leaves nothing of a {tuple(hr.shape[-2:])} image")
    if y_channel:
        sr, hr = rgb_to_y(sr), rgb_to_y(hr)
    return sr, hr


def psnr(sr: torch.Tensor, hr: torch.Tensor, *, crop_border: int = 4, y_channel: bool = False) -> torch.Tensor:
    """Per-image PSNR in dB (data range 1), (B,) float64; identical images give ``inf``."""
    sr, hr = _prepare(sr, hr, crop_border, y_channel)
    return peak_signal_noise_ratio(sr, hr, data_range=1.0, reduction="none", dim=(1, 2, 3))


def ssim(sr: torch.Tensor, hr: torch.Tensor, *, crop_border: int = 4, y_channel: bool = False) -> torch.Tensor:
    """Per-image SSIM (Gaussian 11x11, sigma 1.5, valid windows only, channel mean), (B,) float64; identical -> 1."""
    sr, hr = _prepare(sr, hr, crop_border, y_channel)
    if min(sr.shape[-2:]) <= 2 * _SSIM_RADIUS:
        raise ValueError(f"SSIM needs images larger than 11x11 after cropping, got {tuple(sr.shape[-2:])}")
    # torchmetrics reflect-pads and averages the whole map; BasicSR/MATLAB average only windows fully inside the
    # image, so take the full map and drop the padded border ourselves.
    _, ssim_map = structural_similarity_index_measure(
        sr, hr, gaussian_kernel=True, sigma=_SSIM_SIGMA, data_range=1.0, reduction="none", return_full_image=True)
    r = _SSIM_RADIUS
    return ssim_map[..., r:-r, r:-r].mean(dim=(1, 2, 3))


class LPIPS(torch.nn.Module):
    """LPIPS v0.1 (Zhang et al. 2018) from the ``lpips`` package, with backbone weights from ``facesr_hub.backbones``.

    The package's linear heads are loaded strictly from its own ``weights/v0.1/{net}.pth``; nothing is downloaded.
    ``forward(sr, hr)`` takes [0, 1] RGB and returns (B,) distances (0 for identical images).
    """

    def __init__(self, net: str = "alex", *, device: torch.device | str | None = None,
                 cache_dir: str | os.PathLike[str] | None = None) -> None:
        super().__init__()
        if net not in LPIPS_NETS:
            raise ValueError(f"net must be one of {LPIPS_NETS}, got {net!r}")
        require("train", "lpips", feature="LPIPS")
        import lpips  # heavy import, only when LPIPS is actually used

        with warnings.catch_warnings(), torch.device("meta"):
            # lpips calls torchvision with the deprecated `pretrained=False`; harmless, and it downloads nothing.
            warnings.filterwarnings("ignore", category=UserWarning, module=r"torchvision\.models\._utils")
            # On the meta device nothing is allocated or randomly initialised (a random VGG16 with its
            # classifier takes seconds); every tensor is then assigned below from real weights.
            model = lpips.LPIPS(net=net, version="0.1", pretrained=False, pnet_rand=True, verbose=False)
        heads_path = Path(lpips.__file__).parent / "weights" / "v0.1" / f"{net}.pth"
        heads = torch.load(heads_path, map_location="cpu", weights_only=True)
        # `lins` is a ModuleList aliasing lin0..lin4, so the same head tensors appear under both names.
        heads = {**heads, **{f"lins.{k.removeprefix('lin')}": v for k, v in heads.items()}}
        trunk = (load_alexnet_features if net == "alex" else load_vgg16_features)("cpu", cache_dir=cache_dir)
        features = trunk.state_dict()  # keys "0.weight", ... (torchvision features indices)
        # lpips splits torchvision's `features` into slices whose children keep the original indices as names.
        trunk_state = {f"net.{k}": features[k.split(".", 1)[1]] for k in model.net.state_dict()}
        used = {k.split(".", 1)[1] for k in model.net.state_dict()}
        if used != set(features):
            raise RuntimeError(f"lpips {net} trunk does not use backbone tensors {sorted(set(features) - used)}")
        # The scaling layer's constants are built with torch.Tensor(list), which ignores the meta device.
        scaling = {f"scaling_layer.{k}": v for k, v in model.scaling_layer.state_dict().items()}
        model.load_state_dict({**heads, **trunk_state, **scaling}, strict=True, assign=True)
        if any(t.is_meta for t in model.state_dict().values()):
            raise RuntimeError(f"lpips {net}: some tensors were not loaded")
        self.net = net
        self.model = model.to(resolve_device(device)).eval().requires_grad_(False)

    def forward(self, sr: torch.Tensor, hr: torch.Tensor) -> torch.Tensor:
        _check_pair(sr, hr)
        return self.model(sr, hr, normalize=True).flatten()  # normalize=True: [0, 1] -> [-1, 1]


def lpips_distance(sr: torch.Tensor, hr: torch.Tensor, net: str = "alex", *, metric: LPIPS | None = None,
                   cache_dir: str | os.PathLike[str] | None = None) -> torch.Tensor:
    """Per-image LPIPS, (B,). Builds the network each call unless ``metric`` is given: hold an ``LPIPS`` to reuse it."""
    if metric is None:
        metric = LPIPS(net, device=sr.device, cache_dir=cache_dir)
    elif metric.net != net:
        raise ValueError(f"metric is LPIPS-{metric.net} but net={net!r} was asked for")
    with torch.no_grad():
        return metric(sr, hr)


class IdentityUnavailableError(RuntimeError):
    """dlib or the face_recognition_models files are missing."""


def _face_models_dir() -> Path | None:
    """dlib's model folder, or None when ``face_recognition_models`` is not installed."""
    try:
        return default_models_dir()
    except FileNotFoundError:
        return None


class IdentitySimilarity:
    """Cosine similarity of dlib's 128-D face descriptors (ResNet, 5-point alignment), one value per image pair.

    The face box is found once on HR by dlib's HOG detector (largest face) and reused for SR, so both descriptors
    see the same region; aligned crops where HOG finds nothing fall back to the whole image. A pair gets NaN when
    an image is non-finite or dlib cannot compute a descriptor. Runs on CPU (dlib), whatever the tensors' device.
    """

    def __init__(self, *, models_dir: str | os.PathLike[str] | None = None) -> None:
        try:
            import dlib
        except ImportError as err:
            raise IdentityUnavailableError("identity similarity needs dlib: `uv sync` (dlib-bin)") from err
        folder = Path(models_dir) if models_dir is not None else _face_models_dir()
        files = [folder / name for name in ("shape_predictor_5_face_landmarks.dat",
                                            "dlib_face_recognition_resnet_model_v1.dat")] if folder else []
        if not files or not all(f.is_file() for f in files):
            raise IdentityUnavailableError(
                f"dlib model files not found in {folder}; install face-recognition-models (`uv sync`)")
        self._dlib = dlib
        self._detector = dlib.get_frontal_face_detector()
        self._landmarks = dlib.shape_predictor(str(files[0]))
        self._encoder = dlib.face_recognition_model_v1(str(files[1]))

    @staticmethod
    def _to_uint8(img: torch.Tensor) -> np.ndarray:
        return np.ascontiguousarray(
            (img.detach().float().clamp(0, 1) * 255).round().to(torch.uint8).permute(1, 2, 0).cpu().numpy())

    def _face_box(self, img: np.ndarray) -> dlib.rectangle:
        faces = self._detector(img, 0)
        if len(faces):
            return max(faces, key=lambda r: r.area())
        return self._dlib.rectangle(0, 0, img.shape[1] - 1, img.shape[0] - 1)

    def _descriptor(self, img: np.ndarray, box: dlib.rectangle) -> np.ndarray | None:
        try:
            shape = self._landmarks(img, box)
            return np.asarray(self._encoder.compute_face_descriptor(img, shape), dtype=np.float64)
        except RuntimeError:  # dlib refuses some inputs (e.g. degenerate boxes); that pair is NaN, not an error
            return None

    def __call__(self, sr: torch.Tensor, hr: torch.Tensor) -> torch.Tensor:
        _check_pair(sr, hr)
        out = torch.full((sr.shape[0],), math.nan, dtype=torch.float64)
        for i in range(sr.shape[0]):
            if not (torch.isfinite(sr[i]).all() and torch.isfinite(hr[i]).all()):
                continue
            hr_img, sr_img = self._to_uint8(hr[i]), self._to_uint8(sr[i])
            box = self._face_box(hr_img)
            d_hr, d_sr = self._descriptor(hr_img, box), self._descriptor(sr_img, box)
            if d_hr is not None and d_sr is not None:
                out[i] = float(d_hr @ d_sr / (np.linalg.norm(d_hr) * np.linalg.norm(d_sr)))
        return out


class MetricSuite:
    """Every metric for a batch of SR/HR pairs, with the networks loaded once and held here.

    ``suite(sr, hr)`` returns ``{"psnr", "ssim", "psnr_y", "ssim_y", "lpips_alex", "lpips_vgg", "identity"}``
    (each (B,) float64 on CPU); LPIPS keys follow ``lpips_nets``; ``identity`` is omitted, with a line in
    ``notes``, when dlib or its model files are unavailable. SR is clamped to [0, 1] first; PSNR/SSIM drop
    ``crop_border`` pixels per side, LPIPS and identity see the whole image.
    """

    def __init__(self, device: torch.device | str | None = None, *, lpips_nets: Sequence[str] = LPIPS_NETS,
                 identity: bool = True, crop_border: int = 4,
                 cache_dir: str | os.PathLike[str] | None = None) -> None:
        lpips_nets = tuple(lpips_nets)
        if not set(lpips_nets) <= set(LPIPS_NETS) or len(set(lpips_nets)) != len(lpips_nets):
            raise ValueError(f"lpips_nets must be distinct names from {LPIPS_NETS}, got {lpips_nets}")
        if crop_border < 0:
            raise ValueError(f"crop_border must be >= 0, got {crop_border}")
        self.device = resolve_device(device)
        self.crop_border = crop_border
        self.notes: list[str] = []
        self.lpips = {net: LPIPS(net, device=self.device, cache_dir=cache_dir) for net in lpips_nets}
        self.identity: IdentitySimilarity | None = None
        if identity:
            try:
                self.identity = IdentitySimilarity()
            except IdentityUnavailableError as err:
                self.notes.append(f"identity omitted: {err}")

    @torch.inference_mode()
    def __call__(self, sr: torch.Tensor, hr: torch.Tensor) -> dict[str, torch.Tensor]:
        _check_pair(sr, hr)
        sr = sr.to(self.device, torch.float32).clamp(0, 1)
        hr = hr.to(self.device, torch.float32)
        out = {
            "psnr": psnr(sr, hr, crop_border=self.crop_border),
            "ssim": ssim(sr, hr, crop_border=self.crop_border),
            "psnr_y": psnr(sr, hr, crop_border=self.crop_border, y_channel=True),
            "ssim_y": ssim(sr, hr, crop_border=self.crop_border, y_channel=True),
        }
        for net, metric in self.lpips.items():
            out[f"lpips_{net}"] = metric(sr, hr)
        if self.identity is not None:
            out["identity"] = self.identity(sr, hr)
        return {k: v.detach().to("cpu", torch.float64) for k, v in out.items()}
