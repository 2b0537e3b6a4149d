"""Where the tests find the real face data: ``../shared/data`` beside the repository (CI lays it there).

``FACESR_SHARED_DATA`` points elsewhere. Tests copy or read a handful of images from it, never whole sets.
"""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("FACESR_SHARED_DATA", REPO.parent / "shared" / "data"))
CELEBA = SHARED_DATA / "celeba"
CELEBA_HQ = SHARED_DATA / "celeba-hq-256"
UTKFACE = SHARED_DATA / "utkface"

if not SHARED_DATA.is_dir():
    raise FileNotFoundError(
        f"test data folder {SHARED_DATA} not found: the tests copy a few real faces from ../shared/data beside the "
        "repository (CelebA, UTKFace, CelebA-HQ); set FACESR_SHARED_DATA to where that folder lives"
    )
