"""The Gradio demo: ``models`` (which models, loaded once), ``service`` (the work, no Gradio), ``ui`` (layout),
``server`` (settings and launch). ``app.py`` at the repo root is the entry point, locally and on a Space."""

from .models import ModelCatalog, ModelRegistry, discover_models
from .server import ServerSettings, create_demo, launch, main, parse_settings
from .service import UpscaleOptions, UpscaleResult, upscale_batch, upscale_file
from .ui import build_demo

__all__ = ["ModelCatalog", "ModelRegistry", "ServerSettings", "UpscaleOptions", "UpscaleResult", "build_demo",
           "create_demo", "discover_models", "launch", "main", "parse_settings", "upscale_batch", "upscale_file"]
