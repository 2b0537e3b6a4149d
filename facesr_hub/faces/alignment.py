"""Align a detected face to the training crop with a 5-point similarity transform.

All coordinates are continuous pixel coordinates (pixel centres at +0.5), see ``detection.py``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from PIL import Image

# Where dlib's 5 landmarks sit in a 256x256 training crop (CelebA aligned 178x218 -> centre crop 178x178 ->
# bicubic resize 256), in dlib's landmark order, continuous pixel coordinates.
# Measured, not guessed: 1000 images taken evenly over CelebA's img_align_celeba folder (every 6th file),
# each cropped and resized exactly as above, run through FaceDetector's HOG detector (upsample 0, then 1 when it
# missed) + shape_predictor_5_face_landmarks; 985 gave a face, and this is the per-point mean (std 2-3 px on the
# eyes, 5-6 px on the nose). tests/test_faces.py re-measures it on a sample and checks it still agrees.
TEMPLATE_SIZE = 256
TEMPLATE_256 = np.array([
    [166.76, 133.73],  # outer corner, eye on the image's right
    [144.40, 135.32],  # inner corner, eye on the image's right
    [89.39, 133.59],   # outer corner, eye on the image's left
    [111.69, 135.29],  # inner corner, eye on the image's left
    [127.64, 177.36],  # base of the nose
])
TEMPLATE_256.setflags(write=False)

# Largest intermediate crop side when a big face is supersampled before the antialiased shrink (memory bound).
_MAX_SUPERSAMPLED_SIDE = 4096


def template_for(crop_size: int) -> np.ndarray:
    """The landmark template scaled to a ``crop_size`` x ``crop_size`` crop."""
    return TEMPLATE_256 * (crop_size / TEMPLATE_SIZE)


def estimate_similarity(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Least-squares similarity transform (rotation, uniform scale, translation) taking ``src`` to ``dst``.

    Umeyama (1991) without reflection. Points are ``(N, 2)``; returns the ``(2, 3)`` matrix ``M`` with
    ``dst ~= src @ M[:, :2].T + M[:, 2]``.
    """
    src = np.asarray(src, dtype=np.float64)
    dst = np.asarray(dst, dtype=np.float64)
    if src.shape != dst.shape or src.ndim != 2 or src.shape[1] != 2 or len(src) < 2:
        raise ValueError(f"need two matching (N>=2, 2) point sets, got {src.shape} and {dst.shape}")
    src_mean, dst_mean = src.mean(0), dst.mean(0)
    src_c, dst_c = src - src_mean, dst - dst_mean
    src_var = (src_c ** 2).sum() / len(src)
    if src_var <= 1e-12:
        raise ValueError("source points are all the same point; no transform is defined")
    u, sigma, vt = np.linalg.svd(dst_c.T @ src_c / len(src))
    d = np.diag([1.0, np.sign(np.linalg.det(u) * np.linalg.det(vt)) or 1.0])  # forbid reflections
    rotation = u @ d @ vt
    scale = float((sigma * np.diag(d)).sum() / src_var)
    linear = scale * rotation
    return np.hstack([linear, (dst_mean - linear @ src_mean)[:, None]])


def invert_affine(matrix: np.ndarray) -> np.ndarray:
    """Inverse of a ``(2, 3)`` affine matrix, as a ``(2, 3)`` matrix."""
    linear_inv = np.linalg.inv(matrix[:, :2])
    return np.hstack([linear_inv, (-linear_inv @ matrix[:, 2])[:, None]])


def apply_affine(matrix: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Map ``(N, 2)`` points through a ``(2, 3)`` affine matrix."""
    return np.asarray(points, dtype=np.float64) @ matrix[:, :2].T + matrix[:, 2]


@dataclass(frozen=True)
class AlignedFace:
    """A face warped to the training crop.

    ``matrix`` maps photo coordinates to crop coordinates (``(2, 3)``, continuous pixels); ``image`` is the
    ``crop_size`` x ``crop_size`` RGB crop.
    """

    image: Image.Image
    matrix: np.ndarray

    @property
    def crop_size(self) -> int:
        return self.image.width


def align_face(photo: Image.Image, landmarks: np.ndarray, *, crop_size: int) -> AlignedFace:
    """Warp the face with these 5 landmarks to a ``crop_size`` square laid out like the training crops.

    Areas of the crop that fall outside the photo repeat its edge pixels (no black borders for the model to
    "restore"). When the face is larger than the crop it is warped at an integer multiple of ``crop_size`` and
    shrunk with PIL's antialiased bicubic, like the training LR protocol, instead of being point-sampled.
    """
    if crop_size < 8:
        raise ValueError(f"crop_size must be >= 8, got {crop_size}")
    if photo.mode != "RGB":
        raise ValueError(f"expected an RGB photo, got mode {photo.mode!r} (convert it first)")
    matrix = estimate_similarity(landmarks, template_for(crop_size))
    # 1. supersample when shrinking, so the final resize can antialias
    scale = math.sqrt(abs(np.linalg.det(matrix[:, :2])))
    factor = max(1, min(math.ceil(1.0 / scale - 1e-6), _MAX_SUPERSAMPLED_SIDE // crop_size))
    big_size = crop_size * factor
    big_matrix = matrix * factor  # scaling the output coordinates scales the whole affine map
    # 2. cut the photo region the crop reads from (with a bicubic-support margin), padding by edge replication
    to_photo = invert_affine(big_matrix)
    corners = apply_affine(to_photo, np.array([[0, 0], [big_size, 0], [0, big_size], [big_size, big_size]]))
    x0, y0 = np.floor(corners.min(0)).astype(int) - 3
    x1, y1 = np.ceil(corners.max(0)).astype(int) + 3
    region = Image.fromarray(crop_with_edge_padding(np.asarray(photo), x0, y0, x1, y1))
    # 3. warp: PIL wants the output->input map, here crop -> region coordinates
    to_region = to_photo - np.array([[0, 0, x0], [0, 0, y0]])
    crop = region.transform((big_size, big_size), Image.AFFINE, tuple(to_region.ravel()), resample=Image.BICUBIC)
    if factor > 1:
        crop = crop.resize((crop_size, crop_size), Image.BICUBIC)
    return AlignedFace(image=crop, matrix=matrix)


def crop_with_edge_padding(array: np.ndarray, x0: int, y0: int, x1: int, y1: int) -> np.ndarray:
    """``array[y0:y1, x0:x1]`` where out-of-range rows/columns repeat the nearest edge pixel."""
    height, width = array.shape[:2]
    if x1 <= x0 or y1 <= y0:
        raise ValueError(f"empty region ({x0}, {y0}, {x1}, {y1})")
    rows = np.clip(np.arange(y0, y1), 0, height - 1)
    cols = np.clip(np.arange(x0, x1), 0, width - 1)
    return array[rows[:, None], cols[None, :]]
