"""Running a generator on real inputs: tiling, batching, device and dtype, clamping, and the input's own format.

Tiling is overlap-and-crop. Each tile's input window holds its core plus ``tile_overlap`` LR pixels of real
context on every side that is not an image border, and only the core's 4x output is kept. Windows that would
cross a border are shifted back inside the image instead of padded, so that border pixels see exactly the zero
padding they see in a whole-image pass, and every window has the same size (so tiles batch together). The result
equals the untiled one whenever ``tile_overlap`` covers the model's receptive field (any purely convolutional
model, e.g. ``FastGenerator(num_convs=n)`` needs n + 2). Layers that see the whole image (instance norm, channel
or self attention) cannot be tiled exactly: faces are small, and the default tile (256 LR pixels) keeps them whole.
"""

from __future__ import annotations

import math
import os
from typing import TypeVar

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn

from .images import (DEFAULT_MAX_PIXELS, array_to_tensor, check_pixel_limit, load_image, pil_to_tensor,
                     tensor_to_array, tensor_to_pil)

ImageLike = TypeVar("ImageLike", Image.Image, np.ndarray, torch.Tensor)

_LUMA = (0.299, 0.587, 0.114)  # ITU-R BT.601, the weights PIL's convert("L") uses


#: LR pixels of context around each tile for modules that do not state a ``receptive_radius`` (baselines) or whose
#: layers see the whole image (those can never tile exactly; the default tile keeps a face whole).
DEFAULT_TILE_OVERLAP = 24


def default_tile_overlap(model: nn.Module) -> int:
    """The model's receptive radius when it has a finite one (tiling is then exact), else ``DEFAULT_TILE_OVERLAP``."""
    radius = getattr(model, "receptive_radius", None)
    return DEFAULT_TILE_OVERLAP if radius is None else int(radius)


def _validate_tiling(tile: int | None, tile_overlap: int | None, batch_size: int) -> None:
    if tile is not None and tile < 1:
        raise ValueError(f"tile must be >= 1 LR pixels or None (no tiling), got {tile}")
    if tile_overlap is not None and tile_overlap < 0:
        raise ValueError(f"tile_overlap must be >= 0, got {tile_overlap}")
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")


def _spans(size: int, tile: int | None, overlap: int) -> tuple[list[tuple[int, int, int]], int]:
    """Split one axis into cores; return [(window_start, core_start, core_end)] and the common window length."""
    if tile is None or size <= tile:
        return [(0, 0, size)], size
    count = math.ceil(size / tile)
    core = math.ceil(size / count)  # equal cores: no sliver of a last tile that costs a whole window
    window = min(core + 2 * overlap, size)
    spans = []
    for core_start in range(0, size, core):
        # Centre the core in its window, then shift the window back inside the image at the borders.
        start = min(max(core_start - overlap, 0), size - window)
        spans.append((start, core_start, min(core_start + core, size)))
    return spans, window


def _model_device_dtype(model: nn.Module, x: torch.Tensor) -> tuple[torch.device, torch.dtype]:
    """Where the model's weights live; a weightless module (e.g. a bicubic baseline) runs where ``x`` is."""
    weights = next((t for t in (*model.parameters(), *model.buffers()) if t.is_floating_point()), None)
    return (x.device, x.dtype) if weights is None else (weights.device, weights.dtype)


def upscale_tensor(model: nn.Module, x: torch.Tensor, *, tile: int | None = 256, tile_overlap: int | None = None,
                   batch_size: int = 4) -> torch.Tensor:
    """Upscale a batch (B, 3, H, W) of RGB floats in [0, 1] to (B, 3, sH, sW), clamped to [0, 1].

    Args:
        model: a generator (``model.scale``, default 4); pass it in eval mode, as ``load_generator`` returns it.
        x: the batch, on any device and of any float dtype; it is cast to the model's device and dtype per tile
            (a module without weights runs on ``x``'s device and dtype).
        tile: LR pixels per tile side (the core each tile keeps); ``None`` runs each image whole.
        tile_overlap: LR pixels of context added on each inner side of a tile and cropped away afterwards;
            ``None``: :func:`default_tile_overlap` (the model's receptive radius, so tiling changes nothing).
        batch_size: tiles (or whole images) per forward pass.

    Returns:
        A tensor on ``x``'s device with ``x``'s dtype (a normal tensor, not an inference-mode one).
    """
    _validate_tiling(tile, tile_overlap, batch_size)
    if x.ndim != 4 or x.shape[1] != 3 or not x.is_floating_point():
        raise ValueError(f"expected a float (B, 3, H, W) batch, got {x.dtype} of shape {tuple(x.shape)}")
    if x.shape[-1] == 0 or x.shape[-2] == 0:
        raise ValueError(f"cannot upscale an empty image of shape {tuple(x.shape)}")
    scale = int(getattr(model, "scale", 4))
    tile_overlap = default_tile_overlap(model) if tile_overlap is None else tile_overlap
    device, dtype = _model_device_dtype(model, x)
    batch, _, height, width = x.shape
    rows, window_h = _spans(height, tile, tile_overlap)
    cols, window_w = _spans(width, tile, tile_overlap)
    jobs = [(b, row, col) for b in range(batch) for row in rows for col in cols]
    # Allocated outside inference mode so that callers may modify the result in place.
    out = torch.empty(batch, 3, height * scale, width * scale, device=x.device, dtype=x.dtype)
    with torch.inference_mode():
        for first in range(0, len(jobs), batch_size):
            chunk = jobs[first:first + batch_size]
            windows = torch.stack([x[b, :, r0:r0 + window_h, c0:c0 + window_w] for b, (r0, _, _), (c0, _, _) in chunk])
            pred = model(windows.to(device=device, dtype=dtype))
            if pred.shape[-2:] != (window_h * scale, window_w * scale):
                raise ValueError(f"{type(model).__name__} turned a {window_h}x{window_w} input into "
                                 f"{pred.shape[-2]}x{pred.shape[-1]}, not {scale}x larger")
            pred = pred.clamp_(0, 1).to(device=x.device, dtype=x.dtype)
            for k, (b, (r0, r1, r2), (c0, c1, c2)) in enumerate(chunk):
                # Keep only the core: rows r1:r2 and columns c1:c2 of the image, offset by the window's start.
                out[b, :, r1 * scale:r2 * scale, c1 * scale:c2 * scale] = \
                    pred[k, :, (r1 - r0) * scale:(r2 - r0) * scale, (c1 - c0) * scale:(c2 - c0) * scale]
    return out


