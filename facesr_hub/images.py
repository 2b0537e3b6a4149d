"""Turning any user image into model input and back: file reading, PIL modes, alpha, numpy and tensor layouts.

Every image becomes a float tensor in [0, 1] of shape (C, H, W) whose channel count says its family:
1 = grey, 2 = grey + alpha, 3 = RGB, 4 = RGBA. The model only ever sees RGB; inference turns the result back into
the caller's family (grey stays grey, alpha is kept and upscaled on its own).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError

#: Largest input accepted by default: 4096 x 4096 LR pixels (the 4x output then holds 268 M pixels).
DEFAULT_MAX_PIXELS = 4096 * 4096

#: File name endings the CLI picks up when it walks a folder (files named explicitly are always tried).
IMAGE_EXTENSIONS = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff", ".ppm", ".pgm",
                              ".pnm", ".tga"})

_GREY_MODES = ("1", "L", "LA", "La", "I", "F")  # plus every "I;16..." variant
_ARRAY_SCALES = {np.dtype(np.uint8): 255.0, np.dtype(np.uint16): 65535.0}


class ImageReadError(ValueError):
    """A file that cannot be read as an image; the message is one line: ``<path>: <reason>``."""


class ImageTooLargeError(ValueError):
    """An input with more pixels than the configured limit."""


def check_pixel_limit(width: int, height: int, max_pixels: int, *, source: str = "image") -> None:
    """Raise ``ImageTooLargeError`` when ``width * height`` exceeds ``max_pixels``."""
    if width * height > max_pixels:
        side = int(max_pixels**0.5)
        limit = f"{max_pixels:,} pixels" + (f" ({side}x{side})" if side * side == max_pixels else "")
        raise ImageTooLargeError(
            f"{source}: {width}x{height} ({width * height:,} pixels) is above the limit of {limit}; "
            "raise max_pixels to allow it"
        )


def load_image(path: str | os.PathLike, *, max_pixels: int = DEFAULT_MAX_PIXELS) -> Image.Image:
    """Read an image file as PIL, upright (EXIF orientation applied), first frame of an animation.

    The size is checked against ``max_pixels`` from the header, before any pixel is decoded.

    Raises:
        ImageReadError: missing file, folder, empty file, not an image, corrupt or truncated data.
        ImageTooLargeError: more than ``max_pixels`` pixels.
    """
    path = Path(path)
    if not path.exists():
        raise ImageReadError(f"{path}: no such file")
    if path.is_dir():
        raise ImageReadError(f"{path}: is a directory, not an image file")
    if path.stat().st_size == 0:
        raise ImageReadError(f"{path}: empty file (0 bytes)")
    try:
        opened = Image.open(path)  # reads the header only
    except Image.DecompressionBombError as error:  # Pillow's own guard, above ~179 M pixels
        raise ImageTooLargeError(f"{path}: {error}") from error
    except UnidentifiedImageError as error:
        raise ImageReadError(f"{path}: not an image, or a format Pillow cannot read") from error
    except OSError as error:
        raise ImageReadError(f"{path}: cannot open ({error.strerror or error})") from error
    with opened:
        if opened.width == 0 or opened.height == 0:
            raise ImageReadError(f"{path}: the image is {opened.width}x{opened.height} pixels (zero size)")
        check_pixel_limit(opened.width, opened.height, max_pixels, source=str(path))
        try:
            opened.seek(0)  # animated GIF / WebP / APNG: the first frame
            opened.load()
            # A new image (a copy when there is no EXIF orientation), detached from the file.
            return ImageOps.exif_transpose(opened)
        except (OSError, SyntaxError, EOFError, ValueError) as error:
            # How Pillow reports truncated or corrupt data (SyntaxError: "broken PNG file").
            reason = str(error).splitlines()[0] if str(error) else type(error).__name__
            raise ImageReadError(f"{path}: corrupt or truncated image data ({reason})") from error


def is_grey_mode(mode: str) -> bool:
    """True for the PIL modes that hold one colour channel (1, L, LA, I, I;16..., F)."""
    return mode in _GREY_MODES or mode.startswith("I;16")


def _high_depth_to_8bit(img: Image.Image) -> Image.Image:
    """16-bit (I;16*, I) and float (F) greys rescaled to L; ``convert("L")`` would clip them at 255 instead."""
    values = np.asarray(img).astype(np.float64)
    if img.mode == "F":
        # Float images come as [0, 1] or as Pillow's [0, 255] scale; read them as [0, 1] when they fit.
        finite = values[np.isfinite(values)]
        scale = 255.0 if finite.size and finite.min() >= 0 and finite.max() <= 1 else 1.0
        values = np.nan_to_num(values, nan=0.0) * scale
    else:
        # I;16 holds 0..65535; mode I is how Pillow opens 16-bit PNG/TIFF greys too, so it gets the same scale.
        values = np.clip(values, 0, 65535) / 257.0  # 65535 / 255 = 257
    return Image.fromarray(np.clip(np.rint(values), 0, 255).astype(np.uint8), mode="L")


def split_alpha(img: Image.Image) -> tuple[Image.Image, Image.Image | None]:
    """Split any PIL image into an 8-bit RGB image and its alpha (mode L), or ``None`` when it has none.

    Handles 1, L, LA, La, P (with or without transparency), PA, RGB (with a tRNS colour too), RGBA, RGBa, RGBX,
    CMYK, YCbCr, HSV, I;16 / I (16-bit, rescaled rather than clipped) and F.

    Raises:
        ValueError: a mode Pillow cannot convert to RGB.
    """
    if img.mode.startswith("I") or img.mode == "F":
        return _high_depth_to_8bit(img).convert("RGB"), None
    if img.has_transparency_data:
        # Transparency as a colour key (info["transparency"]), a palette alpha or premultiplied alpha.
        img = img.convert("LA" if img.mode in ("1", "L", "LA", "La") else "RGBA")
        alpha = img.getchannel("A")
        return img.convert("RGB"), alpha
    try:
        return img.convert("RGB"), None
    except ValueError as error:
        raise ValueError(f"cannot convert PIL mode {img.mode!r} to RGB: {error}") from error


def to_rgb(img: Image.Image) -> Image.Image:
    """Any PIL image as 8-bit RGB, alpha dropped (use :func:`split_alpha` to keep it)."""
    return split_alpha(img)[0]


def pil_to_tensor(img: Image.Image) -> torch.Tensor:
    """A float32 (C, H, W) tensor in [0, 1]: C = 1 grey, 2 grey + alpha, 3 RGB, 4 RGBA (see module docstring)."""
    rgb, alpha = split_alpha(img)
    channels = np.asarray(rgb)[..., :1] if is_grey_mode(img.mode) else np.asarray(rgb)
    if alpha is not None:
        channels = np.concatenate([channels, np.asarray(alpha)[..., None]], axis=-1)
    return torch.from_numpy(np.array(channels)).permute(2, 0, 1).float().div_(255)  # a writable copy


def tensor_to_pil(x: torch.Tensor) -> Image.Image:
    """Inverse of :func:`pil_to_tensor`: (C, H, W) in [0, 1] -> L, LA, RGB or RGBA by channel count."""
    if x.ndim != 3 or x.shape[0] not in (1, 2, 3, 4):
        raise ValueError(f"expected a (C, H, W) tensor with C in 1..4, got shape {tuple(x.shape)}")
    mode = {1: "L", 2: "LA", 3: "RGB", 4: "RGBA"}[x.shape[0]]
    # One float copy, then in place: the output of a large image is big (a 4096^2 input gives 16384^2 pixels).
    array = x.detach().float().clamp(0, 1).mul_(255).round_().to(torch.uint8).permute(1, 2, 0).cpu().numpy()
    return Image.fromarray(array[..., 0] if mode == "L" else array, mode=mode)


def array_to_tensor(array: np.ndarray) -> torch.Tensor:
    """A numpy image (H, W) or (H, W, C), C in 1..4, uint8 / uint16 / float in [0, 1] -> float32 (C, H, W).

    Float values outside [0, 1] are clamped.
    """
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] not in (1, 2, 3, 4)):
        raise ValueError(f"expected a numpy image of shape (H, W) or (H, W, C) with C in 1..4, got {array.shape}")
    if not array.dtype.isnative:  # e.g. big-endian 16-bit data: torch only takes native byte order
        array = array.astype(array.dtype.newbyteorder("="))
    if array.dtype not in _ARRAY_SCALES and not np.issubdtype(array.dtype, np.floating):
        raise ValueError(f"unsupported numpy dtype {array.dtype}; expected uint8, uint16 or a float type in [0, 1]")
    channels_last = torch.from_numpy(np.array(array if array.ndim == 3 else array[..., None]))  # a copy
    if array.dtype in _ARRAY_SCALES:
        scaled = channels_last.float() / _ARRAY_SCALES[array.dtype]
    else:
        scaled = channels_last.float().clamp(0, 1)
    return scaled.permute(2, 0, 1)


def tensor_to_array(x: torch.Tensor, *, dtype: np.dtype, squeeze_channels: bool) -> np.ndarray:
    """Inverse of :func:`array_to_tensor`: (C, H, W) in [0, 1] -> (H, W, C) (or (H, W)) numpy of ``dtype``."""
    x = x.detach().float().clamp(0, 1).permute(1, 2, 0).cpu()
    dtype = np.dtype(dtype)
    if (native := dtype.newbyteorder("=")) in _ARRAY_SCALES:
        array = x.mul(_ARRAY_SCALES[native]).round().numpy().astype(dtype)
    else:
        array = x.numpy().astype(dtype)
    return array[..., 0] if squeeze_channels else array
