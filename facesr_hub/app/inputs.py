"""Reading what users upload: any file to an 8-bit L / LA / RGB / RGBA image with notes on what was converted,
size limits worded by what the request asked for, and the aligned-face mode's 64x64 protocol input."""

from __future__ import annotations

from pathlib import Path

from PIL import Image

from ..data.protocol import LR_SIZE, resize_8bit
from ..images import ImageReadError, ImageTooLargeError, load_image, pil_to_tensor, tensor_to_pil
from .options import UpscaleOptions

#: Modes that are already 8-bit L / LA / RGB / RGBA: used as they are (a float round trip of a 12 MP photo costs
#: about half a second).
_EIGHT_BIT_MODES = ("L", "LA", "RGB", "RGBA")
_RESAMPLE = {"bicubic": Image.Resampling.BICUBIC, "nearest": Image.Resampling.NEAREST}
_SIXTEEN_BIT_MODES = ("I;16", "I;16L", "I;16B", "I;16N", "I")


def read_input(path: str | Path, *, max_pixels: int, limit_name: str = "limit",
               too_large_hint: str = "downscale it first, or run the `facesr upscale` command locally"
               ) -> tuple[Image.Image, list[str]]:
    """Load an uploaded file as an 8-bit L / LA / RGB / RGBA image, plus notes on what was converted.

    ``limit_name`` and ``too_large_hint`` word the error for an image over ``max_pixels`` ("above the
    <limit_name> of N pixels; <hint>").

    Raises:
        ImageReadError / ImageTooLargeError: with the file's name (not the server path) in the message.
    """
    path = Path(path)
    try:
        raw = load_image(path, max_pixels=max_pixels)
    except ImageTooLargeError as error:
        message = (str(error).replace(str(path), path.name).replace("above the limit", f"above the {limit_name}")
                   .replace("raise max_pixels to allow it", too_large_hint))
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
        image = raw if raw.mode in _EIGHT_BIT_MODES else tensor_to_pil(pil_to_tensor(raw))
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


def photo_limit_wording(path: str | Path, options: UpscaleOptions) -> dict[str, str]:
    """How a too-large photo is refused: at x4, naming what x2 and x1 take; at x2/x1, as over every limit."""
    photo_limit = max(options.max_pixels, options.max_photo_pixels)
    if options.output_scale != 4:
        return {"limit_name": "limit at every scale"}
    if options.max_pixels >= photo_limit:
        return {}
    try:
        with Image.open(path) as header:  # the header only; a broken file is reported by read_input
            pixels = header.width * header.height
    except (OSError, ValueError, Image.DecompressionBombError):
        pixels = 0
    if pixels <= photo_limit:
        return {"limit_name": "x4 limit",
                "too_large_hint": f"choose x2 or x1, which take photos up to {photo_limit:,} pixels, or downscale it"}
    return {"limit_name": "x4 limit", "too_large_hint": f"x2 and x1 take at most {photo_limit:,} pixels: downscale it "
                                                        "first, or run the `facesr upscale` command locally"}
