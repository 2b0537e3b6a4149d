"""ONNX export of a generator, checked before it counts: the ONNX checker, then onnxruntime against PyTorch.

The file is float32, opset 18, with a dynamic batch, height and width (input ``"input"``: RGB floats in [0, 1],
NCHW; output ``"output"``: 4x larger, not clamped, like the PyTorch model). It is written beside the weights as
``onnx/model.onnx``, the layout the Hub repos and the bundled folders use. ``onnx`` and ``onnxruntime`` come with
the ``[onnx]`` extra and are imported only when an export runs.
"""

from __future__ import annotations

import copy
import hashlib
import io
import json
import logging
import math
import os
import re
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .extras import install_command, missing
from .generators import CONFIG_NAME
from .images import load_image, pil_to_tensor
from .loading import load_generator

if TYPE_CHECKING:
    import onnx

logger = logging.getLogger(__name__)

ONNX_OPSET = 18
ONNX_SUBFOLDER = "onnx"
ONNX_FILENAME = "model.onnx"
ONNX_PATH = f"{ONNX_SUBFOLDER}/{ONNX_FILENAME}"  # inside a model folder or Hub repo
INPUT_NAME, OUTPUT_NAME = "input", "output"
#: Smallest PSNR (dB) between onnxruntime's and PyTorch's outputs that counts as "the same model"; fp32 exports
#: score about 140 dB, a wrong operator or layout a few tens.
MIN_PARITY_PSNR = 60.0
#: The LR sizes (height, width) the check runs: the protocol's 64x64 face and a non-square one, so that a
#: dimension baked in by the tracer shows up as an error rather than at a user's first odd-sized photo.
CHECK_SIZES: tuple[tuple[int, int], ...] = ((64, 64), (48, 80))
#: Metadata key holding :func:`weights_digest` of the weights the file was exported from.
DIGEST_KEY = "facesr_hub.weights_sha256"
#: Real faces for the check: the demo's examples (64x64 protocol inputs of held-out CelebA-HQ faces), found in a
#: source checkout; an installed wheel has none and checks on a smooth synthetic image instead.
EXAMPLES_DIR = Path(__file__).resolve().parents[1] / "examples"


class OnnxExportError(ValueError):
    """A generator that cannot be exported, or whose export does not match PyTorch; the message says why."""


@dataclass(frozen=True)
class ExportReport:
    """What an export wrote and how closely onnxruntime matched PyTorch (PSNR in dB per checked LR size)."""

    path: Path
    parity_db: dict[tuple[int, int], float]
    check_image: str
    size_bytes: int
    seconds: float


def onnx_available() -> bool:
    """True when both ``onnx`` and ``onnxruntime`` are installed (the ``[onnx]`` extra); looked up, not imported."""
    return not missing("onnx", "onnxruntime")


def weights_digest(state_dict: dict[str, torch.Tensor]) -> str:
    """SHA-256 over a state dict's names and float32 values: ties an ONNX file to the weights it was made from."""
    digest = hashlib.sha256()
    for name in sorted(state_dict):
        tensor = state_dict[name].detach().to(device="cpu")
        tensor = tensor.float() if tensor.is_floating_point() else tensor
        digest.update(name.encode())
        digest.update(tensor.contiguous().numpy().tobytes())
    return digest.hexdigest()


def reference_face(examples_dir: Path = EXAMPLES_DIR) -> tuple[torch.Tensor, str]:
    """(a real face as a (1, 3, H, W) float batch in [0, 1], its name) for the parity check.

    The first ``*.png`` of ``examples_dir``; without one (an installed wheel), a smooth synthetic image, named so.
    """
    files = sorted(examples_dir.glob("*.png")) if examples_dir.is_dir() else []
    if files:
        return pil_to_tensor(load_image(files[0]).convert("RGB"))[None], files[0].name
    logger.warning("no example face in %s: checking the ONNX export on a synthetic image", examples_dir)
    grid = torch.linspace(0, 1, 64)
    synthetic = torch.stack([grid[None].expand(64, 64), grid[:, None].expand(64, 64),
                             0.5 + 0.4 * torch.sin(12 * grid[None] * grid[:, None])])
    return synthetic[None], "synthetic gradient"


def check_inputs(face: torch.Tensor) -> dict[tuple[int, int], torch.Tensor]:
    """The check's LR inputs: ``face`` resized to each size of :data:`CHECK_SIZES` by the protocol's kernel.

    That is ``facesr_hub.data.resize_8bit`` (antialiased bicubic, clamped, 8-bit), so a 256-px face becomes exactly
    the protocol's 64x64 input and a 64x64 example stays as it is. It is spelled out here because
    ``facesr_hub.data`` needs torchvision, which the ``[onnx]`` extra does not bring; tests/test_onnx.py checks that
    the two agree.
    """
    def resize(size: tuple[int, int]) -> torch.Tensor:
        out = F.interpolate(face.float(), size=size, mode="bicubic", antialias=True, align_corners=False)
        return out.clamp_(0.0, 1.0).mul_(255.0).round_().div_(255.0)

    return {size: resize(size) for size in CHECK_SIZES}


