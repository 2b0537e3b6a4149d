"""The trainer's view of the data: decoded HR caches for the train and val splits, and per-root counts for the card.

Everything here goes through ``facesr_hub.data`` (layouts, splits, decoding), so a missing or empty folder fails
with its errors before any model is built.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import torch

from ..data import HRImageCache, degrade, detect_layout, discover_images, random_hr_batch
from ..hub import DataSource
from .config import TrainConfig

logger = logging.getLogger(__name__)

#: Keep the training cache on the GPU when it takes at most this share of the GPU's memory.
MAX_DEVICE_CACHE_FRACTION = 0.3


@dataclass(frozen=True)
class TrainData:
    """uint8 HR caches (N,3,256,256): ``train`` for crops, ``val`` (or None) for whole-image validation."""

    train: torch.Tensor
    val: torch.Tensor | None
    sources: list[DataSource]


def load_train_data(config: TrainConfig) -> TrainData:
    """Discover every ``--data`` root, then decode the train split and up to ``val_images`` of the val split."""
    sources = []
    for root in config.data:
        records = discover_images(root)  # FileNotFoundError / NotADirectoryError / ValueError with the folder named
        sources.append(DataSource(root=str(Path(root).resolve()), layout=detect_layout(root),
                                  train_images=sum(r.split == "train" for r in records),
                                  val_images=sum(r.split == "val" for r in records)))
    if not sum(s.train_images for s in sources):
        raise ValueError(f"no training images (train split) in {', '.join(config.data)}")
    train = HRImageCache.from_roots(config.data, "train", limit=config.max_train_images,
                                    num_workers=config.num_workers)
    val = None
    if config.val_images:
        if not sum(s.val_images for s in sources):
            raise ValueError(f"no validation images (val split) in {', '.join(config.data)}; add a folder with "
                             "more images or pass --val-images 0 to train without validation")
        val = HRImageCache.from_roots(config.data, "val", limit=config.val_images,
                                      num_workers=config.num_workers).images
    logger.info("training on %d images, validating on %d", len(train), 0 if val is None else len(val))
    return TrainData(train=train.images, val=val, sources=sources)


def place_cache(images: torch.Tensor, device: torch.device) -> torch.Tensor:
    """The training cache on the GPU when it fits comfortably (crops are then one gather there), else pinned RAM."""
    if device.type != "cuda":
        return images
    total = torch.cuda.get_device_properties(device).total_memory
    if images.nbytes <= MAX_DEVICE_CACHE_FRACTION * total:
        return images.to(device)
    return images.pin_memory()


def training_batch(images: torch.Tensor, batch_size: int, patch_size: int, seed: int,
                   device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """(LR, HR) for one step: random crops and flips of the cache, degraded on ``device``."""
    generator = torch.Generator().manual_seed(seed)  # CPU generator: same crops whatever the device
    hr = random_hr_batch(images, batch_size, patch_size, generator=generator)
    hr = hr.to(device, non_blocking=True)
    return degrade(hr), hr
