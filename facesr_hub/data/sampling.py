"""Batches from an HR cache tensor, made on the tensor's device: random training crops and whole-image batches."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import torch

from .protocol import SCALE


def random_hr_batch(images: torch.Tensor, batch_size: int, patch_size: int = 128, *,
                    generator: torch.Generator | None = None, flip: bool = True,
                    sizes: torch.Tensor | None = None, image_weights: torch.Tensor | None = None) -> torch.Tensor:
    """Random ``patch_size`` crops (and horizontal flips) of random images: float32 (B,3,p,p) in [0,1].

    ``images`` is a uint8 cache tensor (N,3,H,W) on any device; the crop is one gather on that device. Random
    numbers are drawn on ``generator``'s device (the default generator of ``images``' device when None), so a
    CPU generator gives the same batch for a CPU or a CUDA cache. ``sizes`` (N,2), for native caches
    (``HRImageCache.sizes``): each image's valid (height, width) at the top-left of its canvas; crops stay inside.
    ``image_weights`` (N,), on the generator's device: draw images with these relative probabilities (with
    replacement; see ``source_image_weights``) instead of uniformly. Pass the result through ``degrade`` for the LR
    input.
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

    if image_weights is None:
        index = draw(count)
    else:
        if tuple(image_weights.shape) != (count,):
            raise ValueError(f"image_weights must be ({count},), got {tuple(image_weights.shape)}")
        index = torch.multinomial(image_weights, batch_size, replacement=True, generator=generator).to(images.device)
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


def source_image_weights(origins: Sequence[int], source_weights: Sequence[float]) -> torch.Tensor:
    """Per-image sampling weights (N,) float64 that draw source ``k`` with probability ``source_weights[k] / sum``
    and its images uniformly; ``origins[i]`` is the source index of image ``i``.

    Uniform sampling by image lets the largest folder dominate; weighting by source lets a small but clean one
    (true-256 faces) supply a chosen share of the batches however many images each folder holds.
    """
    check_source_weights(source_weights)
    origin = torch.as_tensor(list(origins), dtype=torch.long)
    if origin.numel() == 0:
        raise ValueError("no images to weight")
    if int(origin.min()) < 0 or int(origin.max()) >= len(source_weights):
        raise ValueError(f"image origins must index the {len(source_weights)} sources, got {origin.unique().tolist()}")
    counts = torch.bincount(origin, minlength=len(source_weights))
    empty = [k for k, w in enumerate(source_weights) if w > 0 and counts[k] == 0]
    if empty:
        raise ValueError(f"sources {empty} have a positive weight but no images")
    per_source = torch.tensor([float(w) for w in source_weights], dtype=torch.float64)
    return per_source[origin] / counts[origin].to(torch.float64)


def check_source_weights(source_weights: Sequence[float], *, name: str = "source weights") -> None:
    """Raise ValueError unless every weight is >= 0 (and not NaN) and they sum to more than 0."""
    if not source_weights or any(not w >= 0 for w in source_weights) or not sum(source_weights) > 0:
        raise ValueError(f"{name} must be >= 0 with a positive sum, got {list(source_weights)}")