def parity_psnr(a: np.ndarray, b: np.ndarray) -> float:
    """PSNR (dB) between two outputs after the clamp to [0, 1] that ``upscale`` applies; ``inf`` when equal."""
    mse = float(np.mean((np.clip(a, 0, 1).astype(np.float64) - np.clip(b, 0, 1)) ** 2))
    return math.inf if mse == 0 else 10 * math.log10(1 / mse)


def export_onnx(model: nn.Module, path: str | os.PathLike, *, opset: int = ONNX_OPSET, optimize: bool = True,
                check: bool = True, min_psnr: float = MIN_PARITY_PSNR) -> ExportReport:
    """Export ``model`` to an ONNX file and check it against PyTorch before writing it.

    Args:
        model: a generator (any device or dtype; a float32 CPU copy is exported, the model is not changed).
        path: the ``.onnx`` file to write (parents created; written atomically, only after the checks pass).
        opset: ONNX opset, 18 or newer.
        optimize: apply the exact graph rewrites of :mod:`facesr_hub.onnx_graph` that onnxruntime runs faster.
        check: run ``onnx.checker`` and compare onnxruntime (CPU) with PyTorch on a real face at each of
            :data:`CHECK_SIZES`.
        min_psnr: the smallest PSNR (dB) between the two outputs that passes.

    Returns:
        The file written and the parity figures.

    Raises:
        OnnxExportError: an operator without an ONNX (or onnxruntime CPU) equivalent, named in the message; a
            graph the checker refuses; outputs that differ from PyTorch's.
        ImportError: ``onnx`` / ``onnxruntime`` are not installed (``pip install 'facesr-hub[onnx]'``).
    """
    import onnx

    if opset < ONNX_OPSET:
        raise ValueError(f"opset must be >= {ONNX_OPSET}, got {opset}")
    start = time.perf_counter()
    path = Path(path)
    exportable = copy.deepcopy(model).to(device="cpu", dtype=torch.float32).eval()
    name = type(model).__name__
    face, face_name = reference_face()
    inputs = check_inputs(face)
    proto = _torch_export(exportable, inputs[CHECK_SIZES[0]], opset, name)
    if optimize:
        from .onnx_graph import optimize_for_onnxruntime

        proto = optimize_for_onnxruntime(proto)
    proto.producer_name, proto.producer_version = "facesr-hub", torch.__version__
    metadata = {DIGEST_KEY: weights_digest(exportable.state_dict()), "scale": str(getattr(model, "scale", 4)),
                "architecture": str(getattr(model, "architecture", name)), "input_range": "[0, 1] RGB NCHW float32"}
    onnx.helper.set_model_props(proto, metadata)
    data = proto.SerializeToString()
    parity = {}
    if check:
        try:
            onnx.checker.check_model(proto, full_check=True)
        except (onnx.checker.ValidationError, onnx.shape_inference.InferenceError) as error:
            raise OnnxExportError(f"{name}: the exported graph fails onnx.checker: {error}") from error
        parity = _parity(exportable, data, inputs, name)
        worst = min(parity.values())
        if worst < min_psnr:
            figures = ", ".join(f"{h}x{w}: {db:.1f} dB" for (h, w), db in parity.items())
            raise OnnxExportError(f"{name}: onnxruntime's output differs from PyTorch's ({figures}; needs >= "
                                  f"{min_psnr:.0f} dB on {face_name})")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".tmp-{path.name}-{os.getpid()}")
    tmp.write_bytes(data)
    os.replace(tmp, path)
    return ExportReport(path=path, parity_db=parity, check_image=face_name, size_bytes=len(data),
                        seconds=time.perf_counter() - start)


def _torch_export(model: nn.Module, example: torch.Tensor, opset: int, name: str) -> "onnx.ModelProto":
    import onnx

    buffer = io.BytesIO()
    dynamic = {0: "batch", 2: "height", 3: "width"}
    try:
        with warnings.catch_warnings():
            # The TorchScript exporter, on purpose: it needs no onnxscript, traces these feed-forward nets exactly,
            # and warns that a newer exporter exists.
            warnings.simplefilter("ignore", DeprecationWarning)
            warnings.simplefilter("ignore", torch.jit.TracerWarning)
            # InstanceNorm2d without running statistics normalises by the input's own statistics in eval mode too,
            # which is what the exporter's "train=True" means here (the parity check confirms it).
            warnings.filterwarnings("ignore", message="ONNX export mode is set to TrainingMode.EVAL",
                                    category=UserWarning)
            torch.onnx.export(model, (example,), buffer, dynamo=False, opset_version=opset, input_names=[INPUT_NAME],
                              output_names=[OUTPUT_NAME], do_constant_folding=True,
                              dynamic_axes={INPUT_NAME: dynamic, OUTPUT_NAME: {0: "batch", 2: "height4",
                                                                               3: "width4"}})
    except torch.onnx.errors.UnsupportedOperatorError as error:
        operator = re.search(r"operator '([^']+)'", str(error))
        raise OnnxExportError(f"{name}: cannot export to ONNX opset {opset}: the operator "
                              f"{operator.group(1) if operator else '?'} has no ONNX equivalent ({error})") from error
    except (torch.onnx.OnnxExporterError, RuntimeError) as error:
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise OnnxExportError(f"{name}: torch.onnx.export failed: {first_line}") from error
    return onnx.load_from_string(buffer.getvalue())


