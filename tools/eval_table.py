"""Read one ``python -m facesr_hub.evaluate --json`` table, for the tools that apply a written pick rule to it
(tools/pick_fast_pair.py, tools/pick_fast_real_blend.py). Imported by scripts run as ``python tools/NAME.py``, whose
folder Python puts first on the import path."""

from __future__ import annotations

import json
from pathlib import Path


def read_table(path: Path) -> tuple[dict, dict[str, dict]]:
    """The report, and its scored rows by name (rows marked unavailable, e.g. a baseline that could not load, left
    out). Raises OSError for an unreadable file, ValueError for one that is not an evaluate --json report."""
    report = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(report, dict) or not isinstance(report.get("rows"), list):
        raise ValueError(f"{path}: not an evaluate --json report (no 'rows' list)")
    return report, {row["name"]: row for row in report["rows"] if not row.get("unavailable")}
