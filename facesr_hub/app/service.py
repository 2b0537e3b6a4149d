"""What the demo does, without any Gradio: aligned-face and whole-photo upscaling, batches to a zip.

Every function takes file paths (so that ``facesr_hub.images.load_image`` sees the raw file: its mode, bit depth,
EXIF orientation, frames) and a :class:`~facesr_hub.app.models.ModelRegistry`, and returns plain results. The UI,
the tests and the benchmarks all call these same functions; whole photos are handled by
:mod:`facesr_hub.app.photo`, the request's options and limits are :mod:`facesr_hub.app.options`.

Errors a user can cause are raised as ``ImageReadError`` / ``ImageTooLargeError`` (bad files), ``ModelUnavailableError``
(a model without weights) or ``ValueError`` (bad options), with one-line messages that name the file, never the
server's temporary path.
"""

from __future__ import annotations

import io
import shutil
import time
import uuid
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image

from ..images import ImageReadError, ImageTooLargeError
from ..inference import upscale
from .inputs import enlarge, photo_limit_wording, read_input, to_native
from .models import ModelRegistry, ModelUnavailableError
from .options import (
    BACKGROUNDS,
    COMPARE_MODES,
    DEFAULT_MAX_PHOTO_PIXELS,
    DEFAULT_MAX_PIXELS,
    DEFAULT_MIN_FACE,
    MODE_ALIGNED,
    MODE_PHOTO,
    MODES,
    SCALES,
    ProgressFn,
    UpscaleOptions,
)
from .photo import MAX_FACES, SKIPPED_SMALL, FaceChoice, restore_photo

__all__ = [
    "BACKGROUNDS", "COMPARE_MODES", "DEFAULT_MAX_PHOTO_PIXELS", "DEFAULT_MAX_PIXELS", "DEFAULT_MIN_FACE",
    "MAX_BATCH_FILES", "MAX_FACES", "MODES", "MODE_ALIGNED", "MODE_PHOTO", "SCALES", "BatchResult",
    "UpscaleOptions", "UpscaleResult", "enlarge", "new_request_dir", "read_input", "to_native",
    "upscale_batch", "upscale_file",
]

MAX_BATCH_FILES = 32


@dataclass(frozen=True)
class UpscaleResult:
    """One upscaled image and what the UI shows about it.

    ``output`` keeps the input's family (grey stays grey, alpha is kept); ``model_input`` is what the model was
    given (the "before" side of the slider, enlarged or shrunk to the preview's size by the UI). In whole-photo
    mode ``faces`` holds one ``(aligned 64x64 crop, restored crop)`` pair per restored face and ``face_choices``
    every detected face with what was done with it (``None`` in aligned mode).
    """

    output: Image.Image
    model_input: Image.Image
    model: str
    device: str
    seconds: float
    load_seconds: float
    input_size: tuple[int, int]
    scale: int = 4
    faces: tuple[tuple[Image.Image, Image.Image], ...] = ()
    face_choices: tuple[FaceChoice, ...] | None = None
    min_face: int = DEFAULT_MIN_FACE
    notes: tuple[str, ...] = ()

    @property
    def model_input_size(self) -> tuple[int, int]:
        return self.model_input.size

    @property
    def num_faces(self) -> int | None:
        """Faces restored (whole-photo mode), ``None`` in aligned mode."""
        return None if self.face_choices is None else len(self.faces)

    def summary(self) -> str:
        """One Markdown line: model, device, time, sizes, faces (then one line per note)."""
        (w, h), (mw, mh) = self.input_size, self.model_input_size
        sizes = f"{w}×{h}" + (f" → {mw}×{mh}" if (mw, mh) != (w, h) else "")
        sizes += f" → {self.output.width}×{self.output.height}"
        line = f"**{self.model}** on {self.device} · upscaled in {_format_seconds(self.seconds)}"
        if self.load_seconds >= 0.05:
            line += f" (+ {_format_seconds(self.load_seconds)} loading the model, first use only)"
        line += f" · {sizes}"
        if self.face_choices is not None:
            line += f" (x{self.scale}) · {self.num_faces} face{'s' if self.num_faces != 1 else ''} restored"
            if small := sum(choice.skipped == SKIPPED_SMALL for choice in self.face_choices):
                line += f" · {small} under {self.min_face} px left as {'it is' if small == 1 else 'they are'}"
        return "\n\n".join([line] + [f"⚠️ {note}" for note in self.notes])


