"""Plot validation PSNR and LPIPS-alex against step and images seen for training runs, beside bicubic.

    uv run python tools/plot_learning_curve.py RUN_DIR [RUN_DIR ...] --out docs/results/learning-curve.png
    uv run python tools/plot_learning_curve.py runs/fast+runs/fast-2 --out ...   # a run continued by another
    uv run python tools/plot_learning_curve.py runs/fast+runs/fast-2++runs/fast-3 --out ...

``A+B`` chains segments: B was started (``--init-from``) from A's PSNR-stage weights, so B's steps and images are
drawn from A's PSNR -> GAN switch on (A's own GAN stage stays on the plot as the branch it was). ``A++B``: B was
started from A's final (GAN-stage) weights and continues A's GAN stage, so it is drawn from A's last step on.

Reads each run's TensorBoard scalars (``val/psnr``, ``val/lpips_alex``) and its ``train_config.json`` (batch sizes
per stage, for "images seen"; the PSNR -> GAN switch is drawn as a dotted line). Bicubic is scored on the same
validation images the trainer used (same roots, same ``--val-images`` pick), so the curves read as gains over it.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import NamedTuple

import matplotlib
import torch

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt  # noqa: E402  (after choosing the backend)
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator  # noqa: E402

from facesr_hub.blocks import bicubic_upscale  # noqa: E402
from facesr_hub.data import HRImageCache, degrade_all  # noqa: E402
from facesr_hub.metrics import MetricSuite  # noqa: E402
from facesr_hub.training.state import TrainState  # noqa: E402


def _scalars(run: Path, tag: str) -> list[tuple[int, float]]:
    events = EventAccumulator(str(run / "logs")).Reload()
    return [(e.step, e.value) for e in events.Scalars(tag)] if tag in events.Tags()["scalars"] else []


def _images_seen(step: int, config: dict, pixel_steps: int) -> int:
    gan_batch = config.get("gan_batch_size") or config["batch_size"]
    return min(step, pixel_steps) * config["batch_size"] + max(0, step - pixel_steps) * gan_batch


def _bicubic(config: dict) -> dict[str, float]:
    val = HRImageCache.from_roots(config["data"], "val", limit=config["val_images"]).images
    lr = degrade_all(val, config.get("degradation", "bicubic"), seed=config["seed"])
    sr = bicubic_upscale(lr, 4).clamp(0, 1)
    scores = MetricSuite("cpu", lpips_nets=("alex",), identity=False)(sr, val.float() / 255)
    return {k: float(scores[k].mean()) for k in ("psnr", "lpips_alex")}


def _steps(run: Path) -> tuple[int, int]:
    """(PSNR-stage steps, all steps) of ``run``'s last checkpoint."""
    states = sorted((run / "checkpoints").glob("checkpoint-*/trainer_state.json"))
    if not states:
        return 0, 0
    state = TrainState(**json.loads(states[-1].read_text()))
    return state.pixel_steps, state.step


def _links(chain: str) -> list[tuple[str, Path]]:
    """``A+B++C`` -> [("", A), ("+", B), ("++", C)]: each run with how it continues the one before it."""
    links, link = [], ""
    for part in chain.split("+"):
        if part:
            links.append((link, Path(part)))
            link = "+"
        else:
            link = "++"
    return links


class Segment(NamedTuple):
    """One run of a chain, where it is drawn from."""

    run: Path
    config: dict
    pixel_steps: int  # its PSNR-stage steps
    steps: int  # all its steps
    colour: int  # the chain's index
    step_offset: int
    seen_offset: int  # images seen before it

    def switch_step(self) -> int | None:
        """The run's own step of its PSNR -> GAN switch; None when it ran one stage only (nothing switched)."""
        return self.pixel_steps if 0 < self.pixel_steps < self.steps else None


def _segments(chains: list[str]) -> list[Segment]:
    """Each segment of each ``A+B++C...`` chain."""
    segments = []
    for index, chain in enumerate(chains):
        step_offset = seen_offset = 0
        previous: tuple[dict, int, int] | None = None  # config, PSNR steps, all steps of the segment before
        for link, run in _links(chain):
            if previous is not None:
                config, pixel_steps, steps = previous
                continued = steps if link == "++" else pixel_steps
                step_offset += continued
                seen_offset += _images_seen(continued, config, pixel_steps)
            config = json.loads((run / "train_config.json").read_text())
            pixel_steps, steps = _steps(run)
            segments.append(Segment(run, config, pixel_steps, steps, index, step_offset, seen_offset))
            previous = (config, pixel_steps, steps)
    return segments


def plot(chains: list[str], out: Path) -> None:
    figure, axes = plt.subplots(2, 2, figsize=(12, 8.5), layout="constrained")
    bicubic_labelled: set[tuple[str, float]] = set()  # one legend entry per bicubic line, not one per segment and axis
    for segment in _segments(chains):
        run, config, pixel_steps, _, index, step_offset, seen_offset = segment
        colour = f"C{index}"
        switch_step = segment.switch_step()
        bicubic = _bicubic(config)
        for row, (tag, label) in enumerate((("val/psnr", "PSNR (dB)"), ("val/lpips_alex", "LPIPS-alex (lower better)"))):
            points = _scalars(run, tag)
            if not points:
                continue
            own_steps, values = zip(*points)
            steps = [step_offset + s for s in own_steps]
            seen = [seen_offset + _images_seen(s, config, pixel_steps) for s in own_steps]
            key = "psnr" if "psnr" in tag else "lpips_alex"
            for column, xs in enumerate((steps, seen)):
                axis = axes[row][column]
                first = row == 0 and column == 0
                axis.plot(xs, values, "s-" if step_offset else "o-", color=colour,
                          label=f"{run.name} ({config['degradation']} inputs)" if first else None)
                line = (colour, round(bicubic["psnr"], 3))
                axis.axhline(bicubic[key], color=colour, linestyle="--", linewidth=1,
                             label=f"bicubic on {run.name}'s val inputs" if first and line not in bicubic_labelled
                             else None)
                if first:
                    bicubic_labelled.add(line)
                if switch_step is not None:
                    switch = (step_offset + switch_step if column == 0
                              else seen_offset + _images_seen(switch_step, config, pixel_steps))
                    axis.axvline(switch, color=colour, linestyle=":", linewidth=1)
                axis.set_xlabel("step" if column == 0 else "images seen")
                axis.set_ylabel(label)
                axis.grid(alpha=0.3)
    # Below the plots, not on them: the curves fill the axes.
    figure.legend(loc="outside lower center", ncol=3, fontsize=8)
    figure.suptitle("Validation (EMA weights) during training; dotted: PSNR -> GAN stage switch")
    out.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(out, dpi=110)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("runs", nargs="+",
                        help="run folders; A+B: B continued from A's PSNR stage; A++B: from A's final weights")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    torch.set_grad_enabled(False)
    plot(args.runs, args.out)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
