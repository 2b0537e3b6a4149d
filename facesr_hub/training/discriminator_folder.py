"""The GAN stage's discriminator saved beside the final generator, so a later GAN stage can continue against it.

A GAN stage started from a trained generator with a fresh discriminator first spends steps teaching the new
discriminator (the generator drifts towards its pixel and perceptual losses meanwhile); Real-ESRGAN's
``pretrain_network_d`` avoids that. Layout of ``<output>/discriminator/``::

    config.json          {"discriminator": "patchgan", "kwargs": {"conditional": false}}
    model.safetensors    the discriminator's state dict (spectral-norm parametrisations included)
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from safetensors.torch import load_file
from torch import nn

from ..fileio import atomic_save_safetensors, atomic_write_text

DISCRIMINATOR_DIR = "discriminator"
CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"


def save_discriminator_folder(discriminator: nn.Module, folder: str | Path, *, name: str,
                              kwargs: dict[str, Any]) -> Path:
    """Write ``discriminator`` (registry ``name``, built with ``kwargs``) to ``folder``; returns the folder."""
    folder = Path(folder)
    state = {key: value.detach().cpu().contiguous() for key, value in discriminator.state_dict().items()}
    atomic_save_safetensors(state, folder / WEIGHTS_NAME)  # creates the folder
    atomic_write_text(folder / CONFIG_NAME, json.dumps({"discriminator": name, "kwargs": kwargs}, indent=2) + "\n")
    return folder


def resolve_discriminator_folder(source: str | Path) -> Path:
    """``source`` itself when it holds a saved discriminator, else ``source/discriminator`` (a run's output folder)."""
    source = Path(source)
    for folder in (source, source / DISCRIMINATOR_DIR):
        if (folder / CONFIG_NAME).is_file() and (folder / WEIGHTS_NAME).is_file():
            return folder
    raise FileNotFoundError(f"--init-discriminator-from {source}: no {CONFIG_NAME} + {WEIGHTS_NAME} there or in "
                            f"{source / DISCRIMINATOR_DIR} (GAN runs save their discriminator there at the end)")


def init_discriminator(discriminator: nn.Module, source: str | Path, *, name: str, kwargs: dict[str, Any]) -> None:
    """Load the discriminator saved under ``source`` into ``discriminator``, strictly.

    Raises ValueError naming both when the saved one is another kind or configuration than this run's.
    """
    folder = resolve_discriminator_folder(source)
    saved = json.loads((folder / CONFIG_NAME).read_text(encoding="utf-8"))
    if saved.get("discriminator") != name or saved.get("kwargs", {}) != kwargs:
        raise ValueError(f"--init-discriminator-from {source}: it is {saved.get('discriminator')} "
                         f"{saved.get('kwargs')}, but this run trains {name} {kwargs}; pass the same "
                         "--discriminator, --conditional-d and --d-channels")
    discriminator.load_state_dict(load_file(str(folder / WEIGHTS_NAME)), strict=True)
