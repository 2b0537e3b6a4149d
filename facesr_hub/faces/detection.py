"""Offline face detection: dlib's HOG frontal detector + the 5-point landmark model.

Coordinates everywhere in ``facesr_hub.faces`` are *continuous* pixel coordinates: pixel ``(i, j)`` covers
``[i, i+1) x [j, j+1)``, so its centre is ``(i + 0.5, j + 0.5)``. This is PIL's ``Image.transform`` convention and
the one in which resizing an image by ``s`` simply multiplies coordinates by ``s`` (``align_corners=False``).
dlib reports integer pixel indices; we add 0.5 once, here.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image

from ..extras import install_command, require

if TYPE_CHECKING:
    import dlib

LANDMARKS_FILE = "shape_predictor_5_face_landmarks.dat"


@dataclass(frozen=True)
class DetectedFace:
    """One detected face.

    ``box`` is ``(left, top, right, bottom)`` and ``landmarks`` a ``(5, 2)`` float array of ``(x, y)``, both in
    continuous pixel coordinates (see the module docstring). Landmark order is dlib's 5-point order: outer and
    inner corner of the eye on the image's right, outer and inner corner of the eye on the image's left, the
    base of the nose. ``score`` is the HOG detector's confidence (higher is surer; 0 is its default threshold).
    """

    box: tuple[float, float, float, float]
    landmarks: np.ndarray
    score: float

    @property
    def size(self) -> float:
        """Side length of the detection box in pixels (the geometric mean of width and height)."""
        left, top, right, bottom = self.box
        return float(np.sqrt(max(right - left, 0.0) * max(bottom - top, 0.0)))


def default_models_dir() -> Path:
    """The ``models/`` folder of the installed ``face_recognition_models`` package.

    Found through the import system without importing the package: its ``__init__`` needs ``pkg_resources``,
    which modern environments no longer ship.
    """
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("package 'face_recognition_models' is not installed (it ships the dlib 5-point "
                                f"landmark model); the [app] extra installs it: {install_command('app')}")
    return Path(list(spec.submodule_search_locations)[0]) / "models"


def _import_dlib() -> ModuleType:
    """dlib, imported only when a detector is built: the rest of the package (training, aligned-face upscaling, the
    evaluation's PSNR/LPIPS) must import on machines without it, such as the GPU training image."""
    require("app", "dlib", feature="face detection")  # dlib-bin
    import dlib
    return dlib


class FaceDetector:
    """dlib HOG face detector with 5-point landmarks; models are loaded once, here, from local files.

    Large photos are searched at a reduced size (longest side ``max_detect_side``) for speed; the landmarks are
    then predicted on the full-resolution image so alignment keeps every pixel of precision.
    """

    def __init__(self, *, models_dir: str | Path | None = None, min_score: float = 0.0,
                 max_detect_side: int = 1600) -> None:
        if max_detect_side < 64:
            raise ValueError(f"max_detect_side must be >= 64, got {max_detect_side}")
        models_dir = Path(models_dir) if models_dir is not None else default_models_dir()
        landmarks_path = models_dir / LANDMARKS_FILE
        if not landmarks_path.is_file():
            raise FileNotFoundError(f"landmark model not found: {landmarks_path}")
        self.min_score = float(min_score)
        self.max_detect_side = int(max_detect_side)
        self._dlib = _import_dlib()
        self._detector = self._dlib.get_frontal_face_detector()
        self._landmarks = self._dlib.shape_predictor(str(landmarks_path))

    def detect(self, image_rgb_uint8: np.ndarray, *, upsample: int = 1) -> list[DetectedFace]:
        """Find frontal faces in an ``(H, W, 3)`` uint8 RGB array, ordered left to right.

        ``upsample`` doubles the search resolution that many times: 0 finds faces of about 80 px and up,
        1 about 40 px, 2 about 20 px (each step costs ~4x time).
        """
        image = _check_rgb_uint8(image_rgb_uint8)
        if not 0 <= upsample <= 3:
            raise ValueError(f"upsample must be in 0..3, got {upsample}")
        height, width = image.shape[:2]
        # 1. search a reduced copy when the photo is large (HOG cost grows with pixel count)
        shrink = min(1.0, self.max_detect_side / max(height, width))
        search = image
        if shrink < 1.0:
            size = (max(1, round(width * shrink)), max(1, round(height * shrink)))
            search = np.asarray(Image.fromarray(image).resize(size, Image.BICUBIC))
        rects, scores, _ = self._detector.run(search, upsample, self.min_score)
        # 2. landmarks on the full-resolution image, from the box mapped back to it
        faces = []
        for rect, score in zip(rects, scores, strict=True):
            box = tuple(v / shrink for v in (rect.left(), rect.top(), rect.right() + 1, rect.bottom() + 1))
            full_rect = self._dlib.rectangle(round(box[0]), round(box[1]), round(box[2]) - 1, round(box[3]) - 1)
            shape = self._landmarks(image, full_rect)
            landmarks = np.array([[p.x + 0.5, p.y + 0.5] for p in shape.parts()], dtype=np.float64)
            faces.append(DetectedFace(box=box, landmarks=landmarks, score=float(score)))
        return sorted(faces, key=lambda face: face.box[0])


def _check_rgb_uint8(image: np.ndarray) -> np.ndarray:
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        got = f"{type(image).__name__} {getattr(image, 'dtype', '')} {getattr(image, 'shape', '')}"
        raise ValueError(f"expected an (H, W, 3) uint8 RGB numpy array, got {got}")
    return np.ascontiguousarray(image)  # dlib needs C-contiguous memory
