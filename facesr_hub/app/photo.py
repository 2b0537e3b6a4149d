"""Whole photos: find the faces, choose which to restore, enlarge the background to the output scale (x4, x2, or
x1 = the photo's own size), restore the chosen faces at the model's 64 -> 256 and paste them back at that scale.

Memory stays bounded by the output: the background is resized (x2), kept (x1) or run through the model in tiles
(x4), and faces are aligned, restored and pasted one at a time. Detection runs on a reduced copy of a large photo
(``FaceDetector.max_detect_side``) and maps the boxes back.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
from PIL import Image

from ..data.protocol import LR_SIZE, SCALE
from ..faces import DetectedFace, estimate_similarity, restore_faces, template_for
from ..images import split_alpha
from .options import DEFAULT_MIN_FACE, ProgressFn

#: Faces restored per photo at most (the largest ones); a crowd photo should not hold the GPU for minutes.
MAX_FACES = 32
#: At x1 and x2, a face whose 256-px restoration would be enlarged more than this to fit the output is kept as it
#: is: the photo's own pixels are sharper than a restoration from 64x64 blown up further. (At x4 the whole photo
#: is enlarged 4x too, so a restored face is never blurrier than its surroundings.)
MAX_FACE_ENLARGEMENT = 2.0
#: Photos up to this many pixels (400x300) are searched for faces at 4x the resolution (faces down to ~20 px);
#: larger ones at 2x (~40 px): 4x costs ~5x the time, ~0.2 s at this size on one CPU core.
_SMALL_PHOTO_PIXELS = 400 * 300

SKIPPED_SMALL = "small"
SKIPPED_LARGE = "large"
SKIPPED_CROWD = "crowd"

Detect = Callable[[Image.Image, int], list[DetectedFace]]  # (RGB photo, upsample) -> faces, left to right
Upscale = Callable[[Image.Image], Image.Image]


@dataclass(frozen=True)
class FaceChoice:
    """A detected face and whether it is restored; ``skipped`` says why not (``"small"``, ``"large"``,
    ``"crowd"``), ``None`` when it is."""

    face: DetectedFace
    skipped: str | None = None

    @property
    def restore(self) -> bool:
        return self.skipped is None


@dataclass(frozen=True)
class PhotoResult:
    """The output photo (the input's family: grey stays grey, alpha is kept), the ``(aligned input, restored)``
    pair of each restored face, every detected face with what was done with it, and notes for the user."""

    image: Image.Image
    faces: list[tuple[Image.Image, Image.Image]] = field(default_factory=list)
    choices: list[FaceChoice] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def count(self, skipped: str) -> int:
        return sum(choice.skipped == skipped for choice in self.choices)


def detection_upsample(size: tuple[int, int]) -> int:
    """How many times dlib doubles the search resolution for a photo of this size (see ``_SMALL_PHOTO_PIXELS``)."""
    return 2 if size[0] * size[1] <= _SMALL_PHOTO_PIXELS else 1


def crop_side(face: DetectedFace) -> float:
    """Side, in photo pixels, of the face's aligned training crop (what the model restores to 256 px)."""
    matrix = estimate_similarity(face.landmarks, template_for(LR_SIZE))
    return LR_SIZE / math.sqrt(abs(np.linalg.det(matrix[:, :2])))


def choose_faces(detections: Sequence[DetectedFace], *, scale: int, min_face: float = DEFAULT_MIN_FACE,
                 max_faces: int = MAX_FACES) -> list[FaceChoice]:
    """Which faces to restore, in the detections' order: not those smaller than ``min_face`` (box side, pixels),
    not those too large for the model at x1/x2 (``MAX_FACE_ENLARGEMENT``), and the ``max_faces`` largest of the
    rest."""
    restored_side = LR_SIZE * SCALE
    skipped: dict[int, str] = {}
    for index, face in enumerate(detections):
        if face.size < min_face:
            skipped[index] = SKIPPED_SMALL
        elif scale < SCALE and crop_side(face) * scale > MAX_FACE_ENLARGEMENT * restored_side:
            skipped[index] = SKIPPED_LARGE
    candidates = sorted((i for i in range(len(detections)) if i not in skipped),
                        key=lambda i: detections[i].size, reverse=True)
    for index in candidates[max_faces:]:
        skipped[index] = SKIPPED_CROWD
    return [FaceChoice(face=face, skipped=skipped.get(index)) for index, face in enumerate(detections)]


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'s' if count != 1 else ''}"


