"""``load_generator``: one call for bundled weights, local folders and Hub repos."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING

import torch
from huggingface_hub import constants, hf_hub_download
from huggingface_hub.utils import HFValidationError, validate_repo_id
from huggingface_hub.errors import (EntryNotFoundError, HfHubHTTPError, LocalEntryNotFoundError, RepositoryNotFoundError,
                                   RevisionNotFoundError)

from .devices import resolve_device, resolve_dtype
from .generators import ARCHITECTURE_KEY, CONFIG_NAME, GENERATORS, CheckpointError, Generator

if TYPE_CHECKING:
    from .onnx_runtime import OnnxGenerator

#: What ``load_generator(..., backend=...)`` can return: a PyTorch generator, or an ``OnnxGenerator`` run by
#: onnxruntime on CPU (needs the ``[onnx]`` extra).
BACKENDS = ("torch", "onnxruntime")
#: Overrides where bundled weights are looked up (default: ``facesr_hub/weights/``, inside the package).
WEIGHTS_DIR_ENV = "FACESR_WEIGHTS_DIR"
#: The bundled models ship as package data, so an installed wheel finds them offline, wherever it is installed;
#: each sub-folder is a ``save_pretrained`` folder (config.json, model.safetensors, README.md) named after the model.
PACKAGE_WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"


def bundled_weights_dir() -> Path:
    """The folder that holds one sub-folder of trained weights per bundled model name."""
    return Path(os.environ.get(WEIGHTS_DIR_ENV, PACKAGE_WEIGHTS_DIR))


def bundled_model_names() -> list[str]:
    """Names of the bundled models that have weights (``fast``, ``fast-psnr``, ...), sorted."""
    root = bundled_weights_dir()
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if (p / CONFIG_NAME).is_file() and (p / "model.safetensors").is_file())


def _read_config(source: str, revision: str | None) -> tuple[dict, str]:
    """Return (config, where) for a local folder or a Hub repo id."""
    path = Path(source)
    if path.is_dir():
        config_file = path / CONFIG_NAME
        if not config_file.is_file():
            raise CheckpointError(f"{source}: no {CONFIG_NAME} in this folder; cannot tell which generator it is")
    else:
        try:
            config_file = Path(hf_hub_download(repo_id=source, filename=CONFIG_NAME, revision=revision))
        except LocalEntryNotFoundError as error:  # a subclass of EntryNotFoundError: must come first
            raise CheckpointError(
                f"{source}@{revision or 'main'}: could not reach the Hub at {constants.ENDPOINT} and {CONFIG_NAME} "
                "is not in the local cache"
            ) from error
        except (RepositoryNotFoundError, RevisionNotFoundError) as error:
            raise CheckpointError(f"{source}@{revision or 'main'}: no such model repo or revision on the Hub") \
                from error
        except EntryNotFoundError as error:
            raise CheckpointError(f"{source}@{revision or 'main'}: the repo has no {CONFIG_NAME}") from error
        except HfHubHTTPError as error:
            raise CheckpointError(f"{source}@{revision or 'main'}: could not read {CONFIG_NAME}: {error}") from error
    try:
        config = json.loads(config_file.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise CheckpointError(f"{config_file} is not valid JSON: {error}") from error
    if not isinstance(config, dict):
        raise CheckpointError(f"{config_file} must hold a JSON object, got {type(config).__name__}")
    return config, str(config_file)


def _resolve_source(name_or_path_or_repo_id: str | os.PathLike) -> str:
    """Bare bundled name -> its folder; an existing folder -> itself; otherwise a Hub repo id."""
    text = str(name_or_path_or_repo_id)
    bundled = bundled_weights_dir() / text
    if "/" not in text and os.sep not in text and (bundled / CONFIG_NAME).is_file():
        return str(bundled)
    if Path(text).is_dir():
        return text
    if "/" in text and not Path(text).is_absolute() and not text.startswith("."):
        if Path(text).parent.is_dir():  # "runs/fast" with a local runs/: a mistyped folder, not a Hub repo
            raise CheckpointError(f"no folder {text!r} (its parent exists here, so it is not taken as a Hub repo id)")
        try:
            validate_repo_id(text)
        except HFValidationError as error:
            raise CheckpointError(f"{text!r} is not a folder and not a valid Hub repo id: {error}") from error
        return text  # owner/name on the Hub
    if text in GENERATORS:
        raise CheckpointError(
            f"{text!r} is an architecture without bundled weights (bundled: {bundled_model_names() or 'none'}); "
            f"use facesr_hub.GENERATORS[{text!r}]() for an untrained model, or train one with train.py"
        )
    raise CheckpointError(
        f"{text!r} is neither a bundled model ({bundled_model_names() or 'none'}), nor a folder, nor a Hub repo id "
        "of the form owner/name"
    )


def load_generator(
    name_or_path_or_repo_id: str | os.PathLike,
    *,
    revision: str | None = None,
    device: torch.device | str | None = None,
    dtype: torch.dtype | str | None = None,
    backend: str = "torch",
) -> Generator | OnnxGenerator:
    """Load a trained generator, whatever its architecture, ready for inference.

    Args:
        name_or_path_or_repo_id: a bundled model name (``"fast"``, ``"fast-psnr"``, ... from
            ``facesr_hub/weights/``), a folder written by ``save_pretrained``, or a Hub repo id (``"user/model"``).
        revision: Hub branch, tag or commit sha; pin it for reproducible results.
        device: where to put the model; default CUDA when available, else CPU (``"onnxruntime"``: CPU only).
        dtype: cast the weights (e.g. ``torch.float16`` on CUDA); default keeps float32 (``"onnxruntime"``: float32
            only).
        backend: ``"torch"``, or ``"onnxruntime"``: an :class:`~facesr_hub.onnx_runtime.OnnxGenerator` running the
            folder's or repo's ``onnx/model.onnx`` (exported once into a cache when there is none), which
            :func:`facesr_hub.upscale` takes like a PyTorch generator. Needs ``pip install 'facesr-hub[onnx]'``.

    Returns:
        The generator in eval mode. ``config.json`` names its class; weights load with ``strict=True``.

    Raises:
        CheckpointError: unknown name, missing/unknown config keys, another architecture, corrupt weights.
        ValueError: an unknown backend, or a device or dtype that the onnxruntime backend does not run.
    """
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
    if backend == "onnxruntime":
        _check_onnxruntime_placement(device, dtype)
    source = _resolve_source(name_or_path_or_repo_id)
    config, where = _read_config(source, revision)
    architecture = config.get(ARCHITECTURE_KEY)
    if architecture not in GENERATORS:
        raise CheckpointError(
            f"{where}: architecture={architecture!r} is not one of {sorted(GENERATORS)}"
        )
    if backend == "onnxruntime":
        from .onnx_runtime import load_onnx_generator  # onnxruntime is an optional extra: imported when asked for

        GENERATORS[architecture].check_config(config, where)  # the same CheckpointErrors as the torch backend
        return load_onnx_generator(source, config, revision=revision).eval()
    model = GENERATORS[architecture].from_pretrained(source, revision=revision, strict=True)
    model = model.to(device=resolve_device(device))
    if (torch_dtype := resolve_dtype(dtype)) is not None:
        model = model.to(dtype=torch_dtype)
    return model.eval()


def _check_onnxruntime_placement(device: torch.device | str | None, dtype: torch.dtype | str | None) -> None:
    """The onnxruntime backend runs float32 on CPU: refuse anything else rather than silently run elsewhere."""
    if device not in (None, "auto") and torch.device(device).type != "cpu":
        raise ValueError(f"backend 'onnxruntime' runs on the CPU only, got device={str(device)!r}; use the torch "
                         "backend on a GPU")
    if (torch_dtype := resolve_dtype(dtype)) not in (None, torch.float32):
        raise ValueError(f"backend 'onnxruntime' runs float32 only, got dtype={torch_dtype}")
