"""``train.py --recipe FILE``: the command line of the recipe runner (``train.py`` hands over when it sees --recipe)."""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Any

from .recipe import TRAIN_FIELDS, load_recipe
from .recipe_runner import RecipeOptions

#: Where datasets live unless --data-root says otherwise (the folder holding celeba/, utkface/, ...).
DATA_ROOT_ENV = "FACESR_DATA"


def _setting(text: str) -> tuple[str, Any]:
    key, sep, value = text.partition("=")
    if not sep or key not in TRAIN_FIELDS:
        raise argparse.ArgumentTypeError(f"want KEY=VALUE with KEY a training setting, got {text!r}")
    try:
        return key, json.loads(value)
    except json.JSONDecodeError:
        return key, value  # a bare string such as discriminator=unet


def build_recipe_parser() -> argparse.ArgumentParser:
    """``train.py --recipe``'s options."""
    p = argparse.ArgumentParser(
        prog="train.py --recipe", formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        description="Run a recipe (recipes/<model>.toml) end to end: every stage in order, resumable at any stage. "
                    "GPUs: `accelerate launch train.py --recipe ...`.")
    p.add_argument("--recipe", required=True, type=Path, metavar="FILE", help="a recipe file, e.g. recipes/fast.toml")
    p.add_argument("--output-dir", required=True, type=Path, metavar="DIR",
                   help="stages/, recipe-run.json and the final Hub folder model/")
    p.add_argument("--data-root", type=Path, default=Path(os.environ.get(DATA_ROOT_ENV, "data")), metavar="DIR",
                   help=f"the folder holding the recipe's datasets (celeba/, utkface/, ...); ${DATA_ROOT_ENV} sets "
                        "the default")
    p.add_argument("--max-minutes", type=float, default=None, metavar="M",
                   help="shorten the run to about M minutes, shared by the training stages by their step costs")
    p.add_argument("--stage-steps", type=int, default=None, metavar="N",
                   help="at most N steps per training stage (a reduced-scale check of a recipe)")
    p.add_argument("--set", dest="overrides", type=_setting, action="append", default=[], metavar="KEY=VALUE",
                   help="change a training setting on every training stage, e.g. patch_size=32 (JSON values)")
    p.add_argument("--bundled-inits", action="store_true",
                   help="init stages start from the bundled model instead of running its recipe")
    p.add_argument("--resume", action="store_true", help="continue a run in --output-dir at its first unfinished stage")
    p.add_argument("--push-to-hub", default=None, metavar="REPO", help="upload the final model folder to this repo")
    return p


def recipe_args(argv: list[str] | None) -> tuple[Path, Path, RecipeOptions]:
    """Parse ``argv`` into (recipe file, output folder, options); bad values exit with argparse's usage error."""
    parser = build_recipe_parser()
    args = parser.parse_args(argv)
    try:
        options = RecipeOptions(data_root=args.data_root, max_minutes=args.max_minutes, stage_steps=args.stage_steps,
                                overrides=dict(args.overrides), bundled_inits=args.bundled_inits, resume=args.resume,
                                push_to_hub=args.push_to_hub)
    except ValueError as error:
        parser.error(str(error))
    return args.recipe, args.output_dir, options


__all__ = ["build_recipe_parser", "load_recipe", "recipe_args"]
