"""Training sources at their native resolution: HR patches are cut from the photo's own pixels, never upsampled.

The protocol's :func:`~facesr_hub.data.protocol.to_hr` resizes every photo to 256x256, which is right for
evaluation (one fixed HR size) but wrong for training on CelebA (178 px faces) or UTKFace (200 px): their HR
targets would be bicubic-upsampled, blurry images and a model learns to reproduce that blur. Here a source is only
ever *downscaled*, and only when its shorter side exceeds ``HR_SIZE`` (so faces keep the protocol's scale), then
centre-cropped to at most ``HR_SIZE`` x ``HR_SIZE``. Caches hold such images top-left in a 256x256 canvas with
their valid (height, width) beside them; :func:`~facesr_hub.data.sampling.random_hr_batch` crops inside it.
"""

from __future__ import annotations

from pathlib import Path

import torch
from PIL import Image

from .protocol import HR_SIZE, flatten_to_rgb, pil_to_uint8


def to_native(image: Image.Image, *, max_side: int = HR_SIZE) -> Image.Image:
    """Any photo -> RGB at its own resolution: shrunk (antialiased bicubic) only when its shorter side exceeds
    ``max_side``, then centre-cropped so that neither side exceeds ``max_side``. Never upsampled."""
    image = flatten_to_rgb(image)
    width, height = image.size
    if min(width, height) > max_side:
        ratio = max_side / min(width, height)
        width, height = max(max_side, round(width * ratio)), max(max_side, round(height * ratio))
        image = image.resize((width, height), Image.Resampling.BICUBIC, reducing_gap=None)
    crop_w, crop_h = min(width, max_side), min(height, max_side)
    if (crop_w, crop_h) != (width, height):
        left, top = (width - crop_w) // 2, (height - crop_h) // 2
        image = image.crop((left, top, left + crop_w, top + crop_h))
    return image


def prepare_native(image: Image.Image | str | Path, *, max_side: int = HR_SIZE) -> torch.Tensor:
    """A PIL image or an image path -> uint8 tensor (3,h,w) with h, w <= ``max_side`` (see :func:`to_native`)."""
    if isinstance(image, (str, Path)):
        with Image.open(image) as opened:
            return pil_to_uint8(to_native(opened, max_side=max_side))
    return pil_to_uint8(to_native(image, max_side=max_side))
