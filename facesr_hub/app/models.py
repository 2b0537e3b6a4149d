"""Which models the demo offers, and a thread-safe cache that loads each one once, lazily.

The list is built from three places: the generator registry (``GENERATORS``: every architecture the app knows),
the bundled weights folder (``facesr_hub/weights/<name>/``, or ``FACESR_WEIGHTS_DIR``) and ``FACESR_MODELS``
(comma-separated Hub repo ids, each optionally ``@revision``). Architectures without weights are listed as *missing*
so the UI can say so plainly instead of offering an untrained network. The fidelity slider's blends are built (and
cached) here too, as :mod:`facesr_hub.app.blending` describes.
"""

from __future__ import annotations

import json
import os
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from huggingface_hub import hf_hub_download
from huggingface_hub.errors import HfHubHTTPError, LocalEntryNotFoundError
from PIL import Image
from torch import nn

from ..devices import resolve_device
from ..faces import DetectedFace, FaceDetector
from ..generators import ARCHITECTURE_KEY, CONFIG_NAME, GENERATORS, CheckpointError, Generator
from ..loading import bundled_model_names, bundled_weights_dir, load_generator
from .backends import resolve_backend
from .blending import OutputBlend, interpolate_weights

#: Comma-separated Hub repo ids (``owner/name`` or ``owner/name@revision``) offered besides the bundled weights.
MODELS_ENV = "FACESR_MODELS"
#: The model selected when the app opens.
DEFAULT_MODEL = "fast"
#: Name suffix of a model's PSNR-stage checkpoint (the fidelity end of the blend).
PSNR_SUFFIX = "-psnr"
#: Bundled names the app expects: one per architecture, plus the PSNR stage of the default model (for blending).
EXPECTED_BUNDLED = tuple(sorted(GENERATORS)) + (DEFAULT_MODEL + PSNR_SUFFIX,)

_DESCRIPTIONS = {
    "upsample": "seed: upsample + conv",
    "pixelshuffle-v1": "seed v1: pixel shuffle",
    "pixelshuffle-v2": "seed v2: pixel shuffle",
    "residual-attention": "residual channel attention",
    "fast": "fast, SRVGG-style",
    "quality": "quality, RRDB",
}
_COMMIT = re.compile(r"^[0-9a-f]{40}$")
_FIDELITY_STEPS = 100  # blended models are cached per 1/100 of the slider
_BLEND_CACHE_SIZE = 8


class ModelUnavailableError(LookupError):
    """The requested model is not in the catalog (no weights bundled, not listed in FACESR_MODELS)."""


@dataclass(frozen=True)
class ModelEntry:
    """One model the app can load.

    ``name`` is what the UI and the API use; ``source`` is what :func:`facesr_hub.load_generator` gets (a bundled
    folder, a local folder or a Hub repo id); ``revision`` is the Hub revision asked for (``None``: main).
    """

    name: str
    source: str
    revision: str | None = None
    architecture: str | None = None  # known up front for bundled weights; read at load time for Hub repos

    @property
    def on_hub(self) -> bool:
        return not Path(self.source).is_dir()

    @property
    def label(self) -> str:
        """Human-readable dropdown label."""
        what = _DESCRIPTIONS.get(self.architecture or "", self.architecture or "Hub model")
        if self.name.endswith(PSNR_SUFFIX):
            what += ", PSNR stage"
        return f"{self.name} ({what})"

    def fingerprint(self) -> str:
        """Changes whenever the weights behind this entry may have changed (for caches such as cached examples)."""
        if self.on_hub:
            return f"{self.source}@{self.revision or 'main'}"
        weights = Path(self.source) / "model.safetensors"
        stat = weights.stat()
        return f"{weights.resolve()}:{stat.st_size}:{stat.st_mtime_ns}"


@dataclass(frozen=True)
class ModelCatalog:
    """What the app offers (``entries``) and which expected bundled models have no weights (``missing``)."""

    entries: tuple[ModelEntry, ...]
    missing: tuple[str, ...]
    weights_dir: Path

    @property
    def names(self) -> list[str]:
        return [entry.name for entry in self.entries]

    @property
    def default(self) -> str | None:
        """``fast`` when it has weights, else the first available model, else ``None``."""
        names = self.names
        return DEFAULT_MODEL if DEFAULT_MODEL in names else (names[0] if names else None)

    def get(self, name: str) -> ModelEntry:
        for entry in self.entries:
            if entry.name == name:
                return entry
        raise ModelUnavailableError(self.unavailable_message(name))

    def psnr_partner(self, name: str) -> str | None:
        """The PSNR-stage checkpoint that the fidelity slider blends ``name`` with, if it is available."""
        partner = name + PSNR_SUFFIX
        return partner if not name.endswith(PSNR_SUFFIX) and partner in self.names else None

    def unavailable_message(self, name: str | None) -> str:
        available = ", ".join(self.names) or "none"
        if not name:
            return (f"No model has weights yet (looked in {self.weights_dir} and ${MODELS_ENV}). Add trained weights "
                    f"to facesr_hub/weights/<name>/ (config.json + model.safetensors) or list Hub repos in "
                    f"${MODELS_ENV}.")
        if name in self.missing or name in GENERATORS:
            return f"Model '{name}' has no trained weights yet (available: {available})."
        return f"Unknown model '{name}' (available: {available})."


