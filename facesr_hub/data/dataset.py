"""A map-style torch Dataset of HR faces, decoded lazily (for DataLoader pipelines; training uses HRImageCache)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import torch
from torch.utils.data import Dataset

from .cache import decode_record
from .sources import ImageRecord, collect_images

logger = logging.getLogger(__name__)


class FaceDataset(Dataset[torch.Tensor]):
    """HR uint8 tensors (3,256,256) of one split of one or several roots.

    A file that cannot be decoded is logged, counted in ``skipped`` (per process: DataLoader workers keep their
    own count) and replaced by the next readable image, so an epoch never crashes on one bad file.
    """

    def __init__(self, roots: str | Path | Sequence[str | Path], *, split: str | None,
                 limit: int | None = None) -> None:
        self.records: list[ImageRecord] = collect_images(roots, split, limit=limit)
        self.bad: set[int] = set()

    @property
    def skipped(self) -> int:
        return len(self.bad)

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, index: int) -> torch.Tensor:
        if not -len(self) <= index < len(self):
            raise IndexError(f"index {index} out of range for {len(self)} images")
        index %= len(self)
        for offset in range(len(self)):
            candidate = (index + offset) % len(self)
            if candidate in self.bad:
                continue
            hr = decode_record(self.records[candidate])
            if hr is not None:
                return hr
            self.bad.add(candidate)
        raise ValueError(f"none of the {len(self)} images could be decoded (first: {self.records[0].path})")
