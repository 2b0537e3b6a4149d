"""Train a FaceSR-Hub generator: ``uv run train.py --data DIR --arch fast --output-dir runs/fast``.

Thin wiring: argparse -> ``TrainConfig`` -> ``facesr_hub.training.train``. Multi-GPU / multi-node with the same
script: ``accelerate launch [--num_processes N] train.py ...``. See ``--help`` for every option.
"""

from __future__ import annotations

import logging
import sys

from accelerate import PartialState

from facesr_hub.training import NonFiniteLossError, config_from_args, load_train_data, train


def main(argv: list[str] | None = None) -> int:
    config = config_from_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("accelerate").setLevel(logging.WARNING)  # one line per saved file otherwise
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