def restore_photo(image: Image.Image, *, scale: int, detect: Detect, upscale_face: Upscale,
                  upscale_background_4x: Upscale, background: str, min_face: float = DEFAULT_MIN_FACE,
                  progress: ProgressFn | None = None) -> PhotoResult:
    """Restore the faces of an 8-bit L / LA / RGB / RGBA photo and enlarge it ``scale``x (4, 2 or 1).

    ``upscale_face`` takes a 64x64 aligned face to 256x256; ``upscale_background_4x`` enlarges the whole photo 4x
    and is used at x4 only (``background`` names it for the notes). ``progress`` hears about each stage.
    """
    report = progress or (lambda fraction, description: None)
    rgb, alpha = split_alpha(image)
    # 1. find the faces and choose which to restore
    report(0.02, "Finding faces")
    choices = choose_faces(detect(rgb, detection_upsample(rgb.size)), scale=scale, min_face=min_face)
    chosen = [choice.face for choice in choices if choice.restore]
    notes = []

    # 2. background at the output scale, then faces one at a time (restore_faces calls them in this order)
    def enlarge_background(photo: Image.Image) -> Image.Image:
        report(0.1, f"Enlarging the background x{scale}")
        if scale == SCALE:
            return upscale_background_4x(photo)
        if scale == 1:
            return photo
        return photo.resize((photo.width * scale, photo.height * scale), Image.Resampling.BICUBIC)

    done = 0

    def restore_face(face: Image.Image) -> Image.Image:
        nonlocal done
        done += 1
        report(0.2 + 0.75 * (done - 1) / len(chosen), f"Restoring face {done} of {len(chosen)}")
        return upscale_face(face)

    result = restore_faces(rgb, restore_face, enlarge_background, detections=chosen, face_size=LR_SIZE,
                           scale=scale, face_scale=SCALE)
    output = result.image
    # 3. back to the input's family: grey stays grey, alpha comes back (bicubic)
    if image.mode in ("L", "LA"):
        output = output.convert("L")
    if alpha is not None:  # (rgb is split_alpha's copy: putting alpha on it never touches the caller's image)
        output.putalpha(alpha if scale == 1 else alpha.resize(output.size, Image.Resampling.BICUBIC))

    # 4. say what was not done
    how = {4: f"upscaled 4x with {background}", 2: "enlarged 2x bicubically", 1: "kept at its own size"}[scale]
    if background != "bicubic" and scale != SCALE:
        notes.append(f"The {background} background is used at x4 only: at x{scale} the photo was {how}.")
    if not choices:
        notes.append(f"No face found in this photo: it was {how}, nothing else. For a single face crop, use the "
                     "'Aligned face' mode.")
    if large := sum(choice.skipped == SKIPPED_LARGE for choice in choices):
        notes.append(f"{_plural(large, 'face')} too large to gain from restoration at x{scale} (the photo's own "
                     f"pixels are sharper): kept as {'it is' if large == 1 else 'they are'}; x4 restores "
                     f"{'it' if large == 1 else 'them'}.")
    if crowd := sum(choice.skipped == SKIPPED_CROWD for choice in choices):
        notes.append(f"{len(chosen) + crowd} faces found: the {MAX_FACES} largest were restored, {crowd} others "
                     "left as the background renders them.")
    return PhotoResult(image=output, faces=result.faces, choices=choices, notes=notes)
