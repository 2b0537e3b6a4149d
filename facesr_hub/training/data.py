"""The trainer's view of the data: decoded HR caches for the train and val splits, and per-root counts for the card.

Everything here goes through ``facesr_hub.data`` (layouts, splits, decoding), so a missing or empty folder fails
with its errors before any model is built.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import torch

from ..data import HRImageCache, detect_layout, discover_images, make_lr, random_hr_batch, source_image_weights
from ..data.degradations import DegradationConfig
from ..hub import DataSource
from .config import TrainConfig

logger = logging.getLogger(__name__)

#: Keep the training cache on the GPU when it takes at most this share of the GPU's memory.
MAX_DEVICE_CACHE_FRACTION = 0.3


@dataclass(frozen=True)
class TrainData:
    """uint8 HR caches (N,3,256,256): ``train`` for crops, ``val`` (or None) for whole-image validation.

    ``train_sizes`` (N,2): each training image's valid (height, width) when the cache holds native-resolution
    images (``--hr-source native``), None when every image fills its 256x256 canvas. ``train_weights`` (N,) float64
    on the CPU: each image's sampling weight under ``--source-weights``, None for uniform sampling by image.
    """

    train: torch.Tensor
    val: torch.Tensor | None
    sources: list[DataSource]
    train_sizes: torch.Tensor | None = None
    train_weights: torch.Tensor | None = None


def load_train_data(config: TrainConfig) -> TrainData:
    """Discover every ``--data`` root, then decode the train split and up to ``val_images`` of the val split."""
    sources = []
    origin_of: dict[Path, int] = {}  # training file -> index of its --data root, for --source-weights
    for index, root in enumerate(config.data):
        # Resolved, as HRImageCache.from_roots resolves them, so the cache's paths are keys of origin_of.
        resolved = Path(root).resolve()
        records = discover_images(resolved)  # FileNotFoundError / NotADirectoryError / ValueError with the folder named
        origin_of.update((r.path, index) for r in records if r.split == "train")
        sources.append(DataSource(root=str(resolved), layout=detect_layout(root),
                                  train_images=sum(r.split == "train" for r in records),
                                  val_images=sum(r.split == "val" for r in records)))
    if not sum(s.train_images for s in sources):
        raise ValueError(f"no training images (train split) in {', '.join(config.data)}")
    # Training patches come from native pixels (never upsampled); validation stays on the 256x256 protocol.
    train = HRImageCache.from_roots(config.data, "train", limit=config.max_train_images,
                                    num_workers=config.num_workers, native=config.hr_source == "native")
    val = None
    if config.val_images:
        if not sum(s.val_images for s in sources):
            raise ValueError(f"no validation images (val split) in {', '.join(config.data)}; add a folder with "
                             "more images or pass --val-images 0 to train without validation")
        val = HRImageCache.from_roots(config.data, "val", limit=config.val_images,
                                      num_workers=config.num_workers).images
    weights = None
    if config.source_weights is not None:
        weights = source_image_weights([origin_of[path] for path in train.paths or ()], config.source_weights)
    logger.info("training on %d images, validating on %d", len(train), 0 if val is None else len(val))
    return TrainData(train=train.images, val=val, sources=sources, train_sizes=train.sizes, train_weights=weights)


def place_cache(images: torch.Tensor, device: torch.device) -> torch.Tensor:
    """The training cache on the GPU when it fits comfortably (crops are then one gather there), else pinned RAM."""
    if device.type != "cuda":
        return images
    total = torch.cuda.get_device_properties(device).total_memory
    if images.nbytes <= MAX_DEVICE_CACHE_FRACTION * total:
        return images.to(device)
    return images.pin_memory()


def training_batch(images: torch.Tensor, batch_size: int, patch_size: int, seed: int, device: torch.device, *,
                   sizes: torch.Tensor | None = None, image_weights: torch.Tensor | None = None,
                   degradation: str = "bicubic",
                   degradation_config: DegradationConfig | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """(LR, HR) for one step: random crops and flips of the cache (inside ``sizes`` for native caches; images drawn
    by ``image_weights`` when given), degraded on ``device`` by the protocol or the realistic chain."""
    generator = torch.Generator().manual_seed(seed)  # CPU generator: same crops and degradations on any device
    hr = random_hr_batch(images, batch_size, patch_size, generator=generator, sizes=sizes,
                         image_weights=image_weights)
    hr = hr.to(device, non_blocking=True)
    return make_lr(hr, degradation, config=degradation_config, generator=generator), hr
