"""The trainer's own resumable state, and the per-step batch seed that makes resumed runs draw the same batches."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

STATE_FILE = "trainer_state.json"


@dataclass
class TrainState:
    """Where a run is. Saved in every checkpoint (via accelerate's custom-object hook and as JSON).

    ``pixel_steps``/``gan_steps`` are the planned stage lengths: fixed up front for step budgets; for time budgets
    planned from measured speed and re-planned as training goes. ``warmup_*`` are the stages' warm-up lengths,
    fixed when first planned. ``elapsed_s`` is wall time spent training (validation and checkpoints included)
    summed over every resumed segment.
    """

    step: int = 0
    pixel_steps: int = 0
    gan_steps: int = 0
    warmup_psnr: int = 0
    warmup_gan: int = 0
    elapsed_s: float = 0.0
    gan_step_s: float = 0.0  # time budgets: last measured (or probed) seconds per GAN step
    switched: bool = False  # the PSNR -> GAN switch (EMA copied into the generator) has happened
    planned_by_time: bool = False

    @property
    def total_steps(self) -> int:
        return self.pixel_steps + self.gan_steps

    @property
    def stage(self) -> str:
        return "psnr" if self.step < self.pixel_steps else "gan"

    def state_dict(self) -> dict[str, Any]:
        return asdict(self)

    def load_state_dict(self, values: dict[str, Any]) -> None:
        for key, value in values.items():
            if not hasattr(self, key):
                raise ValueError(f"unknown trainer state key {key!r}")
            setattr(self, key, value)

    def write_json(self, folder: Path) -> None:
        (folder / STATE_FILE).write_text(json.dumps(self.state_dict(), indent=2, sort_keys=True))

    @classmethod
    def read_json(cls, folder: Path) -> TrainState:
        state = cls()
        state.load_state_dict(json.loads((folder / STATE_FILE).read_text(encoding="utf-8")))
        return state


def batch_seed(seed: int, process_index: int, step: int) -> int:
    """The seed of one step's crops on one process: a pure function of (seed, rank, step).

    Seeding per step (rather than carrying one generator along) means a resumed run draws exactly the batches
    the uninterrupted run would have, with nothing to save; ranks draw different crops.
    """
    return hash((seed, process_index, step)) & (2**63 - 1)  # int-tuple hashes are not randomised per process
