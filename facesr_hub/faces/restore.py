"""Whole-photo restoration: upscale the background, restore each aligned face, paste it back with a soft mask.

The paste-back follows GFPGAN/CodeFormer: the restored crop is warped into the upscaled photo with the inverse of
the alignment transform and blended through a feathered mask, so no seam shows at the crop border.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
from PIL import Image

from .alignment import AlignedFace, align_face, apply_affine, invert_affine
from .detection import DetectedFace, FaceDetector

# Feathered mask, as fractions of the crop side: fully transparent for the outer MARGIN (the crop border may hold
# edge-replicated padding and interpolation fall-off), then a smooth ramp over FEATHER up to opaque.
_MASK_MARGIN = 0.03
_MASK_FEATHER = 0.12


@dataclass(frozen=True)
class FaceRestoreResult:
    """What ``restore_faces`` returns.

    ``image`` is the final ``scale``x photo; ``faces`` holds one ``(aligned LR crop, restored crop)`` pair per face
    (for a gallery), in the order of ``detections`` (left to right).
    """

    image: Image.Image
    faces: list[tuple[Image.Image, Image.Image]] = field(default_factory=list)
    detections: list[DetectedFace] = field(default_factory=list)

    @property
    def num_faces(self) -> int:
        return len(self.faces)


def restore_faces(
    photo: Image.Image,
    upscale_face: Callable[[Image.Image], Image.Image],
    upscale_background: Callable[[Image.Image], Image.Image],
    *,
    detector: FaceDetector | None = None,
    detections: Sequence[DetectedFace] | None = None,
    face_size: int = 64,
    scale: int = 4,
    upsample: int = 1,
    max_faces: int | None = None,
) -> FaceRestoreResult:
    """Upscale an RGB photo ``scale``x, restoring every detected face with ``upscale_face``.

    ``upscale_background(photo)`` must return the photo ``scale``x larger; ``upscale_face`` gets each face aligned
    to a ``face_size`` square laid out like the training crops and must return it ``scale``x larger. Faces are
    found with ``detector`` (``upsample`` as in ``FaceDetector.detect``), or taken from ``detections`` when given
    (e.g. detected once for a preview); ``max_faces`` keeps only the largest.
    With no face found the result is the upscaled background and ``num_faces == 0``.
    """
    if photo.mode != "RGB":
        raise ValueError(f"expected an RGB photo, got mode {photo.mode!r} (convert it first)")
    if scale < 1:
        raise ValueError(f"scale must be >= 1, got {scale}")
    if face_size < 8:
        raise ValueError(f"face_size must be >= 8, got {face_size}")
    if (detector is None) == (detections is None):
        raise ValueError("pass exactly one of detector= or detections=")
    if max_faces is not None and max_faces < 0:
        raise ValueError(f"max_faces must be >= 0 or None, got {max_faces}")

    # 1. background and detections
    background = upscale_background(photo)
    _check_output(background, (photo.width * scale, photo.height * scale), "upscale_background")
    if detections is None:
        detections = detector.detect(np.asarray(photo), upsample=upsample)
    detections = list(detections)
    if max_faces is not None and len(detections) > max_faces:
        largest = sorted(range(len(detections)), key=lambda i: detections[i].size, reverse=True)[:max_faces]
        detections = [detections[i] for i in sorted(largest)]  # keep left-to-right order
    if not detections:
        return FaceRestoreResult(image=background)

    # 2. align, restore and paste each face (blending in float only inside each face's window: photos can be big)
    canvas = np.array(background)
    pairs = []
    for face in detections:
        aligned = align_face(photo, face.landmarks, crop_size=face_size)
        restored = upscale_face(aligned.image)
        _check_output(restored, (face_size * scale, face_size * scale), "upscale_face")
        _paste_face(canvas, restored, aligned, scale=scale)
        pairs.append((aligned.image, restored))
    return FaceRestoreResult(image=Image.fromarray(canvas), faces=pairs, detections=detections)


def face_mask(size: int) -> np.ndarray:
    """Soft ``(size, size)`` float32 mask in [0, 1]: 0 at the border, smoothstep ramp, 1 in the middle."""
    centres = np.arange(size, dtype=np.float32) + 0.5
    to_border = np.minimum(centres, size - centres)  # distance of each pixel centre to the nearest border
    ramp = np.clip((to_border - _MASK_MARGIN * size) / (_MASK_FEATHER * size), 0.0, 1.0)
    ramp = ramp * ramp * (3.0 - 2.0 * ramp)
    return np.minimum(ramp[:, None], ramp[None, :])


def _paste_face(canvas: np.ndarray, restored: Image.Image, aligned: AlignedFace, *, scale: int) -> None:
    """Blend ``restored`` into ``canvas`` (``(H, W, 3)`` uint8, the ``scale``x photo) in place."""
    # Canvas coords are `scale` x photo coords and restored coords are `scale` x crop coords, so the map
    # canvas -> restored crop is the alignment's linear part with its translation scaled.
    to_crop = aligned.matrix.copy()
    to_crop[:, 2] *= scale
    size = restored.width
    # 1. a face smaller in the canvas than the restored crop: shrink the crop first (antialiased), not in the warp
    shrink = math.sqrt(abs(np.linalg.det(to_crop[:, :2])))
    if shrink > 1.0:
        new_size = max(8, math.ceil(size / shrink))
        to_crop *= new_size / size
        restored = restored.resize((new_size, new_size), Image.BICUBIC)
        size = new_size
    # 2. the canvas window covered by the crop
    to_canvas = invert_affine(to_crop)
    corners = apply_affine(to_canvas, np.array([[0, 0], [size, 0], [0, size], [size, size]]))
    height, width = canvas.shape[:2]
    x0, y0 = np.maximum(np.floor(corners.min(0)).astype(int), 0)
    x1, y1 = np.minimum(np.ceil(corners.max(0)).astype(int), [width, height])
    if x1 <= x0 or y1 <= y0:
        return
    # 3. warp crop and mask into the window (PIL wants the output -> input map) and blend
    window_to_crop = to_crop.copy()
    window_to_crop[:, 2] += to_crop[:, :2] @ np.array([x0, y0], dtype=np.float64)
    coeffs = tuple(window_to_crop.ravel())
    face = restored.transform((x1 - x0, y1 - y0), Image.AFFINE, coeffs, resample=Image.BICUBIC)
    mask = Image.fromarray(face_mask(size))  # float32 -> mode "F"
    mask = mask.transform((x1 - x0, y1 - y0), Image.AFFINE, coeffs, resample=Image.BILINEAR)
    alpha = np.asarray(mask, dtype=np.float32)[..., None]
    window = canvas[y0:y1, x0:x1].astype(np.float32)
    window += alpha * (np.asarray(face, dtype=np.float32) - window)
    canvas[y0:y1, x0:x1] = np.clip(np.rint(window), 0, 255).astype(np.uint8)


def _check_output(image: Image.Image, expected: tuple[int, int], name: str) -> None:
    if not isinstance(image, Image.Image) or image.mode != "RGB" or image.size != expected:
        got = f"{image.mode} {image.size}" if isinstance(image, Image.Image) else type(image).__name__
        raise ValueError(f"{name} must return an RGB PIL image of size {expected}, got {got}")
