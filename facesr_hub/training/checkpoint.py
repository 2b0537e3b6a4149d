"""Atomic checkpoints: a run killed at any moment (SIGKILL included) leaves the last complete checkpoint intact.

Layout under ``<output>/checkpoints/``::

    checkpoint-00001000/     accelerate state (models, optimisers, schedulers, RNG, EMA, trainer state)
        generator/           the EMA generator as a Hub folder (config.json, model.safetensors, README.md)
        train_config.json
    latest                   text file naming the newest complete checkpoint folder

A checkpoint is written into a hidden ``.tmp-*`` folder and renamed into place when complete; ``latest`` is
replaced atomically afterwards, so it never names a partial folder.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Callable
from pathlib import Path

from accelerate import Accelerator

from ..fileio import atomic_write_text, replace_dir

logger = logging.getLogger(__name__)

CHECKPOINTS_DIR = "checkpoints"
LATEST_FILE = "latest"
PREFIX = "checkpoint-"


def checkpoint_name(step: int) -> str:
    return f"{PREFIX}{step:08d}"


def latest_checkpoint(output_dir: str | Path) -> Path | None:
    """The newest complete checkpoint folder of a run, or None when it has none."""
    root = Path(output_dir) / CHECKPOINTS_DIR
    pointer = root / LATEST_FILE
    if not pointer.is_file():
        return None
    folder = root / pointer.read_text(encoding="utf-8").strip()
    if not folder.is_dir():
        raise FileNotFoundError(f"{pointer} names {folder.name}, which does not exist; delete {pointer} to restart")
    return folder


def save_checkpoint(accelerator: Accelerator, output_dir: str | Path, step: int, *,
                    write_extra: Callable[[Path], None], keep: int) -> Path:
    """Save the accelerate state of every prepared/registered object, plus ``write_extra(folder)`` (main process).

    Every process must call this (accelerate writes per-process RNG state). Returns the final folder.
    """
    root = Path(output_dir) / CHECKPOINTS_DIR
    final = root / checkpoint_name(step)
    tmp = root / f".tmp-{final.name}"
    if accelerator.is_main_process:
        if tmp.exists():
            shutil.rmtree(tmp)  # left by a run killed while saving
        tmp.mkdir(parents=True)
    accelerator.wait_for_everyone()
    accelerator.save_state(str(tmp), safe_serialization=True)
    accelerator.wait_for_everyone()
    if accelerator.is_main_process:
        write_extra(tmp)
        replace_dir(tmp, final)
        atomic_write_text(root / LATEST_FILE, final.name + "\n")
        _prune(root, keep=keep, current=final)
        logger.info("saved checkpoint %s", final)
    accelerator.wait_for_everyone()
    return final


def _prune(root: Path, *, keep: int, current: Path) -> None:
    """Delete all but the ``keep`` newest checkpoints (never the current one) and stale temporary folders."""
    folders = sorted(p for p in root.iterdir() if p.is_dir() and p.name.startswith(PREFIX) and p != current)
    for folder in folders[: max(0, len(folders) - (keep - 1))]:
        shutil.rmtree(folder, ignore_errors=True)
    for stale in root.glob(".tmp-*"):
        if stale.is_dir():
            shutil.rmtree(stale, ignore_errors=True)
