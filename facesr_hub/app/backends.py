"""Which backend runs the app's models: PyTorch, or onnxruntime on the CPU where it measured faster."""

from __future__ import annotations

import torch

from ..loading import BACKENDS
from ..onnx_export import onnx_available

#: What ``ModelRegistry(backend=...)``, ``--backend`` and ``FACESR_BACKEND`` accept.
APP_BACKENDS = ("auto", *BACKENDS)
#: The backend ``auto`` runs on the CPU: the faster one in ``benchmarks/speed.py``'s side-by-side run (FILL_ME).
#: A GPU always runs torch.
CPU_BACKEND = "onnxruntime"


def resolve_backend(backend: str, device: torch.device) -> str:
    """``"torch"`` or ``"onnxruntime"`` for ``backend`` (one of :data:`APP_BACKENDS`) on ``device``.

    ``auto``: :data:`CPU_BACKEND` on the CPU when it is installed (onnxruntime comes with the ``[onnx]`` extra, not
    with ``[app]``), torch otherwise and on any GPU.

    Raises:
        ValueError: an unknown backend; onnxruntime asked for on a GPU, or without the ``[onnx]`` extra.
    """
    if backend not in APP_BACKENDS:
        raise ValueError(f"backend must be one of {APP_BACKENDS}, got {backend!r}")
    if backend == "auto":
        usable = CPU_BACKEND == "torch" or onnx_available()
        return CPU_BACKEND if device.type == "cpu" and usable else "torch"
    if backend == "onnxruntime" and device.type != "cpu":
        raise ValueError(f"backend 'onnxruntime' runs on the CPU only, but the app runs on {device}; use --device cpu "
                         "or the torch backend")
    if backend == "onnxruntime" and not onnx_available():
        raise ValueError("backend 'onnxruntime' needs the [onnx] extra: pip install 'facesr-hub[onnx]'")
    return backend