def _upscale_channels(model: nn.Module, x: torch.Tensor, *, tile: int | None, tile_overlap: int | None,
                      batch_size: int) -> torch.Tensor:
    """(B, C, H, W) in [0, 1] with C = 1 grey, 2 grey + alpha, 3 RGB, 4 RGBA -> the same channels, 4x larger."""
    channels = x.shape[1]
    colour = x[:, :3] if channels >= 3 else x[:, :1].expand(-1, 3, -1, -1)
    rgb = upscale_tensor(model, colour, tile=tile, tile_overlap=tile_overlap, batch_size=batch_size)
    if channels < 3:
        luma = torch.tensor(_LUMA, device=rgb.device, dtype=rgb.dtype).view(1, 3, 1, 1)
        rgb = (rgb * luma).sum(dim=1, keepdim=True).clamp_(0, 1)
    if channels in (2, 4):
        # Alpha is a mask, not image content: plain bicubic, never the face model.
        alpha = F.interpolate(x[:, -1:], size=rgb.shape[-2:], mode="bicubic", align_corners=False).clamp_(0, 1)
        rgb = torch.cat([rgb, alpha.to(rgb.dtype)], dim=1)
    return rgb


def upscale(
    model: nn.Module,
    image: ImageLike | str | os.PathLike,
    *,
    tile: int | None = 256,
    tile_overlap: int | None = None,
    batch_size: int = 4,
    max_pixels: int = DEFAULT_MAX_PIXELS,
) -> ImageLike:
    """Upscale an image 4x with ``model`` and return it in the form it came in.

    Args:
        model: a generator in eval mode (``facesr_hub.load_generator``); its device and dtype are used.
        image: a file path (read with :func:`facesr_hub.images.load_image`, returned as PIL); a PIL image of any
            mode; a numpy array (H, W) or (H, W, C), C in 1..4, uint8 / uint16 / float in [0, 1]; or a tensor
            (C, H, W) or (B, C, H, W), C in 1..4, float in [0, 1] or uint8.
        tile, tile_overlap, batch_size: see :func:`upscale_tensor`.
        max_pixels: refuse inputs with more LR pixels than this (per image).

    Returns:
        PIL: grey modes (1, L, I;16, I, F) -> L, LA -> LA, RGBA / transparent P -> RGBA, others -> RGB.
        numpy: same dtype and layout. Tensor: same device, dtype and rank. Alpha is upscaled bicubically.

    Raises:
        ImageTooLargeError: more than ``max_pixels`` pixels. ImageReadError: an unreadable file.
        ValueError: an unsupported shape, dtype or option. TypeError: an unsupported input kind.
    """
    _validate_tiling(tile, tile_overlap, batch_size)
    options = dict(tile=tile, tile_overlap=tile_overlap, batch_size=batch_size)
    if isinstance(image, (str, os.PathLike)):
        image = load_image(image, max_pixels=max_pixels)
    if isinstance(image, Image.Image):
        check_pixel_limit(image.width, image.height, max_pixels)
        return tensor_to_pil(_upscale_channels(model, pil_to_tensor(image)[None], **options)[0])
    if isinstance(image, np.ndarray):
        if image.ndim >= 2:
            check_pixel_limit(image.shape[1], image.shape[0], max_pixels)
        out = _upscale_channels(model, array_to_tensor(image)[None], **options)[0]
        return tensor_to_array(out, dtype=image.dtype, squeeze_channels=image.ndim == 2)
    if isinstance(image, torch.Tensor):
        if image.ndim not in (3, 4) or image.shape[-3] not in (1, 2, 3, 4):
            raise ValueError(f"expected a tensor (C, H, W) or (B, C, H, W) with C in 1..4, got {tuple(image.shape)}")
        check_pixel_limit(image.shape[-1], image.shape[-2], max_pixels)
        if image.dtype == torch.uint8:
            x = image.float() / 255
        elif image.is_floating_point():
            x = image.clamp(0, 1)
        else:
            raise ValueError(f"unsupported tensor dtype {image.dtype}; expected a float type in [0, 1] or uint8")
        out = _upscale_channels(model, x if x.ndim == 4 else x[None], **options)
        out = out if image.ndim == 4 else out[0]
        return out.mul(255).round_().to(torch.uint8) if image.dtype == torch.uint8 else out.to(image.dtype)
    raise TypeError(f"cannot upscale a {type(image).__name__}; pass a path, PIL image, numpy array or tensor")