def _parity(model: nn.Module, data: bytes, inputs: dict[tuple[int, int], torch.Tensor],
            name: str) -> dict[tuple[int, int], float]:
    from .onnx_runtime import make_session

    try:
        session = make_session(data)
    except Exception as error:  # onnxruntime raises its own untyped errors (NOT_IMPLEMENTED, INVALID_GRAPH, ...)
        operator = re.search(r"implementation for (\w+)", str(error))
        what = f"the operator {operator.group(1)} has no onnxruntime CPU kernel" if operator else str(error)
        raise OnnxExportError(f"{name}: onnxruntime cannot load the export: {what}") from error
    parity = {}
    with torch.inference_mode():
        for size, x in inputs.items():
            expected = model(x).numpy()
            got = session.run([OUTPUT_NAME], {INPUT_NAME: x.numpy()})[0]
            if got.shape != expected.shape:
                raise OnnxExportError(f"{name}: onnxruntime gave {got.shape} for a {size[0]}x{size[1]} input, "
                                      f"PyTorch {expected.shape}")
            parity[size] = parity_psnr(got, expected)
    return parity


def export_model(name_or_path_or_repo_id: str | os.PathLike, out_dir: str | os.PathLike, *,
                 revision: str | None = None, opset: int = ONNX_OPSET) -> ExportReport:
    """``facesr export``: load a model as ``load_generator`` does and write ``out_dir/<name>/onnx/model.onnx``
    with its ``config.json`` beside it (the Hub layout). ``<name>`` is the bundled name, the folder's name, or the
    name part of a Hub repo id.

    Raises:
        CheckpointError: the model does not load. OnnxExportError: see :func:`export_onnx`.
    """
    model = load_generator(name_or_path_or_repo_id, revision=revision, device="cpu")
    target = Path(out_dir) / Path(str(name_or_path_or_repo_id).rstrip("/\\")).name
    report = export_onnx(model, target / ONNX_PATH, opset=opset)
    # The config exactly as save_pretrained writes it (the loaded model's config is the file's, checked strictly).
    (target / CONFIG_NAME).write_text(json.dumps(model.config, indent=2, sort_keys=True))
    return report


def onnx_is_current(folder: str | os.PathLike) -> bool:
    """True when ``folder/onnx/model.onnx`` exists and records the digest of ``folder/model.safetensors``'s
    weights (a file exported before digests were recorded counts as current)."""
    import onnx
    from safetensors.torch import load_file

    from .generators import WEIGHTS_NAME

    onnx_file, weights_file = Path(folder) / ONNX_PATH, Path(folder) / WEIGHTS_NAME
    if not onnx_file.is_file():
        return False
    recorded = {prop.key: prop.value for prop in onnx.load(str(onnx_file), load_external_data=False).metadata_props}
    if DIGEST_KEY not in recorded or not weights_file.is_file():
        return True
    return recorded[DIGEST_KEY] == weights_digest(load_file(str(weights_file)))


def export_into_folder(folder: str | os.PathLike, model: nn.Module | None = None) -> ExportReport | None:
    """Write ``folder/onnx/model.onnx`` for the model saved in ``folder`` (``model``, or loaded from there), or log
    why not and return ``None``.

    For training runs and pushes: a missing ``[onnx]`` extra or a failed export must not cost the weights that are
    already written, so both are logged (a warning, an error) rather than raised.
    """
    if not onnx_available():
        logger.warning("onnx/onnxruntime are not installed: %s gets no %s (%s)", folder, ONNX_PATH,
                       install_command("onnx"))
        return None
    try:
        report = export_onnx(load_generator(folder, device="cpu") if model is None else model,
                             Path(folder) / ONNX_PATH)
    except OnnxExportError as error:
        logger.error("no %s in %s: %s", ONNX_PATH, folder, error)
        return None
    logger.info("exported %s (%.1f MB, onnxruntime vs PyTorch: %s)", report.path, report.size_bytes / 1e6,
                ", ".join(f"{h}x{w} {db:.0f} dB" for (h, w), db in report.parity_db.items()))
    return report


__all__ = ["CHECK_SIZES", "DIGEST_KEY", "INPUT_NAME", "MIN_PARITY_PSNR", "ONNX_OPSET", "ONNX_PATH", "OUTPUT_NAME",
           "ExportReport", "OnnxExportError", "check_inputs", "export_into_folder", "export_model",
           "export_onnx", "onnx_available", "onnx_is_current", "parity_psnr", "reference_face", "weights_digest"]
