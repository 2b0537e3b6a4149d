"""Copy trained runs into ``facesr_hub/weights/<name>/`` (the bundled models) and put held-out results into their cards.

    uv run python tools/ship_weights.py bundle --runs RUNS_DIR [--names fast fast-psnr ...] [--interpolate fast-real=0.3]
    uv run python tools/ship_weights.py add-eval --json EVAL.json --table EVAL.md [--grid GRID.png]
    uv run python tools/ship_weights.py recipe-cards [--recipes recipes]

``bundle`` stores weights in float16 when that costs nothing measurable (the check is printed and written into the
card) and keeps config.json and the training run's model card. ``--interpolate NAME=F`` ships ``(1 - F) x`` the run's
weights ``+ F x`` the bundled ``NAME-psnr`` (ESRGAN's network interpolation, the app's fidelity slider at F) and says so
in the card. ``add-eval`` appends the held-out evaluation table
(from ``python -m facesr_hub.evaluate --json``) to every bundled card, so each card carries measured numbers.
``recipe-cards`` re-writes every bundled card's "Recipe" section from ``recipes/<name>.toml`` (its path, hash and
stages), after a recipe file is edited.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from pathlib import Path

import torch

from facesr_hub import bundled_weights_dir, load_generator
from facesr_hub.app.blending import interpolate_weights
from facesr_hub.data import collect_images, degrade, prepare_hr
from facesr_hub.fileio import atomic_save_safetensors
from facesr_hub.hub import card_with_section, purpose_text
from facesr_hub.training.recipe import load_recipe
from facesr_hub.training.recipe_card import HEADING as RECIPE_HEADING, recipe_section
from facesr_hub.metrics import psnr

#: bundled name -> folder inside a run directory (``X-psnr`` is the PSNR stage of the ``X`` run: the app's fidelity
#: slider blends the two).
RUN_FOLDERS = {"fast-psnr": ("fast", "psnr-stage"), "fast-real-psnr": ("fast-real", "psnr-stage")}
EVAL_HEADING = "## Held-out evaluation"
#: Largest PSNR drop (dB) float16 storage may cost before the weights stay float32.
MAX_FP16_LOSS_DB = 0.01


def _run_folder(runs: Path, name: str) -> Path:
    run, sub = RUN_FOLDERS.get(name, (name, "model"))
    return runs / run / sub


def _fp16_cost_db(model: torch.nn.Module, probe_root: Path, count: int = 8) -> float:
    """Mean PSNR (vs HR) lost by storing the weights in float16, on ``count`` held-out faces."""
    records = collect_images(probe_root, "test", limit=count)
    hr = torch.stack([prepare_hr(r.path, celeba_aligned=r.celeba_aligned) for r in records]).float() / 255
    lr = degrade(hr)
    half = type(model)(**{k: v for k, v in model.config.items() if k != "architecture"})
    half.load_state_dict({k: v.half().float() for k, v in model.state_dict().items()})
    with torch.inference_mode():
        full = psnr(model.eval()(lr).clamp(0, 1), hr).mean().item()
        rounded = psnr(half.eval()(lr).clamp(0, 1), hr).mean().item()
    return full - rounded


def interpolation_text(name: str, fidelity: float) -> str:
    """The card section of a model shipped as a weight interpolation of its GAN stage and its PSNR stage."""
    return (f"## Network interpolation\n\nThe shipped weights are {1 - fidelity:.2f} x the GAN stage trained above + "
            f"{fidelity:.2f} x its PSNR stage `{name}-psnr` (ESRGAN's network interpolation, Wang et al. 2018: the GAN "
            "stage was fine-tuned from the PSNR stage, so the two weight sets blend smoothly). It is the app's fidelity "
            f"slider at {fidelity:.2f}, trading some GAN detail for fidelity. The validation table above measures the GAN "
            "stage before interpolation; the held-out tables below measure these weights.")


def bundle(runs: Path, names: list[str], out: Path, probe_root: Path, history: dict[str, str] | None = None,
           interpolate: dict[str, float] | None = None) -> None:
    """Copy each named run folder into ``out/<name>``; ``history[name]`` (what came before this run, e.g. the run
    its ``--init-from`` weights came from) goes into the card, since the run's own card only knows its own steps.
    ``interpolate[name] = F`` ships ``(1 - F) x`` the run's weights ``+ F x`` the bundled ``out/<name>-psnr``."""
    interpolate = interpolate or {}
    for name, fidelity in interpolate.items():  # checked before anything is written
        if not 0.0 < fidelity < 1.0:
            raise ValueError(f"--interpolate {name}={fidelity}: F must lie strictly between 0 and 1")
        if not (out / f"{name}-psnr" / "config.json").is_file():
            raise ValueError(f"--interpolate {name}: its PSNR stage {out / f'{name}-psnr'} is not bundled")
    for name in names:
        source = _run_folder(runs, name)
        model = load_generator(source, device="cpu")
        if name in interpolate:
            partner = load_generator(out / f"{name}-psnr", device="cpu")
            model = interpolate_weights(partner, model, alpha=interpolate[name])
        loss_db = _fp16_cost_db(model, probe_root)
        use_fp16 = loss_db <= MAX_FP16_LOSS_DB
        target = out / name
        target.mkdir(parents=True, exist_ok=True)
        state = {k: (v.half() if use_fp16 and v.is_floating_point() else v).contiguous()
                 for k, v in model.state_dict().items()}
        atomic_save_safetensors(state, target / "model.safetensors", {"format": "pt"})
        shutil.copy(source / "config.json", target / "config.json")
        card = with_purpose(renamed((source / "README.md").read_text(encoding="utf-8"), name), _run_degradation(runs, name))
        storage = ("float16 (PSNR change from rounding the float32 weights: "
                   f"{-loss_db:+.4f} dB on 8 held-out faces; loaded into float32 models as usual)"
                   if use_fp16 else f"float32 (float16 would cost {loss_db:.4f} dB)")
        card = card.split(EVAL_HEADING)[0].rstrip()
        if name in interpolate:
            card += f"\n\n{interpolation_text(name, interpolate[name])}"
        if history and name in history:
            card += f"\n\n## Training history\n\n{history[name]}"
        card += f"\n\n## Bundled copy\n\n- **weights stored as**: {storage}\n"
        (target / "README.md").write_text(card, encoding="utf-8")
        blend = f", x{1 - interpolate[name]:.2f} + {name}-psnr x{interpolate[name]:.2f}" if name in interpolate else ""
        print(f"{name}: {source}{blend} -> {target} ({'fp16' if use_fp16 else 'fp32'}, fp16 cost {loss_db:.4f} dB)")


