"""Real photos, looked at: every face of each photo restored through the app's whole-photo path, method by method.

    uv run python -m facesr_hub.evaluation.photos data/old-photos --method bicubic --method fast-real \\
        --method realesrgan --scale 1 --out photos-grid.png

Real degraded photos have no ground truth, so they are judged by eye: one row per face, one column per method, each
cell the face's region of the *whole restored photo* (detected, aligned, restored, pasted back with the app's mask and
colour match), so seams and colour shifts show as users see them. ``bicubic`` restores faces by bicubic 4x (the
reference for "no model"), ``realesrgan`` by Real-ESRGAN x4plus, any other name by ``load_generator``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from ..app.photo import choose_faces, restore_photo
from ..faces.detection import DetectedFace, FaceDetector
from ..inference import upscale
from ..loading import load_generator

Upscale = Callable[[Image.Image], Image.Image]
CELL = 160
LABEL_HEIGHT = 18
PHOTO_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".bmp"}


def face_upscaler(method: str) -> Upscale:
    """A 64 -> 256 face restorer for ``method``: ``bicubic``, ``realesrgan`` or a model for ``load_generator``."""
    if method == "bicubic":
        return lambda face: face.resize((face.width * 4, face.height * 4), Image.Resampling.BICUBIC)
    if method == "realesrgan":
        from ..baselines.realesrgan import load_realesrgan_x4plus

        model = load_realesrgan_x4plus(device="cpu")
    else:
        model = load_generator(method, device="cpu")
    return lambda face: upscale(model, face, tile=None)


def face_region(face: DetectedFace, scale: int, size: tuple[int, int], margin: float = 0.5) -> tuple[int, ...]:
    """A square around a detected face (``margin`` of its side on each side), in output pixels, inside the image."""
    left, top, right, bottom = (v * scale for v in face.box)
    side = max(right - left, bottom - top) * (1 + 2 * margin)
    cx, cy = (left + right) / 2, (top + bottom) / 2
    x0, y0 = max(0, int(cx - side / 2)), max(0, int(cy - side / 2))
    return x0, y0, min(size[0], int(cx + side / 2)), min(size[1], int(cy + side / 2))


def restore_with_each(photo: Image.Image, methods: dict[str, Upscale], detector: FaceDetector, *, scale: int,
                      min_face: float) -> tuple[list[DetectedFace], dict[str, Image.Image]]:
    """The faces the app restores in ``photo`` and the whole photo restored by each method (the same faces)."""
    rgb = photo.convert("RGB")
    chosen: list[DetectedFace] = []

    def detect(image: Image.Image, upsample: int) -> list[DetectedFace]:
        if not chosen:  # detect once: every method restores the same faces
            chosen.extend(detector.detect(np.asarray(image), upsample=upsample))
        return chosen

    bicubic = face_upscaler("bicubic")  # the background, as the app's default renders it
    outputs = {}
    for name, restore in methods.items():
        outputs[name] = restore_photo(rgb, scale=scale, detect=detect, upscale_face=restore,
                                      upscale_background_4x=bicubic, background="bicubic", min_face=min_face).image
    restored = [choice.face for choice in choose_faces(chosen, scale=scale, min_face=min_face) if choice.restore]
    return restored, outputs


def photos_grid(photos: Sequence[Path], methods: dict[str, Upscale], *, scale: int = 1, min_face: float = 24.0,
                detector: FaceDetector | None = None) -> Image.Image:
    """Rows of faces (every face of at least ``min_face`` px in every photo), one column per method."""
    detector = detector or FaceDetector()
    rows: list[list[Image.Image]] = []
    for path in photos:
        with Image.open(path) as image:
            faces, outputs = restore_with_each(image, methods, detector, scale=scale, min_face=min_face)
        for face in faces:
            first = next(iter(outputs.values()))
            box = face_region(face, scale, first.size)
            rows.append([out.crop(box).resize((CELL, CELL), Image.Resampling.LANCZOS) for out in outputs.values()])
    if not rows:
        raise ValueError(f"no face of at least {min_face:g} px found in {len(photos)} photo(s)")
    grid = Image.new("RGB", (CELL * len(methods), LABEL_HEIGHT + CELL * len(rows)), "white")
    draw = ImageDraw.Draw(grid)
    for column, name in enumerate(methods):
        draw.text((column * CELL + 4, 3), name, fill="black")
    for row, cells in enumerate(rows):
        for column, cell in enumerate(cells):
            grid.paste(cell, (column * CELL, LABEL_HEIGHT + row * CELL))
    return grid


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m facesr_hub.evaluation.photos", description=__doc__.split("\n")[0])
    parser.add_argument("photos", type=Path, help="a folder of photos (or one photo)")
    parser.add_argument("--method", action="append", required=True,
                        help="bicubic, realesrgan, or a model (bundled name, folder, Hub id); repeatable, one column "
                             "each; NAME=MODEL labels the column")
    parser.add_argument("--scale", type=int, choices=(1, 2, 4), default=1, help="the whole-photo output scale")
    parser.add_argument("--min-face", type=float, default=24.0, help="faces smaller than this (box side, px) are left out")
    parser.add_argument("--out", type=Path, required=True, help="the grid (PNG)")
    args = parser.parse_args(argv)
    photos = (sorted(p for p in args.photos.iterdir() if p.suffix.lower() in PHOTO_SUFFIXES)
              if args.photos.is_dir() else [args.photos])
    if not photos:
        parser.error(f"{args.photos}: no photos")
    methods = {}
    for item in args.method:
        label, _, source = item.rpartition("=")
        methods[label or source] = face_upscaler(source)
    try:
        grid = photos_grid(photos, methods, scale=args.scale, min_face=args.min_face)
    except ValueError as error:
        parser.error(str(error))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    grid.save(args.out)
    print(f"{args.out}: {(grid.height - LABEL_HEIGHT) // CELL} faces from {len(photos)} photo(s), "
          f"{len(methods)} methods")
    return 0


if __name__ == "__main__":
    sys.exit(main())
