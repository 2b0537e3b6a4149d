"""The comparison grid: one row per image, one column per method (LR-nearest | bicubic | ... | HR), labelled."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from PIL import Image, ImageDraw, ImageFont

LABEL_HEIGHT = 20


def grid_size(num_columns: int, num_images: int, tile: int = 256) -> tuple[int, int]:
    """(width, height) in pixels of a grid: tiles side by side, no gaps, one label strip on top."""
    return num_columns * tile, LABEL_HEIGHT + num_images * tile


def comparison_grid(columns: Sequence[tuple[str, torch.Tensor]]) -> Image.Image:
    """Lay out ``columns`` = [(label, uint8 (K,3,H,W))], all of the same shape, as one RGB image."""
    if not columns:
        raise ValueError("no columns to draw")
    shapes = {tuple(images.shape) for _, images in columns}
    if len(shapes) != 1:
        raise ValueError(f"every column needs the same (K,3,H,W) images, got shapes {sorted(shapes)}")
    count, _, height, width = next(iter(shapes))
    if height != width:
        raise ValueError(f"tiles must be square, got {height}x{width}")
    canvas = Image.new("RGB", grid_size(len(columns), count, width), "white")
    draw = ImageDraw.Draw(canvas)
    font = ImageFont.load_default()
    for index, (label, images) in enumerate(columns):
        if images.dtype != torch.uint8:
            raise ValueError(f"column {label!r} must be uint8, got {images.dtype}")
        draw.text((index * width + 4, 4), label[:40], fill="black", font=font)
        for row, image in enumerate(images):
            tile = Image.fromarray(image.permute(1, 2, 0).contiguous().numpy())
            canvas.paste(tile, (index * width, LABEL_HEIGHT + row * height))
    return canvas
