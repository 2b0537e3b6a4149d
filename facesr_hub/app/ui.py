"""The Gradio layout: one-image tab (aligned face / whole photo), batch tab, API tab; errors become clear messages.

All the work is done by :mod:`facesr_hub.app.service`; this module only wires components to it, turns results
into files Gradio can serve (:mod:`facesr_hub.app.previews`: a lossy preview for the slider, the lossless PNG for
the Download button) and turns exceptions into ``gr.Error`` / ``gr.Warning`` messages.

A one-image request answers twice: first the preview, the info and the faces (what the user waits for), then,
once written, the full-size PNG behind the Download button. API clients get the final answer, PNG included.
"""

from __future__ import annotations

import html
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from hashlib import sha1
from pathlib import Path
from typing import Any

from ..extras import require

require("app", "gradio")
import gradio as gr

from .components import ImageFile
from .handlers import on_gpu, user_errors
from .models import ModelRegistry, ModelUnavailableError
from .options import (
    BACKGROUNDS,
    COMPARE_MODES,
    DEFAULT_FIDELITY,
    DEFAULT_MAX_PHOTO_PIXELS,
    DEFAULT_MIN_FACE,
    MODE_ALIGNED,
    MODE_PHOTO,
    MODES,
    UpscaleOptions,
    default_model,
    model_for_mode,
    parse_scale,
)
from .previews import face_gallery, preview_pair, save_png, save_preview
from .service import MAX_BATCH_FILES, new_request_dir, upscale_batch, upscale_file

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
#: The scale control's choices: (label, API value).
SCALE_CHOICES = [("×4", "x4"), ("×2", "x2"), ("×1 (same size)", "x1")]
DOWNLOAD_LABEL = "Download the full-size PNG"
#: What ``demo.launch`` needs besides the server settings (Gradio 6 takes theme and CSS at launch).
STYLE: dict[str, Any] = {"theme": THEME, "css": CSS}


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
    handle_file("photo.jpg"),  # image file
    "Whole photo",             # mode: "Aligned face" | "Whole photo"
    "",                        # model name (see the dropdown); "" = the mode's default
    0.0,                       # fidelity: 0 = GAN detail ... 1 = PSNR stage
    True,                      # aligned face: resize to 64x64 first
    "bicubic",                 # "before" image: "bicubic" | "nearest"
    "bicubic",                 # whole-photo background at x4: "bicubic" | "fast"
    "x2",                      # whole-photo output scale: "x4" (default) | "x2" | "x1" (same size)
    24,                        # whole photo: smallest face (box side, px) to restore
    api_name="/upscale",
)
print(info)   # model, device, time, sizes, faces; `png` is the full-size lossless result, `after` a JPEG preview
```'''


def build_demo(registry: ModelRegistry, *, max_pixels: int, max_photo_pixels: int = DEFAULT_MAX_PHOTO_PIXELS,
               concurrency_limit: int = 2, output_root: Path | None = None,
               examples_dir: Path = EXAMPLES_DIR, browser_page: str | None = None) -> gr.Blocks:
    """The demo, with its queue configured; launch it with ``demo.launch(**STYLE, ...)``.

    Args:
        registry: models and device (see :mod:`facesr_hub.app.models`).
        max_pixels: largest input accepted at x4 (and in aligned mode), in pixels.
        max_photo_pixels: largest whole photo accepted at x2 and x1, in pixels.
        concurrency_limit: one-image requests run at once (per process, i.e. per GPU); batches run one at a time.
        output_root: where per-request previews, PNGs and zips are written (default: a folder in the system temp
            dir).
        examples_dir: 64x64 example faces (``*.png``); none: no examples.
        browser_page: URL of the in-browser page (:mod:`facesr_hub.app.web`) to link from the header; None: no link.
    """
    if concurrency_limit < 1:
        raise ValueError(f"concurrency_limit must be >= 1, got {concurrency_limit}")
    catalog = registry.catalog
    output_root = output_root or Path(tempfile.gettempdir()) / "facesr-hub-app"
    choices = [(entry.label, entry.name) for entry in catalog.entries]

    def options(mode: str, model: str | None, fidelity: float, native: bool, compare: str, background: str,
                scale: str | int = "x4", min_face: float = DEFAULT_MIN_FACE) -> UpscaleOptions:
        if not model and mode in MODES:  # API callers may leave the model to the mode's default
            model = default_model(mode, catalog.names)
        if not model:
            raise ModelUnavailableError(catalog.unavailable_message(None))
        return UpscaleOptions(model=model, mode=mode, fidelity=float(fidelity), native=bool(native),
                              compare=compare, background=background, scale=parse_scale(scale),
                              min_face=round(float(min_face)), max_pixels=max_pixels,
                              max_photo_pixels=max_photo_pixels)

    @on_gpu(duration=120)
    def upscale_image(image: str | None, mode: str, model: str | None, fidelity: float, native: bool,
                      compare: str, background: str, scale: str = "x4", min_face: float = DEFAULT_MIN_FACE,
                      progress: gr.Progress = gr.Progress()  # noqa: B008
                      ) -> Iterator[tuple[tuple[str, str], Any, str, list[tuple[Any, str]]]]:
        """Upscale a face image 4x, or restore the faces of a whole photo at x4, x2 or x1.

        Args:
            image: the image file (PNG, JPEG, WebP, GIF, TIFF, BMP...).
            mode: "Aligned face" (the image is one face crop) or "Whole photo" (faces are found, restored and
                pasted back into the photo, enlarged by `scale`).
            model: model name, e.g. "fast"; empty: the mode's default ("fast-real" for whole photos once it is
                bundled, else "fast").
            fidelity: 0 = the model's GAN detail, 1 = its PSNR stage (smoother, more faithful); blended between.
            native: aligned face only: centre-crop and resize to 64x64 (the models' input size) first.
            compare: how the "before" image is enlarged: "bicubic" or "nearest".
            background: whole photo at x4 only: "bicubic" or "fast" (the fast generator).
            scale: whole photo only: "x4", "x2" or "x1" (restore the faces, keep the size).
            min_face: whole photo only: faces whose box is smaller than this (pixels) are left as they are.

        Returns:
            (before, after) JPEG previews of equal size (at most 2048 px long), the full-size lossless PNG's
            path, a Markdown summary (model, device, time, sizes, faces), and the faces: for each restored face
            its aligned input and its restoration, then an overview of the photo with every detected face's box.
        """
        with user_errors():
            if not image:
                raise gr.Error("Add an image first: drop a file, paste one, or use the webcam.",
                               title="No image", print_exception=False)
            request = options(mode, model, fidelity, native, compare, background, scale, min_face)
            result = upscale_file(image, request, registry,
                                  progress=lambda fraction, what: progress(fraction * 0.9, desc=what))
            progress(0.92, desc="Encoding the preview")
            folder = new_request_dir(output_root)
            stem = Path(image).stem[:80] or "image"
            before, after = preview_pair(result.model_input, result.output, compare=request.compare)
            slider = (str(save_preview(before, folder / f"{stem}_before")),
                      str(save_preview(after, folder / f"{stem}_after")))
            faces = [] if result.face_choices is None else face_gallery(
                result.face_choices, result.model_input, result.faces, folder=folder, stem=stem)
        info = result.summary()
        for note in result.notes:
            gr.Warning(html.escape(note))
        # The answer first; the PNG (~1 s for 16 MP) is written after Gradio has sent it, not beside it, so the two
        # never compete for the CPU. Plain values, not updates, so that API clients get the PNG's path: until it is
        # written the button holds no file (a click does nothing for that second or so).
        yield slider, None, info, faces
        with user_errors():
            png = save_png(result.output, folder / f"{stem}_x{result.scale}.png")
        yield slider, str(png), info, faces

    @on_gpu(duration=300)
    def upscale_many(files: list[str] | None, mode: str, model: str | None, fidelity: float, native: bool,
                     background: str, scale: str = "x4",
                     progress: gr.Progress = gr.Progress()) -> tuple[str, str]:  # noqa: B008
        """Upscale up to 32 images into one zip (same options as /upscale); returns the zip path and a summary."""
        with user_errors():
            if not files:
                raise gr.Error("Add one or more images first.", title="No images", print_exception=False)
            batch = upscale_batch(files, options(mode, model, fidelity, native, "bicubic", background, scale),
                                  registry, out_dir=new_request_dir(output_root),
                                  progress=lambda i, n, name: progress((i, n), desc=f"Upscaling {name}"))
            if not batch.done:
                raise gr.Error(html.escape("None of the files could be upscaled: " + "; ".join(
                    f"{name}: {message}" for name, message in batch.failed)), title="Nothing to upscale",
                    print_exception=False)
        for name, message in batch.failed:
            gr.Warning(html.escape(f"{name}: {message}"))
        return str(batch.zip_path), batch.summary()

    def example(image: str) -> Iterator[tuple[tuple[str, str], Any, str, list[tuple[Any, str]]]]:
        yield from upscale_image(image, MODE_ALIGNED, catalog.default, 0.0, True, "bicubic", "bicubic")

    def mode_changed(mode: str, model: str | None) -> tuple[dict, ...]:
        aligned = mode == MODE_ALIGNED
        photo_only = gr.update(visible=not aligned)
        return (gr.update(visible=aligned), photo_only, photo_only, photo_only, photo_only,
                gr.update(value=model_for_mode(mode, model, catalog.names)), gr.update(value=DEFAULT_FIDELITY[mode]))

    def batch_mode_changed(mode: str, model: str | None) -> tuple[dict, dict, dict]:
        return (gr.update(value=model_for_mode(mode, model, catalog.names)), gr.update(visible=mode == MODE_PHOTO),
                gr.update(value=DEFAULT_FIDELITY[mode]))

    def model_changed(model: str | None) -> dict:
        partner = catalog.psnr_partner(model) if model else None
        return gr.update(interactive=partner is not None, info=_fidelity_info(partner))

    with gr.Blocks(title="FaceSR-Hub · 4× face super-resolution", analytics_enabled=False,
                   delete_cache=(3600, 3600)) as demo:
        gr.Markdown("# FaceSR-Hub\n4× face super-resolution: a 64×64 face becomes 256×256. Drop a face crop, or a "
                    "whole photo of any size (its faces are restored at ×4, ×2 or ×1), then drag the slider to "
                    "compare." + (f" Or [restore a face crop in your browser]({browser_page}): the image never leaves "
                                  "the page." if browser_page else ""), elem_id="header")
        gr.Markdown(status_markdown(registry), elem_id="status")
        first_model = default_model(MODE_ALIGNED, catalog.names)
        partner = catalog.psnr_partner(first_model) if first_model else None
        with gr.Tab("One image"):
            with gr.Row(equal_height=False):
                with gr.Column(scale=2, min_width=320):
                    image = ImageFile(label="Input image", type="filepath", sources=["upload", "clipboard", "webcam"],
                                      height=300, elem_id="input-image")
                    mode = gr.Radio(list(MODES), value=MODE_ALIGNED, label="What is in the image?",
                                    info="Aligned face: one face crop, like the examples. Whole photo: faces are "
                                         "found, restored and pasted back into the photo.")
                    scale = gr.Radio(SCALE_CHOICES, value="x4", label="Output size", visible=False,
                                     elem_id="scale", info="×1 restores the faces and keeps the photo's size; "
                                     f"×4 takes photos up to {max_pixels:,} pixels, ×2 and ×1 up to "
                                     f"{max(max_pixels, max_photo_pixels):,}")
                    model = gr.Dropdown(choices, value=first_model, label="Model", elem_id="model")
                    fidelity = gr.Slider(0.0, 1.0, value=DEFAULT_FIDELITY[MODE_ALIGNED], step=0.05, label="Fidelity",
                                         elem_id="fidelity",
                                         info=_fidelity_info(partner), interactive=partner is not None)
                    with gr.Accordion("More options", open=False):
                        native = gr.Checkbox(value=True, label="Resize the crop to 64×64 first (the models' "
                                             "native input; untick to upscale it 4× at its own size)")
                        min_face = gr.Slider(0, 256, value=DEFAULT_MIN_FACE, step=1, visible=False,
                                             label="Smallest face to restore (box side, px)",
                                             info="Smaller faces are left as the background renders them, "
                                                  "and counted")
                        background = gr.Radio(list(BACKGROUNDS), value="bicubic", visible=False,
                                              label="Background of the photo at ×4",
                                              info="bicubic, or the fast generator (tiled; slower). ×2 enlarges "
                                                   "it bicubically, ×1 keeps it")
                        compare = gr.Radio(list(COMPARE_MODES), value="bicubic",
                                           label="'Before' image enlarged with")
                    run = gr.Button("Upscale", variant="primary", elem_id="run", interactive=bool(catalog.names))
                with gr.Column(scale=3, min_width=360):
                    slider = gr.ImageSlider(label="Before | after (a preview: drag the handle)", type="filepath",
                                            interactive=False, max_height=640, elem_id="result")
                    info = gr.Markdown(elem_id="info")
                    download = gr.DownloadButton(DOWNLOAD_LABEL, elem_id="download")
                    gallery = gr.Gallery(label="Faces: each one's aligned input | restored, then the photo with "
                                         "every face's box (click to enlarge)", columns=2, height="auto",
                                         object_fit="contain", preview=False, format="png", interactive=False,
                                         buttons=["download", "fullscreen"], visible=False, elem_id="faces")
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
                    batch_scale = gr.Radio(SCALE_CHOICES, value="x4", label="Output size of the photos",
                                           visible=False)
                    batch_model = gr.Dropdown(choices, value=first_model, label="Model")
                    batch_fidelity = gr.Slider(0.0, 1.0, value=DEFAULT_FIDELITY[MODE_ALIGNED], step=0.05,
                                               label="Fidelity",
                                               info=_fidelity_info(partner), interactive=partner is not None)
                    batch_native = gr.Checkbox(value=True, label="Aligned faces: resize to 64×64 first")
                    batch_background = gr.Radio(list(BACKGROUNDS), value="bicubic", label="Photo background at ×4")
                    batch_run = gr.Button("Upscale all", variant="primary", elem_id="batch-run",
                                          interactive=bool(catalog.names))
                with gr.Column(scale=3, min_width=360):
                    archive = gr.File(label="Results (zip of PNGs)", elem_id="batch-zip")
                    batch_info = gr.Markdown()
        with gr.Tab("API"):
            gr.Markdown("Call the demo from Python with `pip install gradio_client`:\n\n" + API_SNIPPET
                        + "\n\nThe last two arguments may be left out (x4, 24 px). `/upscale_batch` takes a list "
                          "of files and returns a zip. The full schema is under *Use via API* at the bottom of the "
                          "page.")

        run.click(upscale_image, inputs=[image, mode, model, fidelity, native, compare, background, scale, min_face],
                  outputs=outputs, api_name="upscale", concurrency_id="upscale", concurrency_limit=concurrency_limit)
        batch_run.click(upscale_many, inputs=[files, batch_mode, batch_model, batch_fidelity, batch_native,
                                              batch_background, batch_scale], outputs=[archive, batch_info],
                        api_name="upscale_batch", concurrency_id="batch", concurrency_limit=1)
        mode.change(mode_changed, inputs=[mode, model],
                    outputs=[native, background, gallery, scale, min_face, model, fidelity], api_visibility="private",
                    queue=False)
        batch_mode.change(batch_mode_changed, inputs=[batch_mode, batch_model],
                          outputs=[batch_model, batch_scale, batch_fidelity], api_visibility="private", queue=False)
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
