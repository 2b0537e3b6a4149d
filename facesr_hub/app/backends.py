"""Which backend runs the app's models: PyTorch, or onnxruntime on the CPU where it measured faster."""

from __future__ import annotations

import torch

from ..extras import install_command
from ..loading import BACKENDS
from ..onnx_export import onnx_available

#: What ``ModelRegistry(backend=...)``, ``--backend`` and ``FACESR_BACKEND`` accept.
APP_BACKENDS = ("auto", *BACKENDS)
#: The backend ``auto`` runs on the CPU, from ``benchmarks/speed.py --models fast,fast-real,quality --threads 1,2
#: --photo`` (docs/results/speed-cpu.md; 2-core AMD EPYC, onnxruntime 1.32, torch 2.15). On idle cores the two are
#: within 10% (2 threads, ms per 64x64 face, torch / onnxruntime: fast 27.7 / 30.6, fast-real 44.2 / 43.7, quality
#: 669 / 585; a 12 MP photo at x1 within 3%); with the cores busy PyTorch's OpenMP pool stalls (fast 734 ms) where
#: onnxruntime's does not (65 ms), and a 12 MP photo takes 1.3 s instead of 3.3. A GPU always runs torch.
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
        raise ValueError(f"backend 'onnxruntime' needs the [onnx] extra: {install_command('onnx')}")
    return backend
