"""Train a FaceSR-Hub generator.

    uv run train.py --recipe recipes/fast.toml --output-dir runs/fast      # a shipped model's recipe, end to end
    uv run train.py --data DIR --arch fast --output-dir runs/fast          # one run of your own settings

Thin wiring: argparse -> ``TrainConfig`` -> ``facesr_hub.training.train``, or a recipe file ->
``facesr_hub.training.recipe_runner.run_recipe``. Multi-GPU / multi-node with the same script: ``accelerate launch
[--num_processes N] train.py ...``. See ``--help`` (and ``--recipe FILE --help``) for every option.
"""

from __future__ import annotations

import logging
import sys

from facesr_hub.extras import require

require("train", "accelerate")  # before accelerate: without the [train] extra, say so
from accelerate import PartialState

from facesr_hub.training import NonFiniteLossError, config_from_args, load_train_data, train
from facesr_hub.training.recipe import RecipeError, load_recipe
from facesr_hub.training.recipe_cli import recipe_args
from facesr_hub.training.recipe_runner import run_recipe


def main_recipe(argv: list[str]) -> int:
    recipe_file, output_dir, options = recipe_args(argv)
    try:
        recipe = load_recipe(recipe_file)
        final_dir = run_recipe(recipe, output_dir, options)
    except (RecipeError, FileNotFoundError, NotADirectoryError) as error:  # messages name the file, stage or folder
        print(f"train.py: error: {error}", file=sys.stderr)
        return 2
    except NonFiniteLossError as error:  # the stage's last checkpoint is intact: --resume continues from it
        print(f"train.py: error: {error}", file=sys.stderr)
        return 1
    if PartialState().is_main_process:
        print(f"done: recipe {recipe.model}, model in {final_dir}")
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("accelerate").setLevel(logging.WARNING)  # one line per saved file otherwise
    if any(arg == "--recipe" or arg.startswith("--recipe=") for arg in argv):
        return main_recipe(argv)
    config = config_from_args(argv)
    try:
        data = load_train_data(config)  # before any model is built, so bad folders fail fast
    except (FileNotFoundError, NotADirectoryError, ValueError) as error:  # data.py's messages name the folder
        print(f"train.py: error: {error}", file=sys.stderr)
        return 2
    try:
        result = train(config, data)
    except NonFiniteLossError as error:  # its message names the step and stage; the last checkpoint is intact
        print(f"train.py: error: {error}", file=sys.stderr)
        return 1
    if PartialState().is_main_process:
        print(f"done: {result.steps} steps, model in {result.final_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
