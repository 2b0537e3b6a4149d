"""Server settings (command line and environment) and launching the demo, locally or as a Hugging Face Space."""

from __future__ import annotations

import argparse
import importlib.util
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ..extras import require

require("app", "gradio")
import gradio as gr

from .backends import APP_BACKENDS
from .models import ModelRegistry, discover_models
from .options import DEFAULT_MAX_PHOTO_PIXELS, DEFAULT_MAX_PIXELS
from .ui import STYLE, build_demo
from .web import WEB_LINK, web_page_built, web_routes

#: Uploads larger than this are refused by Gradio before our code runs (a 16 MP photo as PNG can take 40 MB).
MAX_FILE_SIZE = "64mb"


@dataclass(frozen=True)
class ServerSettings:
    """Where and how the demo runs.

    ``host`` defaults to 127.0.0.1 locally and 0.0.0.0 on a Space (``SPACE_ID`` set); ``mcp`` is on only when
    ``gradio[mcp]`` is installed.
    """

    host: str
    port: int | None
    open_browser: bool
    device: str | None
    half: bool
    concurrency: int
    max_pixels: int
    mcp: bool
    max_photo_pixels: int = DEFAULT_MAX_PHOTO_PIXELS
    backend: str = "auto"  # torch, onnxruntime (CPU), or auto: facesr_hub.app.backends.resolve_backend

    def __post_init__(self) -> None:
        if self.port is not None and not 0 <= self.port <= 65535:
            raise ValueError(f"port must be in 0..65535, got {self.port}")
        if self.concurrency < 1:
            raise ValueError(f"concurrency must be >= 1, got {self.concurrency}")
        if self.max_pixels < 1 or self.max_photo_pixels < 1:
            raise ValueError(f"max pixels must be >= 1, got {self.max_pixels} and {self.max_photo_pixels}")


def mcp_available() -> bool:
    """True when the ``mcp`` package that ``gradio[mcp]`` brings is importable."""
    return importlib.util.find_spec("mcp") is not None


def parse_settings(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> ServerSettings:
    """Settings from the command line, falling back on the environment, then on defaults."""
    environ = os.environ if environ is None else environ
    on_space = bool(environ.get("SPACE_ID"))
    parser = argparse.ArgumentParser(description="FaceSR-Hub demo: 4x face super-resolution in the browser.")
    parser.add_argument("--host", default=environ.get("GRADIO_SERVER_NAME") or ("0.0.0.0" if on_space else "127.0.0.1"),
                        help="interface to listen on (env GRADIO_SERVER_NAME; default 127.0.0.1, 0.0.0.0 on a Space)")
    parser.add_argument("--port", type=int, default=_int_or_none(environ.get("GRADIO_SERVER_PORT")),
                        help="port (env GRADIO_SERVER_PORT; default: the first free one from 7860)")
    parser.add_argument("--no-browser", action="store_true", help="do not open a browser tab")
    parser.add_argument("--device", default=environ.get("FACESR_DEVICE"),
                        help="cpu, cuda, cuda:1... (env FACESR_DEVICE; default CUDA when available)")
    parser.add_argument("--fp32", action="store_true", help="run float32 on CUDA too (default: float16 on CUDA)")
    parser.add_argument("--backend", default=environ.get("FACESR_BACKEND", "auto"), choices=APP_BACKENDS,
                        help="torch, onnxruntime (CPU only, needs the [onnx] extra) or auto: onnxruntime on the CPU "
                             "when installed (it measured faster there), torch on a GPU (env FACESR_BACKEND; "
                             "default auto)")
    parser.add_argument("--concurrency", type=int, default=int(environ.get("FACESR_CONCURRENCY", 2)),
                        help="one-image requests processed at once (env FACESR_CONCURRENCY; default 2)")
    parser.add_argument("--max-pixels", type=int, default=int(environ.get("FACESR_MAX_PIXELS", DEFAULT_MAX_PIXELS)),
                        help="largest input in pixels at x4 and for aligned faces (env FACESR_MAX_PIXELS; default "
                             f"{DEFAULT_MAX_PIXELS})")
    parser.add_argument("--max-photo-pixels", type=int,
                        default=int(environ.get("FACESR_MAX_PHOTO_PIXELS", DEFAULT_MAX_PHOTO_PIXELS)),
                        help="largest whole photo in pixels at x2 and x1 (env FACESR_MAX_PHOTO_PIXELS; default "
                             f"{DEFAULT_MAX_PHOTO_PIXELS})")
    parser.add_argument("--no-mcp", action="store_true", help="do not start the MCP server even if gradio[mcp] is "
                                                              "installed")
    args = parser.parse_args(argv)
    return ServerSettings(host=args.host, port=args.port, open_browser=not (args.no_browser or on_space),
                          device=args.device, half=not args.fp32, concurrency=args.concurrency, backend=args.backend,
                          max_pixels=args.max_pixels, max_photo_pixels=args.max_photo_pixels,
                          mcp=mcp_available() and not args.no_mcp)


def _int_or_none(text: str | None) -> int | None:
    return int(text) if text else None


def create_demo(settings: ServerSettings) -> gr.Blocks:
    """Discover the models (bundled weights, ``FACESR_MODELS``) and build the demo; nothing is loaded yet."""
    registry = ModelRegistry(discover_models(), device=settings.device, half=settings.half, backend=settings.backend)
    return build_demo(registry, max_pixels=settings.max_pixels, max_photo_pixels=settings.max_photo_pixels,
                      concurrency_limit=settings.concurrency, browser_page=WEB_LINK if web_page_built() else None)


def launch(demo: gr.Blocks, settings: ServerSettings, *, block: bool = True, quiet: bool = False) -> gr.Blocks:
    """Start the server (``block=False`` returns at once, e.g. for tests; stop it with ``demo.close()``)."""
    demo.launch(server_name=settings.host, server_port=settings.port, inbrowser=settings.open_browser,
                share=False, prevent_thread_lock=not block, max_file_size=MAX_FILE_SIZE, mcp_server=settings.mcp,
                show_error=False, quiet=quiet, app_kwargs={"routes": web_routes()}, **STYLE)
    return demo


def main(argv: Sequence[str] | None = None) -> None:
    """``python app.py [--host ...] [--port ...] [--no-browser] ...``"""
    settings = parse_settings(argv)
    try:
        demo = create_demo(settings)
    except ValueError as error:  # a bad setting (FACESR_MODELS, --device, ...): say which, without a traceback
        raise SystemExit(f"app.py: {error}") from None
    launch(demo, settings)
