"""Where the tests find the real face data: ``data/`` in the repository (a folder or a link to one), as training does.

``FACESR_DATA`` points elsewhere. Tests copy or read a handful of images from it, never whole sets.
"""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("FACESR_DATA", REPO / "data"))
CELEBA = SHARED_DATA / "celeba"
CELEBA_HQ = SHARED_DATA / "celeba-hq-256"
UTKFACE = SHARED_DATA / "utkface"

if not SHARED_DATA.is_dir():
    raise FileNotFoundError(
        f"test data folder {SHARED_DATA} not found: the tests copy a few real faces from data/ in the repository "
        "(celeba/, utkface/, celeba-hq-256/, ...); link it there or set FACESR_DATA to where that folder lives"
    )