@dataclass
class BatchResult:
    """A batch: the zip, the ``(input name, output name)`` pairs in it and the ``(input name, error)`` failures."""

    zip_path: Path
    done: list[tuple[str, str]] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    seconds: float = 0.0

    def summary(self) -> str:
        lines = [f"**{len(self.done)} of {len(self.done) + len(self.failed)} images upscaled** in "
                 f"{_format_seconds(self.seconds)}; the zip holds one PNG per image"
                 + (" and errors.txt." if self.failed else ".")]
        lines += [f"⚠️ {name}: {message}" for name, message in self.failed]
        return "\n\n".join(lines)


def _format_seconds(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:.2f} s"


def upscale_file(path: str | Path, options: UpscaleOptions, registry: ModelRegistry, *,
                 progress: ProgressFn | None = None) -> UpscaleResult:
    """Upscale one image file as ``options`` say: an aligned face 4x, or a whole photo x4, x2 or x1."""
    if options.mode == MODE_ALIGNED:
        image, notes = read_input(path, max_pixels=options.input_limit)
        return _upscale_aligned(image, notes, options, registry)
    image, notes = read_input(path, max_pixels=options.input_limit, **photo_limit_wording(path, options))
    return _upscale_photo(image, notes, options, registry, progress)


def _upscale_aligned(image: Image.Image, notes: list[str], options: UpscaleOptions,
                     registry: ModelRegistry) -> UpscaleResult:
    # 1. the model's input: the crop itself, or the 64x64 protocol input
    model_input = image
    if options.native:
        model_input, native_notes = to_native(image)
        notes = notes + native_notes
    # 2. the model (loading it on first use) and the 4x pass
    start = time.perf_counter()
    model, description = registry.blended(options.model, options.fidelity)
    loaded = time.perf_counter()
    output = upscale(model, model_input, tile=options.tile, max_pixels=options.max_pixels)
    done = time.perf_counter()
    return UpscaleResult(
        output=output, model_input=model_input, model=description, device=registry.device_label,
        seconds=done - loaded, load_seconds=loaded - start, input_size=image.size,
        notes=tuple(notes + _fidelity_notes(options, registry)),
    )


def _upscale_photo(image: Image.Image, notes: list[str], options: UpscaleOptions, registry: ModelRegistry,
                   progress: ProgressFn | None) -> UpscaleResult:
    fast_background = options.background == "fast" and options.scale == 4
    if fast_background and "fast" not in registry.catalog.names:
        raise ModelUnavailableError("The 'fast' background needs the bundled fast model, which has no weights yet; "
                                    "choose the bicubic background.")
    # 1. models first, so that loading time is not counted as inference time
    start = time.perf_counter()
    if progress is not None:
        progress(0.0, f"Loading {options.model}")
    face_model, description = registry.blended(options.model, options.fidelity)
    background_model = registry.blended("fast", options.fidelity)[0] if fast_background else None
    loaded = time.perf_counter()

    def upscale_background(photo: Image.Image) -> Image.Image:
        if background_model is None:
            return photo.resize((photo.width * 4, photo.height * 4), Image.Resampling.BICUBIC)
        return upscale(background_model, photo, tile=options.tile, max_pixels=options.max_pixels)

    # 2. detect, restore the chosen faces, paste back at the output scale
    result = restore_photo(
        image, scale=options.scale, detect=lambda rgb, upsample: registry.detect_faces(rgb, upsample=upsample),
        upscale_face=lambda face: upscale(face_model, face, tile=None), upscale_background_4x=upscale_background,
        background=options.background, min_face=options.min_face, progress=progress)
    done = time.perf_counter()
    return UpscaleResult(
        output=result.image, model_input=image,
        model=description + (" + fast background" if background_model is not None else ""),
        device=registry.device_label, seconds=done - loaded, load_seconds=loaded - start, input_size=image.size,
        scale=options.scale, faces=tuple(result.faces), face_choices=tuple(result.choices),
        min_face=options.min_face, notes=tuple(notes + result.notes + _fidelity_notes(options, registry)),
    )


