"""The onnxruntime backend: ``load_generator(name, backend="onnxruntime")`` returns an :class:`OnnxGenerator`.

An ``OnnxGenerator`` is a small ``nn.Module`` whose forward runs an ``onnxruntime.InferenceSession`` on CPU, so
:func:`facesr_hub.upscale` (tiling, padding, image modes, errors) takes it exactly as it takes a PyTorch generator.
The ONNX file is the model folder's ``onnx/model.onnx`` (bundled folders and Hub repos ship one); a folder or repo
without one, or a local folder whose ONNX file was exported from other weights, is exported once into the Hugging
Face assets cache (``$HF_ASSETS_CACHE/facesr-hub/onnx-v<EXPORT_VERSION>/<digest of weights and config>/``): nothing
but the model's own files is ever downloaded.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from huggingface_hub import cached_assets_path, hf_hub_download
from huggingface_hub.errors import EntryNotFoundError, HfHubHTTPError
from torch import nn

from .generators import ARCHITECTURE_KEY, GENERATORS, WEIGHTS_NAME

if TYPE_CHECKING:
    import onnxruntime

logger = logging.getLogger(__name__)

#: Bumped whenever the export changes (opset, graph rewrites), so that cached files from an older export are
#: not reused.
EXPORT_VERSION = "1"


def make_session(model: str | os.PathLike | bytes, *, threads: int | None = None) -> "onnxruntime.InferenceSession":
    """A CPU ``InferenceSession`` for an ONNX file (or its bytes) with the settings measured fastest here.

    Args:
        model: path of a ``.onnx`` file, or its serialised bytes.
        threads: intra-op threads; default ``torch.get_num_threads()``, so both backends use the same cores.
    """
    import onnxruntime as ort

    options = ort.SessionOptions()
    # All optimisations, the blocked (NCHWc) conv layout included, and one op at a time (a chain of convs has nothing
    # to run side by side): fast, 1 thread, 46 ms per face against 57 (EXTENDED), 97 (BASIC), 101 (ORT_PARALLEL).
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.intra_op_num_threads = threads or torch.get_num_threads()
    options.inter_op_num_threads = 1
    # Idle worker threads otherwise spin for a while after each run, taking a core from whatever else the process
    # (the app's face detector, PyTorch) or the machine does next. Spinning bought nothing measurable on a busy
    # 2-core machine with 2 threads (fast 73-82 vs 78-80 ms, fast-real 111 vs 104-108, quality 1469 vs 1183 ms per
    # 64x64 face, spinning vs not, over two runs).
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.log_severity_level = 3  # errors only
    source = model if isinstance(model, bytes) else str(model)
    return ort.InferenceSession(source, options, providers=["CPUExecutionProvider"])


class OnnxGenerator(nn.Module):
    """A generator run by onnxruntime on CPU: (B, 3, H, W) floats in [0, 1] -> (B, 3, 4H, 4W), not clamped.

    Inputs on any device and of any float dtype are run in float32 on CPU; the result comes back on the input's
    device with its dtype. ``config`` is the model's ``config.json`` (so ``receptive_radius`` and the default tile
    overlap are the PyTorch model's).
    """

    scale: int = 4

    def __init__(self, onnx_file: str | os.PathLike, *, config: dict[str, Any], threads: int | None = None) -> None:
        super().__init__()
        architecture = config.get(ARCHITECTURE_KEY)
        if architecture not in GENERATORS:
            raise ValueError(f"config architecture={architecture!r} is not one of {sorted(GENERATORS)}")
        self.onnx_file = Path(onnx_file)
        self.architecture: str = architecture
        self._config = dict(config)
        self.session = make_session(self.onnx_file, threads=threads)
        self._input = self.session.get_inputs()[0].name
        self._output = self.session.get_outputs()[0].name
        with torch.device("meta"):  # the architecture's layout only, to read its receptive radius; no weights
            self._receptive_radius = GENERATORS[architecture](
                **{k: v for k, v in config.items() if k != ARCHITECTURE_KEY}).receptive_radius

    @property
    def config(self) -> dict[str, Any]:
        """The model's config, ``"architecture"`` included (as ``Generator.config``)."""
        return dict(self._config)

    @property
    def receptive_radius(self) -> int | None:
        """As the PyTorch generator's: LR pixels of context per side, ``None`` for whole-image layers."""
        return self._receptive_radius

    @property
    def metadata(self) -> dict[str, str]:
        """The ONNX file's metadata (``facesr_hub.weights_sha256``, ``scale``, ``architecture``, ...)."""
        return dict(self.session.get_modelmeta().custom_metadata_map)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 4 or x.shape[1] != 3:
            raise ValueError(f"expected a (B, 3, H, W) batch, got shape {tuple(x.shape)}")
        array = x.detach().to(device="cpu", dtype=torch.float32).contiguous().numpy()
        out = self.session.run([self._output], {self._input: array})[0]
        return torch.from_numpy(out).to(device=x.device, dtype=x.dtype)

    def extra_repr(self) -> str:
        return f"architecture={self.architecture!r}, onnx_file={str(self.onnx_file)!r}"


def load_onnx_generator(source: str, config: dict[str, Any], *, revision: str | None = None,
                        threads: int | None = None) -> OnnxGenerator:
    """The ``backend="onnxruntime"`` half of ``load_generator``: ``source`` is a model folder or a Hub repo id whose
    ``config`` has already been read and checked.

    Raises:
        CheckpointError: the weights do not load (when the model has to be exported).
        OnnxExportError: the model has to be exported and cannot be.
    """
    from .onnx_export import onnx_is_current

    shipped = _shipped_onnx(source, revision)
    if shipped is None:
        return OnnxGenerator(_exported_onnx(source, revision), config=config, threads=threads)
    if Path(source).is_dir() and not onnx_is_current(source):
        logger.warning("%s was exported from other weights than %s: exporting them anew (run `facesr export` to "
                       "update the folder)", shipped, Path(source) / WEIGHTS_NAME)
        shipped = _exported_onnx(source, revision)
    return OnnxGenerator(shipped, config=config, threads=threads)


def _shipped_onnx(source: str, revision: str | None) -> Path | None:
    """The model's own ``onnx/model.onnx``: in the folder, or from the Hub repo (same revision); ``None`` if none."""
    from .onnx_export import ONNX_PATH

    if Path(source).is_dir():
        path = Path(source) / ONNX_PATH
        return path if path.is_file() else None
    try:
        return Path(hf_hub_download(repo_id=source, filename=ONNX_PATH, revision=revision))
    except (EntryNotFoundError, HfHubHTTPError):
        # A repo pushed before ONNX files or without the [onnx] extra, or offline with no cached copy: the weights
        # are exported instead (and their own download reports a Hub that cannot be reached).
        return None


def _exported_onnx(source: str, revision: str | None) -> Path:
    """Export the PyTorch model once into the assets cache, keyed by its weights, config and the export version."""
    from .loading import load_generator
    from .onnx_export import ONNX_FILENAME, export_onnx, weights_digest

    model = load_generator(source, revision=revision, device="cpu")
    key = hashlib.sha256(f"{weights_digest(model.state_dict())} {json.dumps(model.config, sort_keys=True)}".encode())
    folder = cached_assets_path("facesr-hub", namespace=f"onnx-v{EXPORT_VERSION}", subfolder=key.hexdigest()[:32])
    path = folder / ONNX_FILENAME
    if not path.is_file():
        report = export_onnx(model, path)
        logger.info("exported %s to %s (parity %s)", source, path,
                    ", ".join(f"{h}x{w}: {db:.0f} dB" for (h, w), db in report.parity_db.items()))
    return path