def _run_degradation(runs: Path, name: str) -> str:
    config = runs / RUN_FOLDERS.get(name, (name, ""))[0] / "train_config.json"
    return json.loads(config.read_text(encoding="utf-8")).get("degradation", "bicubic") if config.is_file() else "bicubic"


def renamed(card: str, name: str) -> str:
    """The card under its bundled name: the trainer names a card after its run folder (``runs/fast-2`` -> "fast-2")."""
    old = next(line[2:].strip() for line in card.splitlines() if line.startswith("# "))
    # A card with validation metrics names the model in its model-index (``- name:``); one without (a run that did
    # not validate, as on the GPU) in the top-level ``model_name:``.
    for before, after in ((f"- name: {old}\n", f"- name: {name}\n"), (f"model_name: {old}\n", f"model_name: {name}\n"),
                          (f"# {old}\n", f"# {name}\n"),
                          (f'load_generator("{old}")', f'load_generator("{name}")')):
        card = card.replace(before, after)
    return card


def with_purpose(card: str, degradation: str) -> str:
    """The card with its "what it is for" paragraph (cards written by older trainers lack it) after the intro."""
    if "**What it is for:**" in card:
        return card
    intro = card.index("A FaceSR-Hub 4x face super-resolution generator")
    end = card.index("\n\n", intro)
    return f"{card[:end]}\n\n{purpose_text(degradation)}{card[end:]}"


def add_eval(json_path: Path, table_path: Path, grid: Path | None, out: Path, heading: str = EVAL_HEADING,
             names: list[str] | None = None, evaluated_only: bool = False) -> None:
    """Put the table into the ``heading`` section of each bundled card (only ``names`` when given). A card whose model
    is not in the table keeps no numbers from it: a warning, unless ``evaluated_only`` says the table covers only the
    models it scored (a second table, such as the realistic-input one)."""
    evaluation = json.loads(json_path.read_text(encoding="utf-8"))
    table = table_path.read_text(encoding="utf-8").split("\nwrote ")[0].strip()  # the report, not the file list
    evaluated = {row["name"] for row in evaluation["rows"]}
    section = (f"{heading}\n\nMeasured with `python -m facesr_hub.evaluate` on faces never used in training, "
               "every row on the same images in the same run (bicubic and Real-ESRGAN x4plus included):\n\n"
               f"{table}\n")
    if grid is not None:
        section += f"\nComparison grid of the same run: `{grid.name}` in the FaceSR-Hub repository.\n"
    for folder in sorted(p for p in out.iterdir() if (p / "README.md").is_file()):
        if names is not None and folder.name not in names:
            continue
        if folder.name not in evaluated:
            if not evaluated_only:
                print(f"warning: {folder.name} is not in {json_path}; its card keeps no held-out numbers",
                      file=sys.stderr)
            continue
        card = card_with_section((folder / "README.md").read_text(encoding="utf-8"), heading, section)
        (folder / "README.md").write_text(card, encoding="utf-8")
        print(f"{folder.name}: card updated")


