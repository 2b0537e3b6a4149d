"""Where HR faces come from: layout detection, file discovery and the train/val/test split.

Three layouts are recognised automatically:
- ``celeba-kaggle``: ``root/list_eval_partition.csv`` (image_id,partition) and
  ``root/img_align_celeba/img_align_celeba/*.jpg`` (the inner folder may be missing);
- ``celeba-torchvision``: what ``torchvision.datasets.CelebA`` reads, ``root/celeba/list_eval_partition.txt``
  (space separated) and ``root/celeba/img_align_celeba/*.jpg`` (``root`` may also be the ``celeba`` folder).
  torchvision's own class is not used: it insists on every annotation file with matching MD5s, which a
  subset or a split-only copy does not have;
- ``folder``: any folder of images, searched recursively.
CelebA uses its official partition; other folders get a deterministic split from a SHA-1 of the file name.
"""

from __future__ import annotations

import csv
import hashlib
import logging
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..images import IMAGE_EXTENSIONS

logger = logging.getLogger(__name__)

SPLITS = ("train", "val", "test")
HASH_SPLIT_FRACTIONS = {"train": 0.90, "val": 0.05, "test": 0.05}
LAYOUTS = ("celeba-kaggle", "celeba-torchvision", "folder")
_CELEBA_PARTITIONS = {"0": "train", "1": "val", "2": "test"}


@dataclass(frozen=True)
class ImageRecord:
    """One HR source image: where it is, its name (relative to its root; the image id for CelebA), its split,
    and whether it is a CelebA aligned crop."""

    path: Path
    name: str
    split: str
    celeba_aligned: bool


def hash_split(file_name: str) -> str:
    """Deterministic split of a file by its base name (same on every machine, any file order, any hash seed)."""
    base = file_name.replace("\\", "/").rsplit("/", 1)[-1]
    u = int.from_bytes(hashlib.sha1(base.encode("utf-8")).digest()[:8], "big") / 2**64
    if u < HASH_SPLIT_FRACTIONS["train"]:
        return "train"
    if u < HASH_SPLIT_FRACTIONS["train"] + HASH_SPLIT_FRACTIONS["val"]:
        return "val"
    return "test"


def _check_split(split: str | None) -> None:
    if split is not None and split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS} (or None for all), got {split!r}")


def _check_root(root: Path) -> None:
    if not root.exists():
        raise FileNotFoundError(f"data folder not found: {root}")
    if not root.is_dir():
        raise NotADirectoryError(f"data root is not a folder: {root}")


def _celeba_files(root: Path) -> tuple[str, Path, Path] | None:
    """(layout, partition file, image folder) when ``root`` is a CelebA root, else None."""
    if (root / "list_eval_partition.csv").is_file():
        images = root / "img_align_celeba"
        if (images / "img_align_celeba").is_dir():
            images = images / "img_align_celeba"
        return "celeba-kaggle", root / "list_eval_partition.csv", images
    for base in (root / "celeba", root):
        if (base / "list_eval_partition.txt").is_file():
            return "celeba-torchvision", base / "list_eval_partition.txt", base / "img_align_celeba"
    return None


def detect_layout(root: str | Path) -> str:
    """Which of ``LAYOUTS`` ``root`` is."""
    root = Path(root)
    _check_root(root)
    found = _celeba_files(root)
    return found[0] if found else "folder"


def _read_partition(partition_file: Path) -> list[tuple[str, str]]:
    """(file name, split) rows of a CelebA partition file, CSV with header or torchvision's space-separated txt."""
    rows: list[tuple[str, str]] = []
    with open(partition_file, newline="", encoding="utf-8") as handle:
        if partition_file.suffix == ".csv":
            reader = csv.reader(handle)
            header = next(reader, None)
            if header is None or [h.strip() for h in header[:2]] != ["image_id", "partition"]:
                raise ValueError(f"{partition_file}: expected header 'image_id,partition', got {header}")
            lines = ((i + 2, row) for i, row in enumerate(reader))
        else:
            lines = ((i + 1, line.split()) for i, line in enumerate(handle))
        for line_number, fields in lines:
            if not fields:
                continue
            if len(fields) != 2 or fields[1].strip() not in _CELEBA_PARTITIONS:
                raise ValueError(f"{partition_file}:{line_number}: expected '<image> <0|1|2>', got {fields}")
            rows.append((fields[0].strip(), _CELEBA_PARTITIONS[fields[1].strip()]))
    return rows


