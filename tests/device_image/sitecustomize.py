"""Makes a Python process look like the GPU machine's image (tests/test_remote_gpu.py puts this folder on
PYTHONPATH): the packages that image lacks, named in ``FACESR_HIDDEN_PACKAGES`` (comma-separated), can be neither
imported nor found, as if not installed. Every finder on ``sys.meta_path`` is wrapped, so ``import x`` raises
ModuleNotFoundError and ``importlib.util.find_spec("x")`` returns None, in this process and in the processes it starts
with the same environment. ``FACESR_NOT_INSTALLED`` (the repository root) removes the editable install's path entry,
as the image has no install of this project: only PYTHONPATH, a script's own folder or the working directory (``-m``,
``-c``) put the tree on the path, the last two added after this module runs."""

from __future__ import annotations

import os
import sys

HIDDEN = frozenset(name for name in os.environ.get("FACESR_HIDDEN_PACKAGES", "").split(",") if name)


class _HideMissing:
    """A meta path finder that answers for another, except for the hidden packages."""

    def __init__(self, finder: object) -> None:
        self._finder = finder

    def find_spec(self, name: str, path: object = None, target: object = None) -> object:
        if name.partition(".")[0] in HIDDEN:
            return None
        find_spec = getattr(self._finder, "find_spec", None)
        return find_spec(name, path, target) if find_spec else None

    def __getattr__(self, attribute: str) -> object:  # invalidate_caches, find_distributions, ...
        return getattr(self._finder, attribute)


if HIDDEN:
    sys.meta_path[:] = [_HideMissing(finder) for finder in sys.meta_path]

if not_installed := os.environ.get("FACESR_NOT_INSTALLED"):
    # The same folder named on PYTHONPATH stays: that is how the device command makes the tree importable.
    asked = {os.path.abspath(entry) for entry in os.environ.get("PYTHONPATH", "").split(os.pathsep) if entry}
    root = os.path.abspath(not_installed)
    sys.path[:] = [entry for entry in sys.path if os.path.abspath(entry or ".") != root or root in asked]
