"""The Gradio demo: ``models`` (which models, loaded once), ``options`` (what a request may ask: modes, scales,
limits, each mode's default model), ``inputs`` (reading uploads), ``service`` (the work, no Gradio), ``photo``
(whole photos at x4/x2/x1), ``previews`` (what the page shows and downloads), ``handlers`` (GPU and error
wrapping), ``ui`` (layout), ``server`` (settings and launch). ``app.py`` at the repo root is the entry point,
locally and on a Space."""

from .models import ModelCatalog, ModelRegistry, discover_models
from .options import UpscaleOptions, default_model, model_for_mode
from .server import ServerSettings, create_demo, launch, main, parse_settings
from .service import UpscaleResult, upscale_batch, upscale_file
from .ui import build_demo

__all__ = ["ModelCatalog", "ModelRegistry", "ServerSettings", "UpscaleOptions", "UpscaleResult", "build_demo",
           "create_demo", "default_model", "discover_models", "launch", "main", "model_for_mode", "parse_settings",
           "upscale_batch", "upscale_file"]