def parse_model_specs(text: str | None) -> list[tuple[str, str | None]]:
    """Parse ``FACESR_MODELS``: ``"owner/a, owner/b@v1.0"`` -> ``[("owner/a", None), ("owner/b", "v1.0")]``.

    Raises:
        ValueError: an empty item, an empty revision or a repo id that is not ``owner/name`` (nor a local folder).
    """
    specs = []
    for item in (text or "").split(","):
        item = item.strip()
        if not item:
            continue
        repo_id, _, revision = item.partition("@")
        repo_id, revision = repo_id.strip(), revision.strip()
        if "@" in item and not revision:
            raise ValueError(f"{MODELS_ENV}: '{item}' has an empty revision after '@'")
        if not Path(repo_id).is_dir() and not re.fullmatch(r"[\w.-]+/[\w.-]+", repo_id):
            raise ValueError(f"{MODELS_ENV}: '{repo_id}' is not a Hub repo id of the form owner/name")
        specs.append((repo_id, revision or None))
    return specs


def discover_models(*, environ: Mapping[str, str] | None = None) -> ModelCatalog:
    """The catalog: bundled weights (``bundled_weights_dir()``) first, then ``FACESR_MODELS`` entries, in order."""
    environ = os.environ if environ is None else environ
    weights_dir = bundled_weights_dir()
    entries = []
    for name in bundled_model_names():
        folder = weights_dir / name
        entries.append(ModelEntry(name=name, source=str(folder), architecture=_local_architecture(folder)))
    for repo_id, revision in parse_model_specs(environ.get(MODELS_ENV)):
        name = f"{repo_id}@{revision}" if revision else repo_id
        if name not in {entry.name for entry in entries}:
            entries.append(ModelEntry(name=name, source=repo_id, revision=revision))
    present = {entry.name for entry in entries}
    missing = tuple(name for name in EXPECTED_BUNDLED if name not in present)
    return ModelCatalog(entries=tuple(entries), missing=missing, weights_dir=weights_dir)


def _local_architecture(folder: Path) -> str | None:
    try:
        return json.loads((folder / CONFIG_NAME).read_text(encoding="utf-8")).get(ARCHITECTURE_KEY)
    except (OSError, ValueError, AttributeError):
        return None  # load_generator reports the broken config properly when the model is chosen


def resolve_commit(repo_id: str, revision: str | None) -> str:
    """The 40-hex commit that ``revision`` (branch, tag, sha or ``None`` = main) of a Hub repo points at now.

    Read from the download cache's ``snapshots/<commit>/`` folder of the repo's config, which also works offline
    (``HF_HUB_OFFLINE=1``) for revisions already cached.
    """
    try:
        config_path = Path(hf_hub_download(repo_id=repo_id, filename=CONFIG_NAME, revision=revision))
    except (HfHubHTTPError, LocalEntryNotFoundError, OSError) as error:
        raise CheckpointError(f"{repo_id}@{revision or 'main'}: cannot reach this Hub revision ({error})") from error
    commit = config_path.parent.name
    if not _COMMIT.match(commit):
        raise CheckpointError(f"{repo_id}@{revision or 'main'}: could not tell the commit from {config_path}")
    return commit


@dataclass(frozen=True)
class LoadedModel:
    """A model ready for inference and what the UI shows about it."""

    entry: ModelEntry
    model: nn.Module  # a Generator, or an OnnxGenerator with the onnxruntime backend
    commit: str | None  # the Hub commit actually loaded; None for local folders
    load_seconds: float

    @property
    def display_name(self) -> str:
        return f"{self.entry.source}@{self.commit[:12]}" if self.commit else self.entry.name


