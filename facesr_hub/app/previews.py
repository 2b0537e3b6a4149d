"""What the page shows and what it downloads: a lossy before/after preview sized for the screen, the full-size
lossless PNG, and a small overview of the photo with each detected face's box.

A 4x photo can hold 16 megapixels: encoding it losslessly twice (before and after) and shipping both to the page
cost several times the model's own time. The slider gets two high-quality JPEGs (WebP when there is
transparency) at most ``PREVIEW_MAX_SIDE`` pixels long, made and encoded in milliseconds; only the Download
button serves the full PNG, written once.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from .photo import FaceChoice

#: Longest side of the slider images at most: sharp on a large (or 2x density) screen, small enough to ship in a
#: blink. (The result is shrunk by a whole factor, so a preview is between half this and this.)
PREVIEW_MAX_SIDE = 2048
PREVIEW_QUALITY = 92
#: Longest side of the face-box overview.
OVERVIEW_MAX_SIDE = 640
#: zlib level of the full-size PNG: level 1 writes a 16 MP photo ~2.5x faster than level 6, ~10-25% larger.
PNG_COMPRESS_LEVEL = 1

_RESAMPLE = {"bicubic": Image.Resampling.BICUBIC, "nearest": Image.Resampling.NEAREST}
_RESTORED_COLOUR = (34, 197, 94)
_SKIPPED_COLOUR = (249, 115, 22)


def preview_size(size: tuple[int, int], max_side: int = PREVIEW_MAX_SIDE) -> tuple[int, int]:
    """``size`` shrunk (never enlarged) so that its longest side is at most ``max_side``, aspect ratio kept."""
    if max_side < 1:
        raise ValueError(f"max_side must be >= 1, got {max_side}")
    width, height = size
    shrink = min(1.0, max_side / max(width, height))
    return max(1, round(width * shrink)), max(1, round(height * shrink))


def resize_for_preview(image: Image.Image, size: tuple[int, int], *, enlarge_with: str = "bicubic") -> Image.Image:
    """``image`` at ``size``: enlarged with ``enlarge_with`` (``"bicubic"`` or ``"nearest"``), shrunk antialiased."""
    if image.size == size:
        return image
    if size[0] > image.width or size[1] > image.height:
        return image.resize(size, _RESAMPLE[enlarge_with])
    # reducing_gap: box-reduce by the largest integer factor first (antialiased), then resample the rest: ~2x faster.
    return image.resize(size, Image.Resampling.BICUBIC, reducing_gap=1.0)


def preview_pair(before: Image.Image, after: Image.Image, *, compare: str = "bicubic",
                 max_side: int = PREVIEW_MAX_SIDE) -> tuple[Image.Image, Image.Image]:
    """The slider's two images, of one size: ``after`` (the result) shrunk by the smallest integer factor that
    brings its longest side to ``max_side`` or less, ``before`` (the model's input) enlarged with ``compare``, or
    shrunk likewise when it is as large (x1).

    An integer factor is a box filter over whole pixel blocks (``Image.reduce``): antialiased, and ~10x faster on
    a 12 MP image than resampling to an arbitrary size, which matters since the user waits for it.
    """
    if max_side < 1:
        raise ValueError(f"max_side must be >= 1, got {max_side}")
    factor = math.ceil(max(after.size) / max_side)
    shown = after.reduce(factor) if factor > 1 else after
    if before.size == after.size:
        return (before.reduce(factor) if factor > 1 else before), shown
    return resize_for_preview(before, shown.size, enlarge_with=compare), shown


def save_preview(image: Image.Image, stem: Path) -> Path:
    """Save a lossy preview as ``<stem>.jpg`` (high quality, no chroma subsampling), or ``<stem>.webp`` when the
    image has transparency (JPEG has none)."""
    if image.mode in ("LA", "RGBA"):
        path = stem.with_name(stem.name + ".webp")
        image.save(path, format="WEBP", quality=PREVIEW_QUALITY, method=0)
    else:
        path = stem.with_name(stem.name + ".jpg")
        image.convert("RGB" if image.mode not in ("L", "RGB") else image.mode).save(
            path, format="JPEG", quality=PREVIEW_QUALITY, subsampling=0)
    return path


def save_png(image: Image.Image, path: Path, *, compress_level: int = PNG_COMPRESS_LEVEL) -> Path:
    """Save losslessly as PNG (level 1 by default: speed matters more than the last 20% of file size here)."""
    image.save(path, format="PNG", compress_level=compress_level)
    return path


def draw_face_boxes(photo: Image.Image, choices: Sequence[FaceChoice], *,
                    max_side: int = OVERVIEW_MAX_SIDE) -> Image.Image:
    """A small RGB copy of ``photo`` with each face's detection box: green and numbered (as in the gallery) when
    restored, orange when left as it is."""
    size = preview_size(photo.size, max_side)
    overview = resize_for_preview(photo.convert("RGB"), size)
    shrink = size[0] / photo.width
    draw = ImageDraw.Draw(overview)
    font = ImageFont.load_default(size=max(11, round(max(size) / 40)))
    width = max(2, round(max(size) / 250))
    number = 0
    for choice in choices:
        left, top, right, bottom = (value * shrink for value in choice.face.box)
        colour = _RESTORED_COLOUR if choice.restore else _SKIPPED_COLOUR
        draw.rectangle((left, top, right, bottom), outline=colour, width=width)
        if choice.restore:
            number += 1
            label = str(number)
            x0, y0, x1, y1 = draw.textbbox((left, top), label, font=font)
            draw.rectangle((x0 - 2, y0 - 2, x1 + 2, y1 + 2), fill=colour)
            draw.text((left, top), label, fill=(255, 255, 255), font=font)
    return overview


def face_gallery(choices: Sequence[FaceChoice], photo: Image.Image,
                 faces: Sequence[tuple[Image.Image, Image.Image]], *, folder: Path, stem: str
                 ) -> list[tuple[str, str]]:
    """The faces gallery of a whole-photo result, as files written to ``folder`` (``<stem>_face<N>_*.png``,
    ``<stem>_faces.jpg``) with captions: for each restored face its aligned input (enlarged nearest, so its real
    pixels show) and its restoration, side by side in a two-column gallery; then the face-box overview, last so
    that it never pushes a pair out of its row.

    Files rather than PIL images: Gradio re-encodes PIL images into a content-addressed cache file *in place* on
    every response, so the answer's second message (the one with the PNG) would rewrite a face crop while the page
    is still fetching it from the first.
    """
    items: list[tuple[str, str]] = []
    for number, (aligned, restoration) in enumerate(faces, start=1):
        enlarged = aligned.resize(restoration.size, Image.Resampling.NEAREST)
        name = folder / f"{stem}_face{number}"
        items += [(str(save_png(enlarged, name.with_name(name.name + "_input.png"))), f"Face {number}: aligned input"),
                  (str(save_png(restoration, name.with_name(name.name + "_restored.png"))), f"Face {number}: restored")]
    restored = sum(choice.restore for choice in choices)
    left = len(choices) - restored
    if not choices:
        caption = "No face found"
    else:
        caption = f"Faces found: {restored} restored (green, numbered)"
        caption += f", {left} left as {'it is' if left == 1 else 'they are'} (orange)" if left else ""
    items.append((str(save_preview(draw_face_boxes(photo, choices), folder / f"{stem}_faces")), caption))
    return items
