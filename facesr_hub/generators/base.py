"""The base class every FaceSR-Hub generator derives from: an ``nn.Module`` that is also a Hub model.

The keyword arguments of a generator's ``__init__`` are its config: ``save_pretrained`` writes them to
``config.json`` together with ``"architecture"`` (the registry key), so a checkpoint names its own class and loading
needs no architecture argument. Loading is strict by default, and every way a checkpoint can be wrong (missing or
unknown config keys, another architecture, a truncated file, mismatched tensors) raises ``CheckpointError``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, ClassVar

import torch
from huggingface_hub import PyTorchModelHubMixin, constants, hf_hub_download
from huggingface_hub.errors import EntryNotFoundError, HfHubHTTPError, LocalEntryNotFoundError
from safetensors import SafetensorError
from safetensors.torch import load_file
from torch import nn

CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"
ARCHITECTURE_KEY = "architecture"
REPO_URL = "https://huggingface.co/facesr-hub"


class CheckpointError(ValueError):
    """A checkpoint or config that does not match the generator it claims to be."""


class Generator(
    nn.Module,
    PyTorchModelHubMixin,
    library_name="facesr-hub",
    pipeline_tag="image-to-image",
    # Weights carry the terms of their training data (CelebA & co.: non-commercial research), so no blanket
    # licence is claimed for them; the trainer's model card names the data and its terms.
    license="other",
    license_name="training-data-terms",
    tags=["super-resolution", "face-super-resolution", "image-to-image", "facesr-hub"],
    repo_url=REPO_URL,
    docs_url=REPO_URL,
):
    """Base class: RGB in [0, 1], shape (B, 3, H, W) -> (B, 3, 4H, 4W), any H and W.

    Outputs are not clamped (training needs the gradients); :func:`facesr_hub.upscale` clamps.
    """

    architecture: ClassVar[str] = ""
    scale: ClassVar[int] = 4

    @property
    def receptive_radius(self) -> int | None:
        """LR pixels of context each output pixel depends on, per side; ``None`` when a layer sees the whole image
        (instance norm, channel or self attention). Tiled inference uses it as the default tile overlap, so that
        tiled and whole-image outputs agree."""
        return None

    @property
    def config(self) -> dict[str, Any]:
        """The JSON config that ``save_pretrained`` writes, ``"architecture"`` included."""
        return {**(self._hub_mixin_config or {}), ARCHITECTURE_KEY: self.architecture}

    def _save_pretrained(self, save_directory: Path) -> None:
        super()._save_pretrained(save_directory)
        # Written here rather than by the mixin so that it always carries the architecture key.
        (save_directory / CONFIG_NAME).write_text(json.dumps(self.config, indent=2, sort_keys=True))

    @classmethod
    def check_config(cls, config: dict[str, Any] | None, source: str) -> None:
        """Raise ``CheckpointError`` unless ``config`` is exactly a config of this class."""
        if config is None:
            raise CheckpointError(f"{source}: no {CONFIG_NAME}; cannot tell which generator this is")
        architecture = config.get(ARCHITECTURE_KEY)
        if architecture != cls.architecture:
            raise CheckpointError(
                f"{source}: config.json says architecture={architecture!r}, but {cls.__name__} is "
                f"{cls.architecture!r}; load it with facesr_hub.load_generator() instead"
            )
        expected = {name for name in cls._hub_mixin_init_parameters if name != "self"}
        given = set(config) - {ARCHITECTURE_KEY}
        if unknown := sorted(given - expected):
            raise CheckpointError(f"{source}: unknown config keys {unknown} for {cls.__name__}")
        if missing := sorted(expected - given):
            raise CheckpointError(f"{source}: config.json lacks keys {missing} for {cls.__name__}")

    @classmethod
    def _from_pretrained(
        cls,
        *,
        model_id: str,
        revision: str | None,
        cache_dir: str | Path | None,
        force_download: bool,
        local_files_only: bool,
        token: str | bool | None,
        map_location: str = "cpu",
        strict: bool = True,
        config: dict[str, Any] | None = None,
        **model_kwargs: Any,
    ) -> "Generator":
        """Build the model from its config and load the weights, strictly unless told otherwise."""
        cls.check_config(config, model_id)
        model = cls(**model_kwargs)
        if os.path.isdir(model_id):
            weights_file = os.path.join(model_id, WEIGHTS_NAME)
            if not os.path.isfile(weights_file):
                raise CheckpointError(f"{model_id}: no {WEIGHTS_NAME} in this folder")
        else:
            try:
                weights_file = hf_hub_download(
                    repo_id=model_id, filename=WEIGHTS_NAME, revision=revision, cache_dir=cache_dir,
                    force_download=force_download, token=token, local_files_only=local_files_only,
                )
            except LocalEntryNotFoundError as error:  # a subclass of EntryNotFoundError: must come first
                raise CheckpointError(f"{model_id}@{revision or 'main'}: could not reach the Hub at "
                                      f"{constants.ENDPOINT} and {WEIGHTS_NAME} is not cached") from error
            except EntryNotFoundError as error:
                raise CheckpointError(f"{model_id}@{revision or 'main'}: no {WEIGHTS_NAME} in the repo") from error
            except HfHubHTTPError as error:
                raise CheckpointError(f"{model_id}@{revision or 'main'}: could not download {WEIGHTS_NAME}: "
                                      f"{error}") from error
        load_weights(model, weights_file, strict=strict, device=map_location)
        return model.eval()


def load_weights(model: nn.Module, weights_file: str | Path, *, strict: bool = True,
                 device: str | torch.device = "cpu") -> None:
    """Load a safetensors file into ``model`` (any float dtype in the file is cast to the model's)."""
    try:
        state_dict = load_file(str(weights_file), device=str(device))
    except (SafetensorError, OSError) as error:
        raise CheckpointError(f"{weights_file} is not a readable safetensors file (truncated or corrupt?): {error}") \
            from error
    try:
        model.load_state_dict(state_dict, strict=strict)
    except RuntimeError as error:
        details = "; ".join(line.strip() for line in str(error).splitlines() if line.strip())  # one line
        raise CheckpointError(f"{weights_file} does not fit {type(model).__name__}: {details}") from error
