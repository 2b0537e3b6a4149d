"""FaceSR-Hub: 4x face super-resolution generators shipped as Hugging Face Hub models.

>>> from facesr_hub import load_generator, upscale
>>> model = load_generator("fast")              # bundled weights, a folder, or a Hub repo id
>>> big = upscale(model, "face_64x64.png")      # PIL / numpy / tensor in, the same kind out

``pip install facesr-hub`` brings what this needs and no more; the app, training/evaluation and ONNX export come
with the ``[app]``, ``[train]`` and ``[onnx]`` extras (``facesr_hub.extras``), and importing this package loads none
of them.
"""

from .devices import default_device, resolve_device
from .discriminators import DISCRIMINATORS, PatchDiscriminator, SeedDiscriminator, UNetDiscriminator
from .images import ImageReadError, ImageTooLargeError, load_image
from .inference import upscale, upscale_tensor
from .generators import (GENERATORS, CheckpointError, FastGenerator, Generator, PixelShuffleV1, PixelShuffleV2,
                         QualityGenerator, ResidualAttentionGenerator, UpsampleGenerator)
from .loading import bundled_model_names, bundled_weights_dir, load_generator
from .profiling import count_gmacs, count_parameters

__version__ = "0.1.0"

__all__ = [
    "DISCRIMINATORS", "GENERATORS", "CheckpointError", "FastGenerator", "Generator", "PatchDiscriminator",
    "PixelShuffleV1", "PixelShuffleV2", "QualityGenerator", "ResidualAttentionGenerator", "SeedDiscriminator",
    "UNetDiscriminator", "UpsampleGenerator", "bundled_model_names", "bundled_weights_dir", "count_gmacs", "count_parameters",
    "ImageReadError", "ImageTooLargeError", "default_device", "load_generator", "load_image", "resolve_device",
    "upscale", "upscale_tensor",
]
