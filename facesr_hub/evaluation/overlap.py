"""Refuse to score a model on its own training images: file-name and pixel-hash overlap with the training split."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..data import ImageRecord, collect_images, decode_record, pixel_hash


class TrainingOverlapError(ValueError):
    """Evaluation images that are also training images."""


@dataclass(frozen=True)
class OverlapReport:
    """What was compared and what matched: (evaluation name, training name) pairs."""

    train_roots: tuple[str, ...]
    train_count: int
    name_matches: list[tuple[str, str]] = field(default_factory=list)
    pixel_matches: list[tuple[str, str]] = field(default_factory=list)

    @property
    def overlapping(self) -> bool:
        return bool(self.name_matches or self.pixel_matches)

    def summary(self) -> str:
        if not self.overlapping:
            return (f"no overlap with the {self.train_count} training images of {', '.join(self.train_roots)} "
                    "(file names and protocol-HR pixel hashes)")
        pixels = {e for e, _ in self.pixel_matches}
        names = {e for e, _ in self.name_matches}
        examples = ", ".join(sorted(pixels | names)[:5])
        return (f"OVERLAP with training split of {', '.join(self.train_roots)}: {len(names)} file names and "
                f"{len(pixels)} identical HR images (e.g. {examples})")


def _base_name(name: str) -> str:
    return name.replace("\\", "/").rsplit("/", 1)[-1]


def _hashes(records: Sequence[ImageRecord]) -> dict[str, list[str]]:
    """pixel hash -> names, over the protocol HR (so a re-saved PNG of the same JPEG is not caught; a copy is)."""
    table: dict[str, list[str]] = {}
    for record in records:
        hr = decode_record(record)
        if hr is not None:
            table.setdefault(pixel_hash(hr), []).append(record.name)
    return table


def check_no_training_overlap(eval_files: Sequence[ImageRecord], train_roots: str | Path | Sequence[str | Path], *,
                              strict: bool = True) -> OverlapReport:
    """Compare evaluation images with the ``train`` split of ``train_roots`` (as ``facesr_hub.data`` splits it).

    Two checks: equal base file names (conservative: a shared name is flagged even if the pictures differ), and
    equal SHA-256 of the HR image under the protocol (catches renamed copies; not near-duplicates such as
    re-encoded or re-cropped versions of one photo).

    Raises:
        TrainingOverlapError: when ``strict`` and anything matches; otherwise the report says so.
    """
    roots = [train_roots] if isinstance(train_roots, (str, Path)) else list(train_roots)
    train = collect_images(roots, "train")
    by_name: dict[str, list[str]] = {}
    for record in train:
        by_name.setdefault(_base_name(record.name), []).append(record.name)
    name_matches = [(r.name, t) for r in eval_files for t in by_name.get(_base_name(r.name), [])]
    train_hashes = _hashes(train)
    pixel_matches = [(e, t) for digest, names in _hashes(eval_files).items()
                     for e in names for t in train_hashes.get(digest, [])]
    report = OverlapReport(tuple(str(r) for r in roots), len(train), name_matches, pixel_matches)
    if strict and report.overlapping:
        raise TrainingOverlapError(report.summary())
    return report
