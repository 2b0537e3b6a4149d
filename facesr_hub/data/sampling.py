"""Batches from an HR cache tensor, made on the tensor's device: random training crops and whole-image batches."""

from __future__ import annotations

from collections.abc import Iterator

import torch

from .protocol import SCALE


def random_hr_batch(images: torch.Tensor, batch_size: int, patch_size: int = 128, *,
                    generator: torch.Generator | None = None, flip: bool = True,
                    sizes: torch.Tensor | None = None) -> torch.Tensor:
    """Random ``patch_size`` crops (and horizontal flips) of random images: float32 (B,3,p,p) in [0,1].

    ``images`` is a uint8 cache tensor (N,3,H,W) on any device; the crop is one gather on that device. Random
    numbers are drawn on ``generator``'s device (the default generator of ``images``' device when None), so a
    CPU generator gives the same batch for a CPU or a CUDA cache. ``sizes`` (N,2), for native caches
    (``HRImageCache.sizes``): each image's valid (height, width) at the top-left of its canvas; crops stay inside.
    Pass the result through ``degrade`` for the LR input.
    """
    if images.dtype != torch.uint8 or images.ndim != 4:
        raise ValueError(f"images must be a uint8 tensor (N,C,H,W), got {images.dtype} {tuple(images.shape)}")
    count, _, height, width = images.shape
    if count == 0:
        raise ValueError("images is empty")
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    smallest = min(height, width) if sizes is None else int(sizes.min())
    if patch_size < SCALE or patch_size % SCALE or patch_size > smallest:
        raise ValueError(f"patch_size must be a positive multiple of {SCALE} and at most {smallest} (the smallest "
                         f"image side), got {patch_size}")
    rng_device = generator.device if generator is not None else images.device

    def draw(high: int) -> torch.Tensor:
        return torch.randint(high, (batch_size,), generator=generator, device=rng_device).to(images.device)

    index = draw(count)
    if sizes is None:
        top, left = draw(height - patch_size + 1), draw(width - patch_size + 1)
    else:
        # Uniform offsets per image: floor(u * (valid - p + 1)) with u in [0,1), drawn on the same generator.
        room = (sizes.to(images.device)[index] - patch_size + 1).float()  # (B,2)
        u = torch.rand((batch_size, 2), generator=generator, device=rng_device).to(images.device)
        offsets = (u * room).long().minimum(room.long() - 1)
        top, left = offsets[:, 0], offsets[:, 1]
    flipped = draw(2).bool() if flip else torch.zeros(batch_size, dtype=torch.bool, device=images.device)
    steps = torch.arange(patch_size, device=images.device)
    rows = top[:, None] + steps  # (B,p)
    # A flipped crop reads its columns right to left, so the flip costs nothing beyond the gather.
    cols = torch.where(flipped[:, None], left[:, None] + patch_size - 1 - steps, left[:, None] + steps)  # (B,p)
    # Advanced indices around the channel slice put the indexed dims first: (B,p,p,C).
    crops = images[index[:, None, None], :, rows[:, :, None], cols[:, None, :]]
    return crops.permute(0, 3, 1, 2).float().div_(255.0).contiguous()


def iter_hr_batches(images: torch.Tensor, batch_size: int, *,
                    device: torch.device | str | None = None) -> Iterator[torch.Tensor]:
    """Whole images in order as float32 batches in [0,1] (validation and evaluation), moved to ``device``."""
    if images.dtype != torch.uint8 or images.ndim != 4:
        raise ValueError(f"images must be a uint8 tensor (N,C,H,W), got {images.dtype} {tuple(images.shape)}")
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    for start in range(0, images.shape[0], batch_size):
        batch = images[start:start + batch_size]
        yield (batch if device is None else batch.to(device)).float().div_(255.0)