def _discover_celeba(root: Path, partition_file: Path, image_dir: Path) -> list[ImageRecord]:
    if not image_dir.is_dir():
        raise FileNotFoundError(f"CelebA image folder not found: {image_dir} (partition file {partition_file})")
    present = set(os.listdir(image_dir))
    records, missing = [], 0
    for file_name, split in _read_partition(partition_file):
        if file_name not in present:
            missing += 1
            continue
        # CelebA ids are unique, so the bare file name keeps names (and list hashes) equal across both layouts.
        records.append(ImageRecord(image_dir / file_name, file_name, split, celeba_aligned=True))
    if missing:
        logger.warning("%s lists %d files that are not in %s; skipped them", partition_file, missing, image_dir)
    return records


def _discover_folder(root: Path) -> list[ImageRecord]:
    records = []
    for directory, dir_names, file_names in os.walk(root):
        # Sorted, and hidden entries (.git, macOS ._ files) skipped, so the list is the same on every machine.
        dir_names[:] = sorted(d for d in dir_names if not d.startswith("."))
        for file_name in sorted(file_names):
            if file_name.startswith(".") or not file_name.lower().endswith(tuple(IMAGE_EXTENSIONS)):
                continue
            path = Path(directory) / file_name
            name = path.relative_to(root).as_posix()
            records.append(ImageRecord(path, name, hash_split(name), celeba_aligned=False))
    return records


def discover_images(root: str | Path, *, split: str | None = None) -> list[ImageRecord]:
    """All images under ``root`` (layout detected automatically), optionally only one split, in a fixed order.

    Raises FileNotFoundError for a missing root and ValueError when it holds no images.
    """
    _check_split(split)
    root = Path(root)
    _check_root(root)
    celeba = _celeba_files(root)
    records = _discover_celeba(root, *celeba[1:]) if celeba else _discover_folder(root)
    if not records:
        raise ValueError(f"no images found in {root} (looked for {', '.join(sorted(IMAGE_EXTENSIONS))}, recursively, "
                         f"or a CelebA partition file's images)")
    return [r for r in records if split is None or r.split == split]


def collect_images(roots: str | Path | Sequence[str | Path], split: str | None, *,
                   limit: int | None = None) -> list[ImageRecord]:
    """One split of one or several roots (mixed in the given order).

    ``limit`` keeps that many images picked by a SHA-1 of their names rather than the first ones, so a limited
    mix of several roots still draws from each of them; the kept images stay in discovery order.
    """
    if limit is not None and limit < 1:
        raise ValueError(f"limit must be >= 1 or None, got {limit}")
    if isinstance(roots, (str, Path)):
        roots = [roots]
    if not roots:
        raise ValueError("no data roots given")
    unique_roots = list(dict.fromkeys(Path(r).resolve() for r in roots))
    records = [record for root in unique_roots for record in discover_images(root, split=split)]
    if not records:
        raise ValueError(f"split {split!r} is empty in {', '.join(map(str, unique_roots))}")
    if limit is not None and limit < len(records):
        def pick_key(i: int) -> tuple[bytes, int]:
            return hashlib.sha1(b"limit:" + records[i].name.encode("utf-8")).digest(), i
        keep = sorted(sorted(range(len(records)), key=pick_key)[:limit])
        records = [records[i] for i in keep]
    return records


def list_files_hash(items: Iterable[ImageRecord | str | Path], *, root: str | Path | None = None) -> str:
    """SHA-256 over the sorted relative names of a file list: a short fingerprint of "which images".

    ImageRecords contribute their ``name``; paths are taken relative to ``root`` when it is given, else as given.
    """
    names = []
    for item in items:
        if isinstance(item, ImageRecord):
            names.append(item.name)
        elif root is not None:
            names.append(Path(item).relative_to(root).as_posix())
        else:
            names.append(Path(item).as_posix())
    return hashlib.sha256("\n".join(sorted(names)).encode("utf-8")).hexdigest()