def recipe_cards(recipes: Path, out: Path) -> None:
    """Every bundled card's "Recipe" section from ``recipes/<name>.toml``: the file, its hash and its stages."""
    for folder in sorted(p for p in out.iterdir() if (p / "README.md").is_file()):
        path = recipes / f"{folder.name}.toml"
        if not path.is_file():
            raise ValueError(f"{folder.name} is bundled but has no recipe {path}")
        recipe = load_recipe(path)
        section = recipe_section(recipe) + ("\nWhat each stage was for, how it was chosen and what it scored: "
                                            "`docs/training-notes.md` in the FaceSR-Hub repository.\n")
        card = card_with_section((folder / "README.md").read_text(encoding="utf-8"), RECIPE_HEADING, section)
        (folder / "README.md").write_text(card, encoding="utf-8")
        print(f"{folder.name}: recipe {path} ({recipe.short_hash})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("bundle")
    b.add_argument("--runs", type=Path, required=True)
    b.add_argument("--names", nargs="+", default=None, help="default: every run folder, plus fast-psnr")
    b.add_argument("--probe-data", type=Path, default=Path(os.environ.get("FACESR_DATA", "data")) / "celeba-hq-256",
                   help="held-out faces for the float16 check (default: celeba-hq-256 in $FACESR_DATA, else data/)")
    b.add_argument("--history", action="append", default=[], metavar="NAME=TEXT",
                   help="a 'Training history' paragraph for NAME's card (e.g. the runs before its --init-from)")
    b.add_argument("--interpolate", action="append", default=[], metavar="NAME=F",
                   help="ship (1 - F) x NAME's run + F x the bundled NAME-psnr (network interpolation)")
    a = sub.add_parser("add-eval")
    a.add_argument("--json", type=Path, required=True)
    a.add_argument("--table", type=Path, required=True)
    a.add_argument("--grid", type=Path, default=None)
    a.add_argument("--heading", default=EVAL_HEADING, help="section heading (a second table gets its own)")
    a.add_argument("--names", nargs="+", default=None, help="only these bundled models' cards")
    a.add_argument("--evaluated-only", action="store_true",
                   help="only the cards of the models the table scored, without warning about the others")
    r = sub.add_parser("recipe-cards")
    r.add_argument("--recipes", type=Path, default=Path("recipes"))
    for p in (b, a, r):
        p.add_argument("--out", type=Path, default=bundled_weights_dir())
    args = parser.parse_args(argv)
    if args.command == "bundle":
        names = args.names or sorted([p.name for p in args.runs.iterdir() if (p / "model").is_dir()]
                                     + (["fast-psnr"] if (args.runs / "fast" / "psnr-stage").is_dir() else []))
        if malformed := [item for item in args.history if "=" not in item]:
            parser.error(f"--history wants NAME=TEXT, got {malformed}")
        history = dict(item.split("=", 1) for item in args.history)
        if unknown := sorted(set(history) - set(names)):
            parser.error(f"--history names models that are not bundled now: {unknown}")
        try:
            interpolate = {key: float(value) for key, value in (item.split("=", 1) for item in args.interpolate)}
        except ValueError:
            parser.error(f"--interpolate wants NAME=F with a number F, got {args.interpolate}")
        if unknown := sorted(set(interpolate) - set(names)):
            parser.error(f"--interpolate names models that are not bundled now: {unknown}")
        try:
            bundle(args.runs, names, args.out, args.probe_data, history, interpolate)
        except ValueError as error:
            parser.error(str(error))
    elif args.command == "recipe-cards":
        try:
            recipe_cards(args.recipes, args.out)
        except ValueError as error:
            parser.error(str(error))
    else:
        add_eval(args.json, args.table, args.grid, args.out, args.heading, args.names, args.evaluated_only)
    return 0


if __name__ == "__main__":
    sys.exit(main())