class ModelRegistry:
    """Loads each catalog model once, on first use, onto one device; safe to call from many request threads.

    Each model has its own lock, so a slow first load (a Hub download) never holds up requests for other models.

    Args:
        catalog: what may be loaded (see :func:`discover_models`).
        device: ``None``/``"auto"``: CUDA when available, else CPU.
        half: load in float16 on CUDA (default). CPU always runs float32.
        loader: how a model is loaded; ``facesr_hub.load_generator`` unless a test needs otherwise.
        backend: ``"torch"`` (default), ``"onnxruntime"`` (CPU only) or ``"auto"`` (what the app's server uses:
            onnxruntime on the CPU where it measured faster, see :func:`facesr_hub.app.backends.resolve_backend`).
    """

    def __init__(self, catalog: ModelCatalog, *, device: torch.device | str | None = None, half: bool = True,
                 loader: Callable[..., Generator] = load_generator, backend: str = "torch") -> None:
        self.catalog = catalog
        self.device = resolve_device(device)
        self.dtype = torch.float16 if half and self.device.type == "cuda" else torch.float32
        self.backend = resolve_backend(backend, self.device)
        self._loader = loader
        self._loaded: dict[str, LoadedModel] = {}
        self._torch_twins: dict[str, Generator] = {}  # torch copies of onnxruntime models, for weight blending
        self._blends: OrderedDict[tuple[str, int], nn.Module] = OrderedDict()
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()  # protects the dicts above, never held during a load
        self._detector: FaceDetector | None = None

    @property
    def device_label(self) -> str:
        """Where inference runs, e.g. ``"cuda (NVIDIA H100 80GB HBM3, float16)"``, ``"CPU (float32)"`` or
        ``"CPU (float32) with onnxruntime"``."""
        dtype = str(self.dtype).removeprefix("torch.")
        # The GPU's name only once CUDA is up: asking earlier would initialise CUDA in the main process, which a
        # ZeroGPU Space forbids (there CUDA exists only inside @spaces.GPU calls).
        if self.device.type == "cuda" and torch.cuda.is_initialized():
            return f"{self.device} ({torch.cuda.get_device_name(self.device)}, {dtype})"
        runtime = " with onnxruntime" if self.backend == "onnxruntime" else ""
        return f"{self.device.type.upper()} ({dtype}){runtime}"

    def _lock_for(self, key: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(key, threading.Lock())

    def get(self, name: str) -> LoadedModel:
        """The loaded model ``name`` (loading it now if this is its first use).

        Raises:
            ModelUnavailableError: not in the catalog. CheckpointError: the weights do not load.
        """
        entry = self.catalog.get(name)
        if (loaded := self._loaded.get(name)) is not None:
            return loaded
        with self._lock_for(name):
            if (loaded := self._loaded.get(name)) is not None:  # another thread loaded it while we waited
                return loaded
            start = time.perf_counter()
            commit = resolve_commit(entry.source, entry.revision) if entry.on_hub else None
            # Load the resolved commit, not the branch: config and weights then come from the same snapshot.
            model = self._loader(entry.source, revision=commit, device=self.device, dtype=self.dtype,
                                 backend=self.backend)
            loaded = LoadedModel(entry=entry, model=model, commit=commit, load_seconds=time.perf_counter() - start)
            with self._guard:
                self._loaded[name] = loaded
            return loaded

    def blended(self, name: str, fidelity: float) -> tuple[nn.Module, str]:
        """The model for ``name`` at this fidelity (0 = the model itself, 1 = its PSNR stage) and a description.

        Without a PSNR-stage partner the model itself is returned whatever ``fidelity`` is.
        """
        if not 0.0 <= fidelity <= 1.0:
            raise ValueError(f"fidelity must be in [0, 1], got {fidelity}")
        gan = self.get(name)
        partner = self.catalog.psnr_partner(name)
        step = round(fidelity * _FIDELITY_STEPS)
        if partner is None or step == 0:
            return gan.model, gan.display_name
        psnr = self.get(partner)
        if step == _FIDELITY_STEPS:
            return psnr.model, psnr.display_name
        alpha = step / _FIDELITY_STEPS
        how = "weights" if gan.model.config == psnr.model.config else "outputs"
        gan_model, psnr_model = gan.model, psnr.model
        if how == "weights" and not isinstance(gan_model, Generator):
            # Weights are mixed in PyTorch whatever the backend, so each fidelity gives the same image on both.
            gan_model, psnr_model = self._torch_twin(gan), self._torch_twin(psnr)
        description = f"{gan.display_name} ↔ {psnr.display_name} at fidelity {alpha:.2f} ({how} blended)"
        key = (name, step)
        with self._lock_for(f"blend:{name}"):
            with self._guard:
                if (model := self._blends.get(key)) is not None:
                    self._blends.move_to_end(key)
                    return model, description
            model = (interpolate_weights(psnr_model, gan_model, alpha=alpha) if how == "weights"
                     else OutputBlend(psnr_model, gan_model, alpha=alpha))
            with self._guard:
                self._blends[key] = model
                while len(self._blends) > _BLEND_CACHE_SIZE:
                    self._blends.popitem(last=False)
        return model, description

    def _torch_twin(self, loaded: LoadedModel) -> Generator:
        """The PyTorch generator behind an onnxruntime model (the same commit), loaded once."""
        name = loaded.entry.name
        with self._lock_for(f"torch:{name}"):
            if name not in self._torch_twins:
                self._torch_twins[name] = self._loader(loaded.entry.source, revision=loaded.commit,
                                                       device=self.device, dtype=self.dtype, backend="torch")
            return self._torch_twins[name]

    def detect_faces(self, photo: Image.Image, *, upsample: int) -> list[DetectedFace]:
        """Faces in an RGB photo, with dlib's detector loaded on first use (offline: its model ships in a wheel)."""
        with self._lock_for("face-detector"):
            # One detection at a time: dlib does not promise that one detector may run in two threads at once.
            if self._detector is None:
                self._detector = FaceDetector()
            return self._detector.detect(np.asarray(photo), upsample=upsample)
