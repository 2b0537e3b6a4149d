"""Progress bar and TensorBoard logging, on the main process only (other ranks get a silent tracker)."""

from __future__ import annotations

import time
from pathlib import Path

import torch
from tqdm.auto import tqdm

from ..extras import require


class RunTracker:
    """A tqdm bar (step, stage, losses, img/s, ETA) and a TensorBoard writer under ``<output>/logs``."""

    def __init__(self, log_dir: Path, *, total_steps: int, initial_step: int, enabled: bool) -> None:
        self.enabled = enabled
        self.writer = None
        self.bar = None
        if enabled:
            require("train", "tensorboard", feature="training's TensorBoard logging")
            from torch.utils.tensorboard import SummaryWriter  # imported lazily: tensorboard is slow to import

            self.writer = SummaryWriter(log_dir=str(log_dir))
            self.bar = tqdm(total=total_steps, initial=initial_step, unit="step", dynamic_ncols=True,
                            desc="train")
        self._last_time = time.perf_counter()
        self._last_step = initial_step

    def set_total(self, total_steps: int) -> None:
        if self.bar is not None:
            self.bar.total = total_steps
            self.bar.refresh()

    def step(self) -> None:
        if self.bar is not None:
            self.bar.update(1)

    def images_per_second(self, step: int, images_per_step: int) -> float:
        """Throughput since the last call (for logging intervals)."""
        now = time.perf_counter()
        rate = (step - self._last_step) * images_per_step / max(now - self._last_time, 1e-9)
        self._last_time, self._last_step = now, step
        return rate

    def log_scalars(self, values: dict[str, float], step: int, *, prefix: str = "") -> None:
        if self.writer is not None:
            for name, value in values.items():
                self.writer.add_scalar(f"{prefix}{name}", value, step)

    def show(self, stage: str, values: dict[str, float]) -> None:
        if self.bar is not None:
            self.bar.set_postfix({"stage": stage, **{k: f"{v:.4g}" for k, v in values.items()}}, refresh=False)

    def log_image(self, tag: str, image: torch.Tensor, step: int) -> None:
        if self.writer is not None:
            self.writer.add_image(tag, image, step)

    def write(self, message: str) -> None:
        if self.enabled:
            tqdm.write(message)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
        if self.writer is not None:
            self.writer.close()
