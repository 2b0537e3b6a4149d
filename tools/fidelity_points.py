"""Write the app's fidelity-slider blends of a bundled model as checkpoints, so the evaluator can score the slider.

    uv run python tools/fidelity_points.py fast-real --fidelity 0.25 0.5 0.75 --out runs/fidelity
    uv run python tools/fidelity_points.py runs/fast-real-gan/model --psnr fast-real-psnr --fidelity 0.3

Each ``OUT/<name>-f<fidelity>`` folder holds exactly the model the app serves at that slider position
(``ModelRegistry.blended``: ESRGAN network interpolation of the model with its ``<name>-psnr`` stage, 0 = the model,
1 = its PSNR stage), saved as a Hub folder that ``python -m facesr_hub.evaluate --model FOLDER`` loads strictly.
With ``--psnr``, the model is any checkpoint (a training run's folder, a Hub repo) and ``--psnr`` names the PSNR stage
it was fine-tuned from: the same interpolation, for scoring a run's blends before anything is bundled.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from facesr_hub import load_generator
from facesr_hub.app.blending import interpolate_weights
from facesr_hub.app.models import ModelRegistry, discover_models


def _check_fidelities(fidelities: list[float]) -> None:
    if bad := [f for f in fidelities if not 0.0 < f < 1.0]:
        raise ValueError(f"fidelities must lie strictly between 0 (the model) and 1 (its PSNR stage), got {bad}")


def write_points(name: str, fidelities: list[float], out: Path) -> list[Path]:
    """Save the slider's model for ``name`` at each fidelity (strictly inside (0, 1)) under ``out``."""
    _check_fidelities(fidelities)
    registry = ModelRegistry(discover_models(environ={}), device="cpu")  # bundled models only
    if registry.catalog.psnr_partner(name) is None:
        raise ValueError(f"'{name}' has no PSNR-stage partner: the slider does nothing for it")
    folders = []
    for fidelity in fidelities:
        model, description = registry.blended(name, fidelity)
        if not hasattr(model, "save_pretrained"):
            raise ValueError(f"{description}: an output blend, not one network; score it in the app instead")
        folder = out / f"{name}-f{fidelity:.2f}"
        model.save_pretrained(folder)
        folders.append(folder)
        print(f"{folder}: {description}")
    return folders


def write_checkpoint_points(model: str, psnr: str, fidelities: list[float], out: Path) -> list[Path]:
    """Save the weight interpolation of checkpoint ``model`` with its PSNR stage ``psnr`` at each fidelity.

    Folders are named after the model's folder (``runs/x/model`` -> ``OUT/x-f0.30``); both checkpoints must share one
    config (one network), as the app's weight blend requires.
    """
    _check_fidelities(fidelities)
    gan, partner = (load_generator(source, device="cpu") for source in (model, psnr))
    stem = Path(model).parent.name if Path(model).name == "model" else Path(model).name
    folders = []
    for fidelity in fidelities:
        blend = interpolate_weights(partner, gan, alpha=fidelity)
        folder = out / f"{stem}-f{fidelity:.2f}"
        blend.save_pretrained(folder)
        folders.append(folder)
        print(f"{folder}: {1 - fidelity:.2f} x {model} + {fidelity:.2f} x {psnr} (weights)")
    return folders


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("name", help="a bundled model with a PSNR-stage partner (fast, fast-real), or with --psnr any "
                        "checkpoint")
    parser.add_argument("--psnr", help="the PSNR stage NAME was fine-tuned from (a bundled name, folder or repo id)")
    parser.add_argument("--fidelity", type=float, nargs="+", default=[0.25, 0.5, 0.75])
    parser.add_argument("--out", type=Path, default=Path("runs/fidelity"))
    args = parser.parse_args(argv)
    try:
        if args.psnr:
            write_checkpoint_points(args.name, args.psnr, args.fidelity, args.out)
        else:
            write_points(args.name, args.fidelity, args.out)
    except ValueError as error:
        parser.error(str(error))
    return 0


if __name__ == "__main__":
    sys.exit(main())
