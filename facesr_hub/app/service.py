"""What the demo does, without any Gradio: aligned-face and whole-photo upscaling, batches to a zip.

Every function takes file paths (so that ``facesr_hub.images.load_image`` sees the raw file: its mode, bit depth,
EXIF orientation, frames) and a :class:`~facesr_hub.app.models.ModelRegistry`, and returns plain results. The UI,
the tests and ``benchmarks/app_cuda.py`` all call these same functions.

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

from ..data.protocol import LR_SIZE, SCALE, resize_8bit
from ..faces import restore_faces
from ..images import ImageReadError, ImageTooLargeError, load_image, pil_to_tensor, split_alpha, tensor_to_pil
from ..inference import upscale
from .models import ModelRegistry, ModelUnavailableError

MODE_ALIGNED = "Aligned face"
MODE_PHOTO = "Whole photo"
MODES = (MODE_ALIGNED, MODE_PHOTO)
COMPARE_MODES = ("bicubic", "nearest")
BACKGROUNDS = ("bicubic", "fast")
#: The demo's input limit: 1024x1024 LR pixels, so an output is at most 4096x4096 (a ~30 MB PNG).
DEFAULT_MAX_PIXELS = 1024 * 1024
MAX_BATCH_FILES = 32
#: Faces restored per photo at most (the largest ones); a crowd photo should not hold the GPU for minutes.
MAX_FACES = 32
#: Photos up to this many pixels (400x300) are searched for faces at 4x the resolution (faces down to ~20 px);
#: larger ones at 2x (~40 px): 4x costs ~5x the time, ~0.2 s at this size on one CPU core.
_SMALL_PHOTO_PIXELS = 400 * 300

_RESAMPLE = {"bicubic": Image.Resampling.BICUBIC, "nearest": Image.Resampling.NEAREST}
_SIXTEEN_BIT_MODES = ("I;16", "I;16L", "I;16B", "I;16N", "I")


@dataclass(frozen=True)
class UpscaleOptions:
    """How to upscale one image (the UI's controls).

    Args:
        model: catalog name of the face model (``"fast"``, ``"owner/repo@v1"``, ...).
        mode: ``"Aligned face"`` (the image is one face crop) or ``"Whole photo"`` (detect, restore, paste back).
        fidelity: 0 = the model itself (GAN detail), 1 = its PSNR stage (smoothest); blended in between.
        native: aligned mode: centre-crop to a square and resize to 64x64 (the training input) first;
            otherwise the crop is upscaled 4x at its own size.
        compare: how the "before" image is enlarged to the output size: ``"bicubic"`` or ``"nearest"``.
        background: whole-photo mode: ``"bicubic"`` or ``"fast"`` (the fast generator, tiled).
        tile: LR pixels per tile for large inputs (``None``: whole image at once).
        max_pixels: refuse inputs with more pixels than this.
    """

    model: str
    mode: str = MODE_ALIGNED
    fidelity: float = 0.0
    native: bool = True
    compare: str = "bicubic"
    background: str = "bicubic"
    tile: int | None = 256
    max_pixels: int = DEFAULT_MAX_PIXELS

    def __post_init__(self) -> None:
        if not self.model:
            raise ValueError("choose a model")
        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {self.mode!r}")
        if not 0.0 <= self.fidelity <= 1.0:
            raise ValueError(f"fidelity must be between 0 and 1, got {self.fidelity}")
        if self.compare not in COMPARE_MODES:
            raise ValueError(f"compare must be one of {COMPARE_MODES}, got {self.compare!r}")
        if self.background not in BACKGROUNDS:
            raise ValueError(f"background must be one of {BACKGROUNDS}, got {self.background!r}")
        if self.tile is not None and self.tile < 16:
            raise ValueError(f"tile must be >= 16 LR pixels or None, got {self.tile}")
        if self.max_pixels < 1:
            raise ValueError(f"max_pixels must be >= 1, got {self.max_pixels}")


@dataclass(frozen=True)
class UpscaleResult:
    """One upscaled image and what the UI shows about it.

    ``output`` keeps the input's family (grey stays grey, alpha is kept); ``before`` is the model's input enlarged
    to ``output.size`` (nearest or bicubic) for the before/after slider. ``faces`` holds one
    ``(aligned 64x64 crop, restored crop)`` pair per face found in whole-photo mode.
    """

    output: Image.Image
    before: Image.Image
    model: str
    device: str
    seconds: float
    load_seconds: float
    input_size: tuple[int, int]
    model_input_size: tuple[int, int]
    num_faces: int | None = None
    faces: tuple[tuple[Image.Image, Image.Image], ...] = ()
    notes: tuple[str, ...] = ()

    def summary(self) -> str:
        """One Markdown line: model, device, time, sizes (then one line per note)."""
        (w, h), (mw, mh) = self.input_size, self.model_input_size
        sizes = f"{w}×{h}" + (f" → {mw}×{mh}" if (mw, mh) != (w, h) else "")
        sizes += f" → {self.output.width}×{self.output.height}"
        line = f"**{self.model}** on {self.device} · upscaled in {_format_seconds(self.seconds)}"
        if self.load_seconds >= 0.05:
            line += f" (+ {_format_seconds(self.load_seconds)} loading the model, first use only)"
        line += f" · {sizes}"
        if self.num_faces is not None:
            line += f" · {self.num_faces} face{'s' if self.num_faces != 1 else ''} restored"
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


def read_input(path: str | Path, *, max_pixels: int) -> tuple[Image.Image, list[str]]:
    """Load an uploaded file as an 8-bit L / LA / RGB / RGBA image, plus notes on what was converted.

    Raises:
        ImageReadError / ImageTooLargeError: with the file's name (not the server path) in the message.
    """
    path = Path(path)
    try:
        raw = load_image(path, max_pixels=max_pixels)
    except ImageTooLargeError as error:
        message = str(error).replace(str(path), path.name).replace(
            "raise max_pixels to allow it", "downscale it first, or run the `facesr upscale` command locally")
        raise ImageTooLargeError(message) from None
    except ImageReadError as error:
        raise ImageReadError(str(error).replace(str(path), path.name)) from None
    if raw.width == 0 or raw.height == 0:
        raise ImageReadError(f"{path.name}: the image has no pixels ({raw.width}x{raw.height})")
    notes = []
    with Image.open(path) as header:  # load_image returns a detached copy: the frame count is only on the file
        frames = getattr(header, "n_frames", 1)
    if frames > 1:
        notes.append(f"{path.name} is animated ({frames} frames): only the first frame was upscaled.")
    if raw.mode in _SIXTEEN_BIT_MODES or raw.mode == "F":
        notes.append(f"{path.name} has {'16-bit' if raw.mode != 'F' else 'floating-point'} pixels: converted to "
                     "8 bits (the models work on 8-bit images).")
    if raw.mode == "CMYK":
        notes.append(f"{path.name} is a CMYK image: converted to RGB (print colours may shift slightly on screen).")
    try:
        # L, LA, RGB or RGBA at 8 bits per channel: what the model, the slider and PNG all handle.
        image = tensor_to_pil(pil_to_tensor(raw))
    except ValueError as error:
        raise ImageReadError(f"{path.name}: unsupported image mode {raw.mode!r} ({error})") from None
    if image.mode in ("LA", "RGBA"):
        notes.append(f"{path.name} has transparency: the alpha channel is kept (upscaled bicubic, not by the model).")
    return image, notes


def to_native(image: Image.Image) -> tuple[Image.Image, list[str]]:
    """Centre-crop to a square and resize to the models' 64x64 input with the protocol's kernel.

    The kernel is the one ``facesr_hub.data.degrade`` uses (antialiased bicubic on floats, then 8-bit rounding), so
    a 256x256 aligned face becomes exactly the LR image the models were trained on.
    """
    notes = []
    width, height = image.size
    side = min(width, height)
    if width != height:
        left, top = (width - side) // 2, (height - side) // 2
        image = image.crop((left, top, left + side, top + side))
        notes.append(f"The face crop is not square ({width}×{height}): its centre {side}×{side} was used.")
    if side == LR_SIZE:
        return image, notes
    if side < LR_SIZE:
        notes.append(f"The face crop is smaller than {LR_SIZE}×{LR_SIZE} ({side}×{side}): it was enlarged "
                     "bicubically first, which adds no detail.")
    return tensor_to_pil(resize_8bit(pil_to_tensor(image)[None], (LR_SIZE, LR_SIZE))[0]), notes


def enlarge(image: Image.Image, size: tuple[int, int], how: str) -> Image.Image:
    """``image`` resized to ``size`` by ``"nearest"`` or ``"bicubic"`` (the "before" side of the slider)."""
    return image.resize(size, _RESAMPLE[how])


def upscale_file(path: str | Path, options: UpscaleOptions, registry: ModelRegistry) -> UpscaleResult:
    """Upscale one image file 4x as ``options`` say (aligned face or whole photo)."""
    image, notes = read_input(path, max_pixels=options.max_pixels)
    if options.mode == MODE_ALIGNED:
        return _upscale_aligned(image, notes, options, registry)
    return _upscale_photo(image, notes, options, registry)


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
        output=output, before=enlarge(model_input, output.size, options.compare), model=description,
        device=registry.device_label, seconds=done - loaded, load_seconds=loaded - start, input_size=image.size,
        model_input_size=model_input.size, notes=tuple(notes + _fidelity_notes(options, registry)),
    )


def _upscale_photo(image: Image.Image, notes: list[str], options: UpscaleOptions,
                   registry: ModelRegistry) -> UpscaleResult:
    rgb, alpha = split_alpha(image)
    if options.background == "fast" and "fast" not in registry.catalog.names:
        raise ModelUnavailableError("The 'fast' background needs the bundled fast model, which has no weights yet; "
                                    "choose the bicubic background.")
    # 1. models first, so that loading time is not counted as inference time
    start = time.perf_counter()
    face_model, description = registry.blended(options.model, options.fidelity)
    background_model = registry.blended("fast", options.fidelity)[0] if options.background == "fast" else None
    loaded = time.perf_counter()

    def upscale_background(photo: Image.Image) -> Image.Image:
        if background_model is None:
            return photo.resize((photo.width * SCALE, photo.height * SCALE), Image.Resampling.BICUBIC)
        return upscale(background_model, photo, tile=options.tile, max_pixels=options.max_pixels)

    def upscale_face(face: Image.Image) -> Image.Image:
        return upscale(face_model, face, tile=None)

    # 2. detect, restore every face, paste back
    upsample = 2 if rgb.width * rgb.height <= _SMALL_PHOTO_PIXELS else 1
    detections = registry.detect_faces(rgb, upsample=upsample)
    if len(detections) > MAX_FACES:
        notes = notes + [f"{len(detections)} faces found: the {MAX_FACES} largest were restored, the others "
                         f"upscaled with the {options.background} background."]
    result = restore_faces(rgb, upscale_face, upscale_background, detections=detections, face_size=LR_SIZE,
                           scale=SCALE, max_faces=MAX_FACES)
    output = result.image
    # 3. back to the input's family: grey stays grey, alpha comes back (bicubic)
    if image.mode in ("L", "LA"):
        output = output.convert("L")
    if alpha is not None:
        output.putalpha(alpha.resize(output.size, Image.Resampling.BICUBIC))
    done = time.perf_counter()
    if result.num_faces == 0:
        notes = notes + [f"No face found in this photo: it was upscaled 4x with {options.background} only. "
                         "For a single face crop, use the 'Aligned face' mode."]
    return UpscaleResult(
        output=output, before=enlarge(image, output.size, options.compare),
        model=description + (" + fast background" if background_model is not None else ""),
        device=registry.device_label, seconds=done - loaded, load_seconds=loaded - start, input_size=image.size,
        model_input_size=image.size, num_faces=result.num_faces, faces=tuple(result.faces),
        notes=tuple(notes + _fidelity_notes(options, registry)),
    )


def _fidelity_notes(options: UpscaleOptions, registry: ModelRegistry) -> list[str]:
    if options.fidelity > 0 and registry.catalog.psnr_partner(options.model) is None:
        return [f"'{options.model}' has no PSNR-stage checkpoint to blend with: the fidelity slider has no effect."]
    return []


def save_png(image: Image.Image, path: Path) -> Path:
    """Save losslessly as PNG (moderate compression: level 6 is ~3x faster than 9 for ~2% larger files)."""
    image.save(path, format="PNG", compress_level=6)
    return path


def upscale_batch(paths: Sequence[str | Path], options: UpscaleOptions, registry: ModelRegistry, *, out_dir: Path,
                  progress: Callable[[int, int, str], None] | None = None) -> BatchResult:
    """Upscale every file into one zip (``<stem>_x4.png`` each); unreadable files are listed in ``errors.txt``.

    Bad files do not stop the batch; a model that cannot load does (every file would fail the same way).

    Raises:
        ValueError: no files, or more than ``MAX_BATCH_FILES``.
    """
    if not paths:
        raise ValueError("no files to upscale: add one or more images")
    if len(paths) > MAX_BATCH_FILES:
        raise ValueError(f"{len(paths)} files is more than this demo's batch limit of {MAX_BATCH_FILES}")
    start = time.perf_counter()
    result = BatchResult(zip_path=Path(out_dir) / "facesr_x4.zip")
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
            out_name = _unique(f"{Path(name).stem}_x4.png", used)
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