def _fidelity_notes(options: UpscaleOptions, registry: ModelRegistry) -> list[str]:
    if options.fidelity > 0 and registry.catalog.psnr_partner(options.model) is None:
        return [f"'{options.model}' has no PSNR-stage checkpoint to blend with: the fidelity slider has no effect."]
    return []


def upscale_batch(paths: Sequence[str | Path], options: UpscaleOptions, registry: ModelRegistry, *, out_dir: Path,
                  progress: Callable[[int, int, str], None] | None = None) -> BatchResult:
    """Upscale every file into one zip (``<stem>_x<scale>.png`` each); unreadable files are listed in ``errors.txt``.

    Bad files do not stop the batch; a model that cannot load does (every file would fail the same way).

    Raises:
        ValueError: no files, or more than ``MAX_BATCH_FILES``.
    """
    if not paths:
        raise ValueError("no files to upscale: add one or more images")
    if len(paths) > MAX_BATCH_FILES:
        raise ValueError(f"{len(paths)} files is more than this demo's batch limit of {MAX_BATCH_FILES}")
    start = time.perf_counter()
    result = BatchResult(zip_path=Path(out_dir) / f"facesr_x{options.output_scale}.zip")
    used: set[str] = set()
    with zipfile.ZipFile(result.zip_path, "w", compression=zipfile.ZIP_STORED) as archive:  # PNGs are compressed
        for index, path in enumerate(paths):
            name = Path(path).name
            if progress is not None:
                progress(index, len(paths), name)
            try:
                upscaled = upscale_file(path, options, registry)
            except (ImageReadError, ImageTooLargeError) as error:
                result.failed.append((name, str(error).removeprefix(f"{name}: ")))
                continue
            out_name = _unique(f"{Path(name).stem}_x{upscaled.scale}.png", used)
            buffer = io.BytesIO()
            upscaled.output.save(buffer, format="PNG", compress_level=6)
            archive.writestr(out_name, buffer.getvalue())
            result.done.append((name, out_name))
        if result.failed:
            archive.writestr("errors.txt", "".join(f"{name}: {message}\n" for name, message in result.failed))
    result.seconds = time.perf_counter() - start
    return result


def _unique(name: str, used: set[str]) -> str:
    stem, suffix, candidate, count = name[:-4], name[-4:], name, 1
    while candidate in used:
        count += 1
        candidate = f"{stem}_{count}{suffix}"
    used.add(candidate)
    return candidate


def new_request_dir(root: Path, *, max_age_s: float = 3600.0) -> Path:
    """A fresh folder for one request's files under ``root``; folders older than ``max_age_s`` are removed.

    Each request writes to its own folder, so concurrent users never overwrite each other's results, and the
    clean-up keeps a long-running server's disk use bounded.
    """
    root.mkdir(parents=True, exist_ok=True)
    now = time.time()
    for old in root.iterdir():
        try:
            if old.is_dir() and now - old.stat().st_mtime > max_age_s:
                shutil.rmtree(old, ignore_errors=True)
        except FileNotFoundError:  # another request removed it first
            continue
    folder = root / uuid.uuid4().hex
    folder.mkdir()
    return folder

