"""Decode HR faces once into one in-memory uint8 tensor (decoding JPEGs every step starves a GPU)."""

from __future__ import annotations

import hashlib
import logging
import os
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import torch
from PIL import Image

from .native import prepare_native
from .protocol import HR_SIZE, prepare_hr
from .sources import ImageRecord, collect_images

logger = logging.getLogger(__name__)

# What a bad file can raise while PIL opens, decodes or crops it (UnidentifiedImageError and truncated data are
# OSErrors; a wrongly sized "aligned" CelebA image is a ValueError). Anything else is a bug and should surface.
DECODE_ERRORS = (OSError, ValueError, SyntaxError, Image.DecompressionBombError)


def decode_record(record: ImageRecord, *, native: bool = False) -> torch.Tensor | None:
    """HR uint8 (3,256,256) of one record (``native``: (3,h,w) at its own resolution, see ``data.native``), or
    None (with a logged warning) when the file cannot be read."""
    try:
        if native:
            return prepare_native(record.path)
        return prepare_hr(record.path, celeba_aligned=record.celeba_aligned)
    except DECODE_ERRORS as error:
        logger.warning("skipping unreadable image %s: %s: %s", record.path, type(error).__name__, error)
        return None


def default_num_workers() -> int:
    """Decoder threads: PIL releases the GIL while decoding and resizing, so threads scale with cores."""
    return max(1, min(16, os.cpu_count() or 1))


def pixel_hash(hr: torch.Tensor) -> str:
    """SHA-256 of one uint8 image (C,H,W) and its shape: finds the same HR image in two splits."""
    if hr.dtype != torch.uint8 or hr.ndim != 3:
        raise ValueError(f"pixel_hash expects one uint8 image (C,H,W), got {hr.dtype} {tuple(hr.shape)}")
    digest = hashlib.sha256(str(tuple(hr.shape)).encode())
    digest.update(hr.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()


@dataclass(frozen=True)
class HRImageCache:
    """N decoded HR images as one uint8 tensor (N,3,256,256) plus their names, in discovery order.

    ``skipped`` counts files that could not be decoded (each one logged). ``sizes`` (N,2) int64, set for native
    caches only, holds each image's valid (height, width): the image sits top-left, the rest of its canvas is 0.
    ``paths``: each image's file (set by ``from_records``), so a caller can tell which root an image came from.
    """

    images: torch.Tensor
    names: tuple[str, ...]
    skipped: int = 0
    sizes: torch.Tensor | None = None
    paths: tuple[Path, ...] | None = None

    def __post_init__(self) -> None:
        if self.images.dtype != torch.uint8 or self.images.ndim != 4 or self.images.shape[1] != 3:
            raise ValueError(f"images must be uint8 (N,3,H,W), got {self.images.dtype} {tuple(self.images.shape)}")
        if len(self.names) != self.images.shape[0]:
            raise ValueError(f"{len(self.names)} names for {self.images.shape[0]} images")
        if self.sizes is not None and tuple(self.sizes.shape) != (self.images.shape[0], 2):
            raise ValueError(f"sizes must be (N,2) for {self.images.shape[0]} images, got {tuple(self.sizes.shape)}")
        if self.paths is not None and len(self.paths) != self.images.shape[0]:
            raise ValueError(f"{len(self.paths)} paths for {self.images.shape[0]} images")

    def __len__(self) -> int:
        return self.images.shape[0]

    def to(self, device: torch.device | str) -> HRImageCache:
        """The same cache with its tensor on ``device`` (6k images are 1.2 GB)."""
        sizes = None if self.sizes is None else self.sizes.to(device)
        return HRImageCache(self.images.to(device), self.names, self.skipped, sizes, self.paths)

    @classmethod
    def from_records(cls, records: Sequence[ImageRecord], *, num_workers: int | None = None,
                     native: bool = False) -> HRImageCache:
        """Decode ``records`` in a thread pool straight into one preallocated tensor.

        ``native``: keep each image at its own resolution (training patches; see ``facesr_hub.data.native``)
        instead of the protocol's 256x256 HR face.
        """
        if not records:
            raise ValueError("no images to decode")
        num_workers = default_num_workers() if num_workers is None else num_workers
        if num_workers < 1:
            raise ValueError(f"num_workers must be >= 1, got {num_workers}")
        # Native images smaller than the canvas leave zeros around them (never read: crops stay inside ``sizes``).
        images = (torch.zeros if native else torch.empty)((len(records), 3, HR_SIZE, HR_SIZE), dtype=torch.uint8)
        sizes = torch.zeros((len(records), 2), dtype=torch.int64)

        def decode_into(index: int) -> bool:
            hr = decode_record(records[index], native=native)
            if hr is None:
                return False
            height, width = hr.shape[-2:]
            images[index, :, :height, :width].copy_(hr)
            sizes[index] = torch.tensor((height, width))
            return True

        start = time.perf_counter()
        if num_workers == 1:
            ok = [decode_into(i) for i in range(len(records))]
        else:
            with ThreadPoolExecutor(max_workers=num_workers, thread_name_prefix="hr-decode") as pool:
                ok = list(pool.map(decode_into, range(len(records))))
        keep = [i for i, good in enumerate(ok) if good]
        skipped = len(records) - len(keep)
        if not keep:
            raise ValueError(f"none of the {len(records)} images could be decoded (first: {records[0].path})")
        if skipped:
            logger.warning("skipped %d of %d unreadable images", skipped, len(records))
            images, sizes = images[keep], sizes[keep]
        logger.info("decoded %d HR images in %.1f s", len(keep), time.perf_counter() - start)
        return cls(images, tuple(records[i].name for i in keep), skipped, sizes if native else None,
                   tuple(records[i].path for i in keep))

    @classmethod
    def from_roots(cls, roots: str | Path | Sequence[str | Path], split: str | None, *, limit: int | None = None,
                   num_workers: int | None = None, native: bool = False) -> HRImageCache:
        """Discover one split of one or several roots and decode it (see ``collect_images`` for ``limit``)."""
        return cls.from_records(collect_images(roots, split, limit=limit), num_workers=num_workers, native=native)
