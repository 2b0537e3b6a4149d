"""Which backend runs the app's models: PyTorch, or onnxruntime on the CPU where it measured faster."""

from __future__ import annotations

import torch

from ..loading import BACKENDS
from ..onnx_export import onnx_available

#: What ``ModelRegistry(backend=...)``, ``--backend`` and ``FACESR_BACKEND`` accept.
APP_BACKENDS = ("auto", *BACKENDS)
#: The backend ``auto`` runs on the CPU: the faster one in ``benchmarks/speed.py --models fast,fast-real,quality
#: --threads 1,2 --photo`` (AMD EPYC, 2 cores, both also busy with two nice-10 training runs; onnxruntime 1.32, torch
#: 2.15). Per 64x64 face with one thread onnxruntime took 50 / 68 / 1047 ms against PyTorch's 51 / 75 / 1220 (fast /
#: fast-real / quality: 1.03-1.16x faster); with two threads PyTorch's OpenMP pool stalls on the shared cores (734 /
#: 1028 / 4276 ms) where onnxruntime's does not (65 / 77 / 1185 ms); a 12 MP whole-photo request at x1 took 1.3 /
#: 1.3 / 4.3 s instead of 3.3 / 4.2 / 36.4 s. A GPU always runs torch.
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
