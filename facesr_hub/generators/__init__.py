"""Every generator, and the registry that maps an architecture name (as saved in config.json) to its class."""

from .base import ARCHITECTURE_KEY, CONFIG_NAME, WEIGHTS_NAME, CheckpointError, Generator, load_weights
from .fast import FastGenerator
from .quality import QualityGenerator
from .residual_attention import ResidualAttentionGenerator
from .seed import PixelShuffleV1, PixelShuffleV2, UpsampleGenerator

#: Architecture name -> class. A plain dict, filled explicitly (no import-time scanning).
GENERATORS: dict[str, type[Generator]] = {
    cls.architecture: cls
    for cls in (UpsampleGenerator, PixelShuffleV1, PixelShuffleV2, ResidualAttentionGenerator, FastGenerator,
                QualityGenerator)
}

__all__ = ["ARCHITECTURE_KEY", "CONFIG_NAME", "GENERATORS", "WEIGHTS_NAME", "CheckpointError", "FastGenerator",
           "Generator", "PixelShuffleV1", "PixelShuffleV2", "QualityGenerator", "ResidualAttentionGenerator",
           "UpsampleGenerator", "load_weights"]
