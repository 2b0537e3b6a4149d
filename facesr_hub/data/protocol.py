"""THE LR/HR protocol: how any photo becomes a 256x256 HR face and how HR becomes the 64x64 LR input.

Training, evaluation, benchmarks and the app all import these functions, so a model is always scored on exactly
the degradation it was trained on.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageOps

from ..images import split_alpha

HR_SIZE = 256
SCALE = 4
LR_SIZE = HR_SIZE // SCALE
CELEBA_ALIGNED_SIZE = (178, 218)  # (width, height) of CelebA's img_align_celeba JPEGs

def degrade(hr: torch.Tensor) -> torch.Tensor:
    """Make the LR input of the protocol from an HR batch, on the batch's own device.

    ``hr`` is a float tensor (B,C,H,W) in [0,1] with H and W multiples of 4. The result (B,C,H/4,W/4) is an
    antialiased bicubic downscale, clamped to [0,1] and quantised to 8 bits (what a saved LR image can hold).
    It keeps ``hr``'s dtype; the resampling itself runs in float32.
    """
    if hr.ndim != 4:
        raise ValueError(f"degrade expects a batch (B,C,H,W), got shape {tuple(hr.shape)}")
    if not hr.is_floating_point():
        raise ValueError(f"degrade expects a float tensor in [0,1], got {hr.dtype}; use hr.float() / 255")
    height, width = hr.shape[-2:]
    if height % SCALE or width % SCALE:
        raise ValueError(f"HR height and width must be multiples of {SCALE}, got {height}x{width}")
    # size=(H//4, W//4) rather than scale_factor=0.25 so the output size never depends on float rounding.
    return resize_8bit(hr, (height // SCALE, width // SCALE))


def resize_8bit(images: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """The protocol's kernel at any target size: antialiased bicubic in float32, clamped, quantised to 8 bits.

    ``images`` is a float batch (B,C,H,W) in [0,1]; the result keeps its dtype and device.
    """
    out = F.interpolate(images.float(), size=size, mode="bicubic", antialias=True, align_corners=False)
    return out.clamp_(0.0, 1.0).mul_(255.0).round_().div_(255.0).to(images.dtype)


def flatten_to_rgb(image: Image.Image) -> Image.Image:
    """Any PIL mode -> 8-bit RGB, upright.

    EXIF orientation is applied; transparency is composited over white (PIL's plain convert would expose
    whatever colour hides under alpha 0); 16-bit and float greyscale are rescaled instead of clipped at 255
    (:func:`facesr_hub.images.split_alpha` does the mode handling for the app, the CLI and here).
    """
    rgb, alpha = split_alpha(ImageOps.exif_transpose(image))
    if alpha is None:
        return rgb
    return Image.composite(rgb, Image.new("RGB", rgb.size, (255, 255, 255)), alpha)


def to_hr(image: Image.Image, *, celeba_aligned: bool) -> Image.Image:
    """Any photo -> the protocol's 256x256 RGB HR face.

    Centre-crop to a square, then PIL bicubic resize (antialiased when shrinking). For CelebA's aligned
    178x218 JPEGs (``celeba_aligned=True``) the square is the 178x178 face box; the flag checks the size so that
    a non-aligned CelebA image is refused rather than silently cropped differently.
    """
    image = flatten_to_rgb(image)
    width, height = image.size
    if celeba_aligned and (width, height) != CELEBA_ALIGNED_SIZE:
        raise ValueError(f"CelebA aligned images are {CELEBA_ALIGNED_SIZE[0]}x{CELEBA_ALIGNED_SIZE[1]}, "
                         f"got {width}x{height}")
    side = min(width, height)
    left, top = (width - side) // 2, (height - side) // 2
    image = image.crop((left, top, left + side, top + side))
    if side != HR_SIZE:
        image = image.resize((HR_SIZE, HR_SIZE), Image.Resampling.BICUBIC)
    return image


def pil_to_uint8(image: Image.Image) -> torch.Tensor:
    """RGB PIL image -> uint8 tensor (3,H,W)."""
    if image.mode != "RGB":
        raise ValueError(f"expected an RGB image, got mode {image.mode!r}; use flatten_to_rgb() first")
    return torch.from_numpy(np.array(image, dtype=np.uint8)).permute(2, 0, 1).contiguous()


def prepare_hr(image: Image.Image | str | Path, *, celeba_aligned: bool) -> torch.Tensor:
    """A PIL image or an image path -> HR uint8 tensor (3,256,256) under the protocol."""
    if isinstance(image, (str, Path)):
        with Image.open(image) as opened:
            return pil_to_uint8(to_hr(opened, celeba_aligned=celeba_aligned))
    return pil_to_uint8(to_hr(image, celeba_aligned=celeba_aligned))


def hr_to_float(hr: torch.Tensor) -> torch.Tensor:
    """uint8 HR tensor -> float32 in [0,1] (same shape and device)."""
    if hr.dtype != torch.uint8:
        raise ValueError(f"expected a uint8 tensor, got {hr.dtype}")
    return hr.float().div_(255.0)
