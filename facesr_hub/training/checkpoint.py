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
import os
import shutil
from collections.abc import Callable
from pathlib import Path

from accelerate import Accelerator

logger = logging.getLogger(__name__)

CHECKPOINTS_DIR = "checkpoints"
LATEST_FILE = "latest"
PREFIX = "checkpoint-"


def checkpoint_name(step: int) -> str:
    return f"{PREFIX}{step:08d}"


def atomic_write_text(path: str | Path, text: str) -> None:
    """Write ``text`` to ``path`` so that readers see either the old or the new file, never a partial one."""
    path = Path(path)
    tmp = path.with_name(f".tmp-{path.name}-{os.getpid()}")
    with open(tmp, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def replace_dir(new: Path, target: Path) -> None:
    """Move the complete folder ``new`` to ``target``, replacing what is there.

    A folder cannot be renamed over a non-empty one, so the old one is moved aside first; a crash between the two
    renames leaves ``<target>.old`` (still complete) rather than a half-written ``target``.
    """
    old = target.with_name(f"{target.name}.old")
    if old.exists():
        shutil.rmtree(old)
    if target.exists():
        os.replace(target, old)
    os.replace(new, target)
    if old.exists():
        shutil.rmtree(old)


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
