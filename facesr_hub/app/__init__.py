"""The Gradio demo: ``models`` (which models, loaded once), ``options`` (what a request may ask: modes, scales,
limits, each mode's default model), ``inputs`` (reading uploads), ``service`` (the work, no Gradio), ``photo``
(whole photos at x4/x2/x1), ``previews`` (what the page shows and downloads), ``handlers`` (GPU and error
wrapping), ``ui`` (layout), ``server`` (settings and launch). ``app.py`` at the repo root is the entry point,
locally and on a Space."""

import importlib
from typing import TYPE_CHECKING, Any

from ..extras import require

# Every module here reaches facesr_hub.data (torchvision). ``ui``/``server`` also need Gradio and guard it themselves.
require("app", "torchvision")

# Where each public name lives. Imported on first use (PEP 562), not here: ``ui``/``server`` need Gradio, and the
# service layer (``models``, ``service``, ``photo``) must import without it, e.g. for benchmarks/app_cuda.py on the
# GPU image, which has no Gradio.
_EXPORTS = {
    "ModelCatalog": "models", "ModelRegistry": "models", "discover_models": "models",
    "UpscaleOptions": "options", "default_model": "options", "model_for_mode": "options",
    "ServerSettings": "server", "create_demo": "server", "launch": "server", "main": "server",
    "parse_settings": "server", "UpscaleResult": "service", "upscale_batch": "service", "upscale_file": "service",
    "build_demo": "ui",
}

if TYPE_CHECKING:
    from .models import ModelCatalog, ModelRegistry, discover_models
    from .options import UpscaleOptions, default_model, model_for_mode
    from .server import ServerSettings, create_demo, launch, main, parse_settings
    from .service import UpscaleResult, upscale_batch, upscale_file
    from .ui import build_demo


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)


__all__ = ["ModelCatalog", "ModelRegistry", "ServerSettings", "UpscaleOptions", "UpscaleResult", "build_demo",
           "create_demo", "default_model", "discover_models", "launch", "main", "model_for_mode", "parse_settings",
           "upscale_batch", "upscale_file"]
