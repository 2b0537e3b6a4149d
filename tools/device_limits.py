"""What a call of the device tool (a lent GPU machine) may send, and how a file counts towards it."""

from __future__ import annotations

from pathlib import Path

#: The working tree plus the carried paths, per call.
LIMIT_MIB = 64.0
#: The limit counts what files take on disk, not their bytes: in stop 30 a call of 62.5 MiB of bytes (69.6 MiB in
#: 4 KiB blocks, most of it 3,100 small JPEGs) was refused, and one of 55.0 MiB (60.7 in blocks) went through.
BLOCK = 4096


def sent_size(path: Path) -> int:
    """What ``path`` counts towards a device call: its size rounded up to whole 4 KiB blocks."""
    return -(-path.stat().st_size // BLOCK) * BLOCK
