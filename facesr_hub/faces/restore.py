"""Whole-photo restoration: enlarge the background, restore each aligned face, paste it back with a soft mask.

The paste-back follows GFPGAN/CodeFormer: the restored crop is warped into the output photo with the inverse of
the alignment transform and blended through a feathered mask, so no seam shows at the crop border
(:mod:`facesr_hub.faces.paste`). The output may be at any integer scale of the photo, x1 included: the face model
always works at its own scale and the paste-back maps its crop to the output's.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
from PIL import Image

from .alignment import align_face
from .colour import is_monochrome
from .detection import DetectedFace, FaceDetector
from .paste import canvas_to_crop, face_mask, paste_face

__all__ = ["FaceRestoreResult", "face_mask", "restore_faces"]


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
    face_scale: int | None = None,
    upsample: int = 1,
    max_faces: int | None = None,
    colour_match: bool = True,
    photo_chroma: bool | None = None,
) -> FaceRestoreResult:
    """Enlarge an RGB photo ``scale``x (1 keeps its size), restoring every detected face with ``upscale_face``.

    ``upscale_background(photo)`` must return the photo ``scale``x larger; ``upscale_face`` gets each face aligned
    to a ``face_size`` square laid out like the training crops and must return it ``face_scale``x larger (default:
    ``scale``); the restored crop is then pasted at the output's scale. Faces are found with ``detector``
    (``upsample`` as in ``FaceDetector.detect``), or taken from ``detections`` when given (e.g. detected once for a
    preview); ``max_faces`` keeps only the largest. Faces are restored and pasted one at a time, so memory beyond
    the output itself stays bounded by one face window. ``colour_match`` matches each face's mean colour to the
    photo it replaces (see :mod:`facesr_hub.faces.paste`). ``photo_chroma`` restores only each face's luminance
    and keeps the photo's own colour, so that a black-and-white or toned photo is not coloured by the face model;
    ``None`` (the default) does so exactly when the photo is monochrome (:func:`~facesr_hub.faces.is_monochrome`).
    With no face found the result is the enlarged background and ``num_faces == 0``.
    """
    face_scale = scale if face_scale is None else face_scale
    if photo.mode != "RGB":
        raise ValueError(f"expected an RGB photo, got mode {photo.mode!r} (convert it first)")
    if scale < 1 or face_scale < 1:
        raise ValueError(f"scale and face_scale must be >= 1, got {scale} and {face_scale}")
    if face_size < 8:
        raise ValueError(f"face_size must be >= 8, got {face_size}")
    if (detector is None) == (detections is None):
        raise ValueError("pass exactly one of detector= or detections=")
    if max_faces is not None and max_faces < 0:
        raise ValueError(f"max_faces must be >= 0 or None, got {max_faces}")

    # 1. detections, then the background
    if detections is None:
        detections = detector.detect(np.asarray(photo), upsample=upsample)
    detections = list(detections)
    if max_faces is not None and len(detections) > max_faces:
        largest = sorted(range(len(detections)), key=lambda i: detections[i].size, reverse=True)[:max_faces]
        detections = [detections[i] for i in sorted(largest)]  # keep left-to-right order
    canvas = upscale_background(photo)
    _check_output(canvas, (photo.width * scale, photo.height * scale), "upscale_background")
    if not detections:
        return FaceRestoreResult(image=canvas)
    if photo_chroma is None:  # measured only when there is a face to paste
        photo_chroma = is_monochrome(photo)

    # 2. align, restore and paste each face, one at a time, into the canvas (in place: photos can be big)
    if canvas is photo:  # x1 with the photo itself as background: never draw on the caller's image
        canvas = photo.copy()
    pairs = []
    for face in detections:
        aligned = align_face(photo, face.landmarks, crop_size=face_size)
        restored = upscale_face(aligned.image)
        _check_output(restored, (face_size * face_scale, face_size * face_scale), "upscale_face")
        to_crop = canvas_to_crop(aligned.matrix, face_scale=face_scale, scale=scale)
        paste_face(canvas, restored, to_crop, colour_match=colour_match, photo_chroma=photo_chroma)
        pairs.append((aligned.image, restored))
    return FaceRestoreResult(image=canvas, faces=pairs, detections=detections)


def _check_output(image: Image.Image, expected: tuple[int, int], name: str) -> None:
    if not isinstance(image, Image.Image) or image.mode != "RGB" or image.size != expected:
        got = f"{image.mode} {image.size}" if isinstance(image, Image.Image) else type(image).__name__
        raise ValueError(f"{name} must return an RGB PIL image of size {expected}, got {got}")
