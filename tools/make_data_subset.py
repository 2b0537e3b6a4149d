"""Copy a small training/evaluation subset of ../shared/data into one folder that can travel to a GPU machine.

    uv run python tools/make_data_subset.py OUT_DIR [--data ../shared/data] [--max-mib 48]

Writes ``OUT_DIR/train/{celebamask-hq-256,celeba,utkface}`` (hash-train files only, picked by a SHA-1 of their names
so the subset is the same on every machine) and ``OUT_DIR/celeba-hq-256-test`` (the held-out CelebA-HQ test split,
unchanged). File names are kept, so hash splits and overlap checks still hold. Stops adding files at ``--max-mib``.
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import sys
from pathlib import Path

from facesr_hub.data import collect_images

sys.path.insert(0, str(Path(__file__).resolve().parent))
from device_limits import sent_size  # noqa: E402  (tools/ is not a package)

#: (source folder, share of the training budget): true-256 faces first, they carry the most detail.
TRAIN_SOURCES = (("celebamask-hq-256", 0.6), ("celeba", 0.25), ("utkface", 0.15))


def _pick(paths: list[Path], budget_bytes: int) -> list[Path]:
    ordered = sorted(paths, key=lambda p: hashlib.sha1(p.name.encode()).hexdigest())
    kept, used = [], 0
    for path in ordered:
        size = sent_size(path)
        if used + size > budget_bytes:
            break
        kept.append(path)
        used += size
    return kept


def folder_bytes(folder: Path) -> int:
    """What the files under ``folder`` count towards a device call (``sent_size``; 0 when it does not exist)."""
    return sum(sent_size(p) for p in folder.rglob("*") if p.is_file()) if folder.exists() else 0


def make_subset(data: Path, out: Path, max_mib: float) -> dict[str, int]:
    """Copy the subset; returns the file count per folder. Refuses an existing non-empty ``out``."""
    if out.exists() and any(out.iterdir()):
        raise FileExistsError(f"{out} is not empty; remove it or pick another folder")
    counts: dict[str, int] = {}
    test = [r.path for r in collect_images(data / "celeba-hq-256", "test")]
    test_bytes = sum(sent_size(p) for p in test)
    budget = int(max_mib * 2**20) - test_bytes
    if budget <= 0:
        raise ValueError(f"--max-mib {max_mib} leaves no room beside the {test_bytes / 2**20:.1f} MiB test split")
    (out / "celeba-hq-256-test").mkdir(parents=True)
    for path in test:
        shutil.copy2(path, out / "celeba-hq-256-test" / path.name)
    counts["celeba-hq-256-test"] = len(test)
    for name, share in TRAIN_SOURCES:
        train = [r.path for r in collect_images(data / name, "train")]
        target = out / "train" / name
        target.mkdir(parents=True)
        for path in _pick(train, int(budget * share)):
            shutil.copy2(path, target / path.name)
        counts[f"train/{name}"] = len(list(target.iterdir()))
    return counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--data", type=Path, default=Path("../shared/data"))
    parser.add_argument("--max-mib", type=float, default=48.0)
    args = parser.parse_args(argv)
    try:
        counts = make_subset(args.data, args.out, args.max_mib)
    except (FileExistsError, FileNotFoundError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    size = folder_bytes(args.out) / 2**20
    print(", ".join(f"{k}: {v}" for k, v in counts.items()) + f"; {size:.1f} MiB in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
