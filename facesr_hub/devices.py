"""Device and dtype resolution shared by inference, training, evaluation and the app."""

from __future__ import annotations

import torch


def default_device() -> torch.device:
    """CUDA when a GPU is visible, otherwise CPU."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def resolve_device(device: torch.device | str | None) -> torch.device:
    """Turn ``None`` / ``"auto"`` / a string into a ``torch.device``, refusing CUDA when there is none."""
    if device is None or device == "auto":
        return default_device()
    device = torch.device(device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError("device 'cuda' was requested but no CUDA GPU is available; use 'cpu' or 'auto'")
    return device


_DTYPES = {"float32": torch.float32, "fp32": torch.float32, "float16": torch.float16, "fp16": torch.float16,
           "half": torch.float16, "bfloat16": torch.bfloat16, "bf16": torch.bfloat16}


def resolve_dtype(dtype: torch.dtype | str | None) -> torch.dtype | None:
    """Accept a ``torch.dtype`` or a name such as ``"fp16"``/``"bfloat16"``; ``None`` means keep the model's."""
    if dtype is None or isinstance(dtype, torch.dtype):
        return dtype
    try:
        return _DTYPES[dtype.lower()]
    except KeyError:
        raise ValueError(f"unknown dtype {dtype!r}; expected one of {sorted(_DTYPES)}") from None
