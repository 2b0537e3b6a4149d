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

from .protocol import HR_SIZE, prepare_hr
from .sources import ImageRecord, collect_images

logger = logging.getLogger(__name__)

# What a bad file can raise while PIL opens, decodes or crops it (UnidentifiedImageError and truncated data are
# OSErrors; a wrongly sized "aligned" CelebA image is a ValueError). Anything else is a bug and should surface.
DECODE_ERRORS = (OSError, ValueError, SyntaxError, Image.DecompressionBombError)


def decode_record(record: ImageRecord) -> torch.Tensor | None:
    """HR uint8 (3,256,256) of one record, or None (with a logged warning) when the file cannot be read."""
    try:
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

    ``skipped`` counts files that could not be decoded (each one logged).
    """

    images: torch.Tensor
    names: tuple[str, ...]
    skipped: int = 0

    def __post_init__(self) -> None:
        if self.images.dtype != torch.uint8 or self.images.ndim != 4 or self.images.shape[1] != 3:
            raise ValueError(f"images must be uint8 (N,3,H,W), got {self.images.dtype} {tuple(self.images.shape)}")
        if len(self.names) != self.images.shape[0]:
            raise ValueError(f"{len(self.names)} names for {self.images.shape[0]} images")

    def __len__(self) -> int:
        return self.images.shape[0]

    def to(self, device: torch.device | str) -> HRImageCache:
        """The same cache with its tensor on ``device`` (6k images are 1.2 GB)."""
        return HRImageCache(self.images.to(device), self.names, self.skipped)

    @classmethod
    def from_records(cls, records: Sequence[ImageRecord], *, num_workers: int | None = None) -> HRImageCache:
        """Decode ``records`` in a thread pool straight into one preallocated tensor."""
        if not records:
            raise ValueError("no images to decode")
        num_workers = default_num_workers() if num_workers is None else num_workers
        if num_workers < 1:
            raise ValueError(f"num_workers must be >= 1, got {num_workers}")
        images = torch.empty((len(records), 3, HR_SIZE, HR_SIZE), dtype=torch.uint8)

        def decode_into(index: int) -> bool:
            hr = decode_record(records[index])
            if hr is None:
                return False
            images[index].copy_(hr)
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
            images = images[keep]
        logger.info("decoded %d HR images in %.1f s", len(keep), time.perf_counter() - start)
        return cls(images, tuple(records[i].name for i in keep), skipped)

    @classmethod
    def from_roots(cls, roots: str | Path | Sequence[str | Path], split: str | None, *, limit: int | None = None,
                   num_workers: int | None = None) -> HRImageCache:
        """Discover one split of one or several roots and decode it (see ``collect_images`` for ``limit``)."""
        return cls.from_records(collect_images(roots, split, limit=limit), num_workers=num_workers)
