"""tools/plot_learning_curve.py's chain syntax: where each continued segment starts, in steps and images seen."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

from paths import REPO

spec = importlib.util.spec_from_file_location("plot_learning_curve", REPO / "tools" / "plot_learning_curve.py")
plot_learning_curve = importlib.util.module_from_spec(spec)
spec.loader.exec_module(plot_learning_curve)


def make_run(folder: Path, *, pixel_steps: int, gan_steps: int, batch: int = 16, gan_batch: int = 8) -> str:
    """A run folder as the trainer leaves it, as far as the plot reads it: config and last trainer state."""
    checkpoint = folder / "checkpoints" / f"checkpoint-{pixel_steps + gan_steps:08d}"
    checkpoint.mkdir(parents=True)
    (folder / "train_config.json").write_text(json.dumps({"batch_size": batch, "gan_batch_size": gan_batch}))
    state = {"step": pixel_steps + gan_steps, "pixel_steps": pixel_steps, "gan_steps": gan_steps, "switched": True,
             "warmup_psnr": 0, "warmup_gan": 0, "planned_by_time": False}
    (checkpoint / "trainer_state.json").write_text(json.dumps(state))
    return str(folder)


def test_plus_continues_from_the_psnr_stage_and_double_plus_from_the_final_weights(tmp_path):
    a = make_run(tmp_path / "a", pixel_steps=100, gan_steps=40)
    b = make_run(tmp_path / "b", pixel_steps=50, gan_steps=30)
    c = make_run(tmp_path / "c", pixel_steps=0, gan_steps=20)
    segments = plot_learning_curve._segments([f"{a}+{b}++{c}", a])
    offsets = [(s.run.name, s.colour, s.step_offset, s.seen_offset) for s in segments]
    # b starts at a's PSNR -> GAN switch (100 steps of 16); c after all of b: 50 PSNR steps of 16, 30 GAN steps of 8.
    assert offsets == [("a", 0, 0, 0), ("b", 0, 100, 1600), ("c", 0, 180, 1600 + 800 + 240), ("a", 1, 0, 0)]


def test_the_stage_switch_is_drawn_only_for_runs_that_switched(tmp_path):
    both = make_run(tmp_path / "both", pixel_steps=100, gan_steps=40)
    psnr_only = make_run(tmp_path / "psnr-only", pixel_steps=100, gan_steps=0)
    gan_only = make_run(tmp_path / "gan-only", pixel_steps=0, gan_steps=40)
    switches = [s.switch_step() for s in plot_learning_curve._segments([both, psnr_only, gan_only])]
    assert switches == [100, None, None]
