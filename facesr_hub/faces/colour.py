"""Monochrome photos: tell them apart, and restore only their brightness.

A face model trained on colour faces draws colour where a black-and-white or toned (sepia, cyanotype) scan has
none: grey eyes come out blue, lips pink. On such photos the restored face's luminance is kept and its chroma is
replaced by the photo's own, so the restoration sharpens without colouring. Luminance and chroma are BT.601
YCbCr, the transform PIL's ``convert("YCbCr")`` uses.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

# ``chroma_spread`` at or below which a photo counts as monochrome. Ten scans of 1850-1920 photographs measured
# 0-11.6 (seven at or below 10.5); of 4,300 CelebA, CelebA-HQ and UTKFace faces, the colour ones measured 10.8 and
# up, the few below were black-and-white photographs themselves.
MONOCHROME_CHROMA_SPREAD = 10.5
_MEASURE_SIZE = 256  # chroma spread is measured on a copy this size at most: it is a global property
_LUMA_BINS = 16

_RGB_TO_YCBCR = np.array([[0.299, 0.587, 0.114],
                          [-0.168736, -0.331264, 0.5],
                          [0.5, -0.418688, -0.081312]], dtype=np.float32)
_YCBCR_TO_RGB = np.linalg.inv(_RGB_TO_YCBCR).astype(np.float32)


def chroma_spread(photo: Image.Image) -> float:
    """How far the photo's colours stray from one tone, in chroma levels.

    A monochrome print's colour is a function of its brightness (grey: none; sepia: dark brown to cream), so each
    pixel's chroma (Cb, Cr) is compared with the median chroma of the pixels of similar luminance; the result is
    the 99th percentile of that distance. In a colour photo, skin, cloth and sky of one brightness differ in hue.
    """
    shrink = max(1.0, max(photo.size) / _MEASURE_SIZE)  # resized straight from the photo: no full-size copy
    size = (max(1, round(photo.width / shrink)), max(1, round(photo.height / shrink)))
    small = photo.resize(size, Image.Resampling.BILINEAR, reducing_gap=2.0).convert("RGB")
    ycc = np.asarray(small, dtype=np.float32).reshape(-1, 3) @ _RGB_TO_YCBCR.T  # (N, 3): Y, Cb, Cr
    bins = np.minimum((ycc[:, 0] / 256 * _LUMA_BINS).astype(int), _LUMA_BINS - 1)
    residual = np.empty_like(ycc[:, 1:])
    for index in np.unique(bins):
        members = bins == index
        residual[members] = ycc[members, 1:] - np.median(ycc[members, 1:], axis=0)
    return float(np.percentile(np.hypot(residual[:, 0], residual[:, 1]), 99))


def is_monochrome(photo: Image.Image) -> bool:
    """True for black-and-white and single-toned photos (see ``MONOCHROME_CHROMA_SPREAD``)."""
    return photo.mode in ("L", "LA", "1") or chroma_spread(photo) <= MONOCHROME_CHROMA_SPREAD


def with_chroma_of(face: np.ndarray, photo: np.ndarray) -> np.ndarray:
    """``face``'s luminance with ``photo``'s chroma; both float ``(h, w, 3)`` RGB in 0-255 levels."""
    face_ycc = face @ _RGB_TO_YCBCR.T
    face_ycc[..., 1:] = (photo @ _RGB_TO_YCBCR[1:].T)
    return face_ycc @ _YCBCR_TO_RGB.T
