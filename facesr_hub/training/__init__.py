"""Training: ``TrainConfig`` (+ its argparse parser), ``Trainer`` and ``train``. ``train.py`` is the command line."""

from ..extras import require

require("train", "accelerate", "torchvision")

from .checkpoint import latest_checkpoint
from .config import TrainConfig, build_parser, config_from_args
from .data import TrainData, load_train_data
from .trainer import NonFiniteLossError, Trainer, TrainResult, make_accelerator, train

__all__ = ["NonFiniteLossError", "TrainConfig", "TrainData", "TrainResult", "Trainer", "build_parser",
           "config_from_args", "latest_checkpoint", "load_train_data", "make_accelerator", "train"]
