"""Paste a restored face crop back into a photo: inverse warp, feathered mask, colour and brightness match.

The restored crop lives in "crop" coordinates (the aligned training crop, enlarged by the face model's scale); the
photo being assembled (the canvas) may be the original photo (x1) or an enlargement of it (x2, x4). One affine
map, canvas -> restored crop, covers every case, so faces are pasted at whatever scale the output has.

A face model may shift colours or brightness slightly (InstanceNorm + Tanh generators measurably do; so can a
model trained on other data), and a shift shows as a box around the face however soft the mask is. Before
blending, the restored face's mean colour under the mask is therefore matched, per channel, to the mean of the
photo it replaces (Reinhard-style mean transfer): the face keeps its detail, the photo keeps its colours. On
monochrome photos the face may keep only its luminance (:mod:`facesr_hub.faces.colour`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from PIL import Image

from .alignment import apply_affine, invert_affine
from .colour import with_chroma_of

# Feathered mask, as fractions of the crop side: fully transparent for the outer MARGIN (the crop border may hold
# edge-replicated padding and interpolation fall-off), then a smooth ramp over FEATHER up to opaque.
MASK_MARGIN = 0.03
MASK_FEATHER = 0.12


def face_mask(size: int) -> np.ndarray:
    """Soft ``(size, size)`` float32 mask in [0, 1]: 0 at the border, smoothstep ramp, 1 in the middle."""
    centres = np.arange(size, dtype=np.float32) + 0.5
    to_border = np.minimum(centres, size - centres)  # distance of each pixel centre to the nearest border
    ramp = np.clip((to_border - MASK_MARGIN * size) / (MASK_FEATHER * size), 0.0, 1.0)
    ramp = ramp * ramp * (3.0 - 2.0 * ramp)
    return np.minimum(ramp[:, None], ramp[None, :])


def canvas_to_crop(matrix: np.ndarray, *, face_scale: float, scale: float) -> np.ndarray:
    """The ``(2, 3)`` map from canvas pixels to restored-crop pixels.

    ``matrix`` maps photo -> aligned crop (``[A | t]``); the canvas is the photo ``scale``x, the restored crop the
    aligned crop ``face_scale``x. A canvas point ``c`` is the photo point ``c / scale``, so its restored-crop
    position is ``face_scale * (A c / scale + t)``.
    """
    if scale <= 0 or face_scale <= 0:
        raise ValueError(f"scales must be positive, got scale={scale}, face_scale={face_scale}")
    return np.hstack([matrix[:, :2] * (face_scale / scale), matrix[:, 2:] * face_scale])


@dataclass(frozen=True)
class PasteWindow:
    """Where a restored face lands on the canvas: the box ``(x0, y0, x1, y1)``, the face warped into it (float32
    ``(h, w, 3)``) and the mask's weight per pixel (float32 ``(h, w)``, 0 = keep the canvas, 1 = the face)."""

    box: tuple[int, int, int, int]
    face: np.ndarray
    alpha: np.ndarray


def warp_face(restored: Image.Image, to_crop: np.ndarray, canvas_size: tuple[int, int]) -> PasteWindow | None:
    """Warp ``restored`` and its feathered mask into canvas pixels; ``None`` when the face misses the canvas."""
    size = restored.width
    to_crop = to_crop.copy()
    # 1. a face smaller on the canvas than the restored crop: shrink the crop first (antialiased), not in the warp
    shrink = math.sqrt(abs(np.linalg.det(to_crop[:, :2])))
    if shrink > 1.0:
        new_size = max(8, math.ceil(size / shrink))
        to_crop *= new_size / size
        restored = restored.resize((new_size, new_size), Image.Resampling.BICUBIC)
        size = new_size
    # 2. the canvas window covered by the crop
    corners = apply_affine(invert_affine(to_crop), np.array([[0, 0], [size, 0], [0, size], [size, size]]))
    width, height = canvas_size
    x0, y0 = np.maximum(np.floor(corners.min(0)).astype(int), 0)
    x1, y1 = np.minimum(np.ceil(corners.max(0)).astype(int), [width, height])
    if x1 <= x0 or y1 <= y0:
        return None
    # 3. warp crop and mask into the window (PIL wants the output -> input map)
    window_to_crop = to_crop.copy()
    window_to_crop[:, 2] += to_crop[:, :2] @ np.array([x0, y0], dtype=np.float64)
    coeffs = tuple(window_to_crop.ravel())
    window_size = (int(x1 - x0), int(y1 - y0))
    face = restored.transform(window_size, Image.Transform.AFFINE, coeffs, resample=Image.Resampling.BICUBIC)
    mask = Image.fromarray(face_mask(size)).transform(window_size, Image.Transform.AFFINE, coeffs,
                                                      resample=Image.Resampling.BILINEAR)  # mode "F"
    return PasteWindow(box=(int(x0), int(y0), int(x1), int(y1)), face=np.asarray(face, dtype=np.float32),
                       alpha=np.asarray(mask, dtype=np.float32))


def match_colour(face: np.ndarray, photo: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """``face`` shifted per channel so that its mean under ``alpha`` equals ``photo``'s (both ``(h, w, 3)``)."""
    weight = alpha[..., None]
    total = float(weight.sum())
    if total <= 0.0:
        return face
    shift = (weight * (photo - face)).sum(axis=(0, 1)) / total  # (3,): mean(photo) - mean(face) under the mask
    return face + shift.astype(np.float32)


def paste_face(canvas: Image.Image, restored: Image.Image, to_crop: np.ndarray, *,
               colour_match: bool = True, photo_chroma: bool = False) -> PasteWindow | None:
    """Blend ``restored`` into the RGB ``canvas`` in place through the feathered mask; returns where it went.

    ``photo_chroma`` keeps only the face's luminance and takes its chroma from the canvas (monochrome photos).
    Only the face's window is converted to float: canvases can hold tens of megapixels.
    """
    window = warp_face(restored, to_crop, canvas.size)
    if window is None:
        return None
    photo = np.asarray(canvas.crop(window.box), dtype=np.float32)
    face = match_colour(window.face, photo, window.alpha) if colour_match else window.face
    if photo_chroma:
        face = with_chroma_of(face, photo)
    photo += window.alpha[..., None] * (face - photo)
    canvas.paste(Image.fromarray(np.clip(np.rint(photo), 0, 255).astype(np.uint8)), window.box[:2])
    return window
