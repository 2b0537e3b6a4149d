"""The Gradio layout: one-image tab (aligned face / whole photo), batch tab, API tab; errors become clear messages.

All the work is done by :mod:`facesr_hub.app.service`; this module only wires components to it, turns results
into files Gradio can serve (lossless PNG) and turns exceptions into ``gr.Error`` / ``gr.Warning`` messages.
"""

from __future__ import annotations

import html
import logging
import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from hashlib import sha1
from pathlib import Path
from typing import Any

import gradio as gr
import torch

from ..generators import CheckpointError
from ..images import ImageReadError, ImageTooLargeError
from .components import ImageFile
from .models import ModelRegistry, ModelUnavailableError
from .service import (
    BACKGROUNDS,
    COMPARE_MODES,
    MAX_BATCH_FILES,
    MODE_ALIGNED,
    MODES,
    UpscaleOptions,
    enlarge,
    new_request_dir,
    save_png,
    upscale_batch,
    upscale_file,
)

try:  # On a ZeroGPU Space, `spaces.GPU` attaches a GPU for the duration of the call; elsewhere it is absent.
    import spaces
except ImportError:
    spaces = None

logger = logging.getLogger(__name__)

EXAMPLES_DIR = Path(__file__).resolve().parents[2] / "examples"
THEME = gr.themes.Soft(primary_hue="indigo", secondary_hue="slate")
CSS = """
.gradio-container {max-width: 1180px !important; margin: auto;}
#header h1 {margin-bottom: 0.1em;}
#header p {margin-top: 0; color: var(--body-text-color-subdued);}
#status {font-size: 0.9em;}
#run {min-height: 48px;}
#info {min-height: 2.5em;}
"""
#: What ``demo.launch`` needs besides the server settings (Gradio 6 takes theme and CSS at launch).
STYLE: dict[str, Any] = {"theme": THEME, "css": CSS}


def on_gpu(duration: int) -> Callable[[Callable], Callable]:
    """``@spaces.GPU(duration=...)`` when the ``spaces`` package is installed, else a no-op decorator."""
    if spaces is None:
        return lambda fn: fn
    return spaces.GPU(duration=duration)


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn every failure into a ``gr.Error`` with a readable message (never a stack trace, never a silent echo)."""
    try:
        yield
    except gr.Error:
        raise
    except torch.cuda.OutOfMemoryError:
        raise gr.Error("The GPU ran out of memory for this image; try a smaller image.", title="Out of memory",
                       print_exception=False) from None
    except (ImageReadError, ImageTooLargeError) as error:
        raise gr.Error(html.escape(str(error)), title="Cannot use this file", print_exception=False) from None
    except (ModelUnavailableError, CheckpointError) as error:
        raise gr.Error(html.escape(str(error)), title="Model unavailable", print_exception=False) from None
    except ValueError as error:
        raise gr.Error(html.escape(str(error)), title="Invalid input", print_exception=False) from None
    except Exception as error:  # a bug: log it in full for us, tell the user briefly, and still fail the request
        logger.exception("upscaling failed")
        raise gr.Error(f"Upscaling failed unexpectedly ({type(error).__name__}); the details are in the server log.",
                       print_exception=False) from None


def status_markdown(registry: ModelRegistry) -> str:
    """The banner: device, models with weights, and plainly, the expected models that have none."""
    catalog = registry.catalog
    lines = [f"Running on **{registry.device_label}**. "
             + (f"Models: {', '.join(f'`{name}`' for name in catalog.names)}." if catalog.names else "")]
    if not catalog.names:
        lines.append(f"⚠️ **No model has trained weights yet**, so nothing can be upscaled. Add some to "
                     f"`{catalog.weights_dir}/<name>/` (config.json + model.safetensors), or list Hub repos "
                     "(`owner/name[@revision]`, comma-separated) in `FACESR_MODELS`.")
    if catalog.missing:
        lines.append("No weights yet (not offered): " + ", ".join(f"`{name}`" for name in catalog.missing) + ".")
    return "  \n".join(lines)


API_SNIPPET = '''```python
from gradio_client import Client, handle_file

client = Client("http://127.0.0.1:7860/", analytics_enabled=False)   # or "owner/space-name"
(before, after), png, info, faces = client.predict(
    handle_file("face.png"),   # image file
    "Aligned face",            # mode: "Aligned face" | "Whole photo"
    "fast",                    # model name (see the dropdown)
    0.0,                       # fidelity: 0 = GAN detail ... 1 = PSNR stage
    True,                      # aligned face: resize to 64x64 first
    "bicubic",                 # "before" image: "bicubic" | "nearest"
    "bicubic",                 # whole-photo background: "bicubic" | "fast"
    api_name="/upscale",
)
print(info)   # model, device, time, sizes; `png` is the 4x result's local path
```'''


def build_demo(registry: ModelRegistry, *, max_pixels: int, concurrency_limit: int = 2,
               output_root: Path | None = None, examples_dir: Path = EXAMPLES_DIR) -> gr.Blocks:
    """The demo, with its queue configured; launch it with ``demo.launch(**STYLE, ...)``.

    Args:
        registry: models and device (see :mod:`facesr_hub.app.models`).
        max_pixels: largest input accepted, in pixels.
        concurrency_limit: one-image requests run at once (per process, i.e. per GPU); batches run one at a time.
        output_root: where per-request PNGs and zips are written (default: a folder in the system temp dir).
        examples_dir: 64x64 example faces (``*.png``); none: no examples.
    """
    if concurrency_limit < 1:
        raise ValueError(f"concurrency_limit must be >= 1, got {concurrency_limit}")
    catalog = registry.catalog
    output_root = output_root or Path(tempfile.gettempdir()) / "facesr-hub-app"
    choices = [(entry.label, entry.name) for entry in catalog.entries]

    def options(mode: str, model: str | None, fidelity: float, native: bool, compare: str,
                background: str) -> UpscaleOptions:
        if not model:
            raise ModelUnavailableError(catalog.unavailable_message(None))
        return UpscaleOptions(model=model, mode=mode, fidelity=float(fidelity), native=bool(native),
                              compare=compare, background=background, max_pixels=max_pixels)

    @on_gpu(duration=60)
    def upscale_image(image: str | None, mode: str, model: str | None, fidelity: float, native: bool,
                      compare: str, background: str) -> tuple[tuple[str, str], str, str, list[tuple[Any, str]]]:
        """Upscale a face image 4x.

        Args:
            image: the image file (PNG, JPEG, WebP, GIF, TIFF, BMP...).
            mode: "Aligned face" (the image is one face crop) or "Whole photo" (faces are found, restored and
                pasted back into a 4x photo).
            model: model name, e.g. "fast".
            fidelity: 0 = the model's GAN detail, 1 = its PSNR stage (smoother, more faithful); blended between.
            native: aligned face only: centre-crop and resize to 64x64 (the models' input size) first.
            compare: how the "before" image is enlarged: "bicubic" or "nearest".
            background: whole photo only: "bicubic" or "fast" (the fast generator).

        Returns:
            (before, after) PNG paths of equal size, the 4x PNG path, a Markdown summary (model, device, time),
            and the faces found: for each, its aligned input (enlarged nearest) then its restoration.
        """
        with user_errors():
            if not image:
                raise gr.Error("Add an image first: drop a file, paste one, or use the webcam.",
                               title="No image", print_exception=False)
            result = upscale_file(image, options(mode, model, fidelity, native, compare, background), registry)
            folder = new_request_dir(output_root)
            stem = Path(image).stem[:80] or "image"
            after = save_png(result.output, folder / f"{stem}_x4.png")
            before = save_png(result.before, folder / f"{stem}_before.png")
            faces = []
            for i, (lr, sr) in enumerate(result.faces, start=1):  # nearest: the input's real pixels show
                faces += [(enlarge(lr, sr.size, "nearest"), f"Face {i}: aligned input"), (sr, f"Face {i}: restored")]
        for note in result.notes:
            gr.Warning(html.escape(note))
        return (str(before), str(after)), str(after), result.summary(), faces

    @on_gpu(duration=300)
    def upscale_many(files: list[str] | None, mode: str, model: str | None, fidelity: float, native: bool,
                     background: str, progress: gr.Progress = gr.Progress()) -> tuple[str, str]:  # noqa: B008
        """Upscale up to 32 images 4x into one zip (same options as /upscale); returns the zip path and a summary."""
        with user_errors():
            if not files:
                raise gr.Error("Add one or more images first.", title="No images", print_exception=False)
            batch = upscale_batch(files, options(mode, model, fidelity, native, "bicubic", background), registry,
                                  out_dir=new_request_dir(output_root),
                                  progress=lambda i, n, name: progress((i, n), desc=f"Upscaling {name}"))
            if not batch.done:
                raise gr.Error(html.escape("None of the files could be upscaled: " + "; ".join(
                    f"{name}: {message}" for name, message in batch.failed)), title="Nothing to upscale",
                    print_exception=False)
        for name, message in batch.failed:
            gr.Warning(html.escape(f"{name}: {message}"))
        return str(batch.zip_path), batch.summary()

    def example(image: str) -> tuple[tuple[str, str], str, str, list[tuple[Any, str]]]:
        return upscale_image(image, MODE_ALIGNED, catalog.default, 0.0, True, "bicubic", "bicubic")

    def mode_changed(mode: str) -> tuple[dict, dict, dict]:
        aligned = mode == MODE_ALIGNED
        return gr.update(visible=aligned), gr.update(visible=not aligned), gr.update(visible=not aligned)

    def model_changed(model: str | None) -> dict:
        partner = catalog.psnr_partner(model) if model else None
        return gr.update(interactive=partner is not None, info=_fidelity_info(partner))

    with gr.Blocks(title="FaceSR-Hub · 4× face super-resolution", analytics_enabled=False,
                   delete_cache=(3600, 3600)) as demo:
        gr.Markdown("# FaceSR-Hub\n4× face super-resolution: a 64×64 face becomes 256×256. Drop a face crop or a "
                    "whole photo, then drag the slider to compare.", elem_id="header")
        gr.Markdown(status_markdown(registry), elem_id="status")
        partner = catalog.psnr_partner(catalog.default) if catalog.default else None
        with gr.Tab("One image"):
            with gr.Row(equal_height=False):
                with gr.Column(scale=2, min_width=320):
                    image = ImageFile(label="Input image", type="filepath", sources=["upload", "clipboard", "webcam"],
                                      height=300, elem_id="input-image")
                    mode = gr.Radio(list(MODES), value=MODE_ALIGNED, label="What is in the image?",
                                    info="Aligned face: one face crop, like the examples. Whole photo: faces are "
                                         "found, restored and pasted back into a 4× photo.")
                    model = gr.Dropdown(choices, value=catalog.default, label="Model", elem_id="model")
                    fidelity = gr.Slider(0.0, 1.0, value=0.0, step=0.05, label="Fidelity",
                                         info=_fidelity_info(partner), interactive=partner is not None)
                    with gr.Accordion("More options", open=False):
                        native = gr.Checkbox(value=True, label="Resize the crop to 64×64 first (the models' "
                                             "native input; untick to upscale it 4× at its own size)")
                        background = gr.Radio(list(BACKGROUNDS), value="bicubic", visible=False,
                                              label="Background of the photo",
                                              info="bicubic, or the fast generator (tiled; slower)")
                        compare = gr.Radio(list(COMPARE_MODES), value="bicubic",
                                           label="'Before' image enlarged with")
                    run = gr.Button("Upscale 4×", variant="primary", elem_id="run", interactive=bool(catalog.names))
                with gr.Column(scale=3, min_width=360):
                    slider = gr.ImageSlider(label="Before | after (drag the handle)", type="filepath", format="png",
                                            interactive=False, max_height=640, elem_id="result")
                    info = gr.Markdown(elem_id="info")
                    download = gr.DownloadButton("Download the 4× PNG", elem_id="download")
                    gallery = gr.Gallery(label="Faces found: aligned input | restored (click to enlarge)",
                                         columns=2, height="auto", object_fit="contain", preview=False,
                                         format="png", interactive=False, buttons=["download", "fullscreen"],
                                         visible=False, elem_id="faces")
            outputs = [slider, download, info, gallery]
            examples = sorted(examples_dir.glob("*.png")) if examples_dir.is_dir() else []
            if examples:
                with _examples_cache(registry):
                    gr.Examples([[str(path)] for path in examples], inputs=[image], outputs=outputs, fn=example,
                                cache_examples=catalog.default is not None, cache_mode="lazy",
                                label="Examples: 64×64 held-out faces (results with the default model)",
                                elem_id="examples")
        with gr.Tab("Many images"):
            with gr.Row(equal_height=False):
                with gr.Column(scale=2, min_width=320):
                    files = gr.File(label=f"Images (up to {MAX_BATCH_FILES})", file_count="multiple",
                                    type="filepath", height=200)
                    batch_mode = gr.Radio(list(MODES), value=MODE_ALIGNED, label="What is in the images?")
                    batch_model = gr.Dropdown(choices, value=catalog.default, label="Model")
                    batch_fidelity = gr.Slider(0.0, 1.0, value=0.0, step=0.05, label="Fidelity",
                                               info=_fidelity_info(partner), interactive=partner is not None)
                    batch_native = gr.Checkbox(value=True, label="Aligned faces: resize to 64×64 first")
                    batch_background = gr.Radio(list(BACKGROUNDS), value="bicubic", label="Photo background")
                    batch_run = gr.Button("Upscale all", variant="primary", elem_id="batch-run",
                                          interactive=bool(catalog.names))
                with gr.Column(scale=3, min_width=360):
                    archive = gr.File(label="Results (zip of PNGs)", elem_id="batch-zip")
                    batch_info = gr.Markdown()
        with gr.Tab("API"):
            gr.Markdown("Call the demo from Python with `pip install gradio_client`:\n\n" + API_SNIPPET
                        + "\n\n`/upscale_batch` takes a list of files and returns a zip. "
                          "The full schema is under *Use via API* at the bottom of the page.")

        run.click(upscale_image, inputs=[image, mode, model, fidelity, native, compare, background], outputs=outputs,
                  api_name="upscale", concurrency_id="upscale", concurrency_limit=concurrency_limit)
        batch_run.click(upscale_many, inputs=[files, batch_mode, batch_model, batch_fidelity, batch_native,
                                              batch_background], outputs=[archive, batch_info],
                        api_name="upscale_batch", concurrency_id="batch", concurrency_limit=1)
        mode.change(mode_changed, inputs=mode, outputs=[native, background, gallery], api_visibility="private",
                    queue=False)
        model.change(model_changed, inputs=model, outputs=fidelity, api_visibility="private", queue=False)
        batch_model.change(model_changed, inputs=batch_model, outputs=batch_fidelity, api_visibility="private",
                           queue=False)
    demo.queue(default_concurrency_limit=concurrency_limit, max_size=64)
    return demo


def _fidelity_info(partner: str | None) -> str:
    if partner is None:
        return "Needs the model's PSNR-stage checkpoint (e.g. fast-psnr); none is available for this model."
    return f"0 = sharpest GAN detail · 1 = {partner} (smoother, most faithful) · in between: blended"


@contextmanager
def _examples_cache(registry: ModelRegistry) -> Iterator[None]:
    """Cache example results in a folder named after the default model's weights.

    Gradio keys its example cache by component id only, so results made with old (or random) weights would be
    served after the weights change. ``GRADIO_EXAMPLES_CACHE`` is read while ``gr.Examples`` is built, so it is
    set for that moment only (and left alone when the user set it).
    """
    catalog = registry.catalog
    user_choice = os.environ.get("GRADIO_EXAMPLES_CACHE")
    if catalog.default is None:
        yield
        return
    fingerprint = sha1(f"{catalog.get(catalog.default).fingerprint()}|{registry.dtype}".encode()).hexdigest()[:12]
    base = Path(user_choice) if user_choice else Path(".gradio") / "cached_examples"
    os.environ["GRADIO_EXAMPLES_CACHE"] = str(base / f"{catalog.default}-{fingerprint}")
    try:
        yield
    finally:
        if user_choice is None:
            os.environ.pop("GRADIO_EXAMPLES_CACHE", None)
        else:
            os.environ["GRADIO_EXAMPLES_CACHE"] = user_choice
