"""The evaluation as a markdown table (stdout) and as JSON (every number, per image too)."""

from __future__ import annotations

import dataclasses
import json
import math
import os
from pathlib import Path

from .runner import Evaluation, Row

# (metric key, column header, format)
COLUMNS = (("psnr", "PSNR", "{:.2f}"), ("ssim", "SSIM", "{:.4f}"), ("psnr_y", "PSNR-Y", "{:.2f}"),
           ("ssim_y", "SSIM-Y", "{:.4f}"), ("lpips_alex", "LPIPS-alex ↓", "{:.4f}"),
           ("lpips_vgg", "LPIPS-vgg ↓", "{:.4f}"), ("identity", "ID-sim", "{:.4f}"))
SPEED_HEADERS = ("params (M)", "GMACs@64²", "CPU ms/img", "CUDA img/s @64")
MISSING = "—"


def _fmt(value: float | None, pattern: str) -> str:
    return MISSING if value is None or not math.isfinite(value) else pattern.format(value)


def _speed_cells(row: Row) -> list[str]:
    if row.speed is None:
        return [MISSING] * len(SPEED_HEADERS)
    s = row.speed
    return [f"{s.params / 1e6:.2f}", _fmt(s.gmacs, "{:.2f}"), _fmt(s.cpu_ms_per_image, "{:.1f}"),
            _fmt(s.cuda_images_per_s, "{:.1f}")]


def _timing(evaluation: Evaluation) -> str:
    # A run without speed columns timed nothing: its header must not claim a timing setup.
    if any(row.speed is not None for row in evaluation.rows):
        return f"CPU timing batch 1 with {evaluation.cpu_threads} threads"
    return f"not timed ({evaluation.cpu_threads} threads)"


def format_table(evaluation: Evaluation) -> str:
    """A markdown report: a header that pins the data (folder, count, list hash) and protocol, then the table."""
    e = evaluation
    columns = [c for c in COLUMNS if any(c[0] in r.metrics for r in e.rows)] or list(COLUMNS[:4])
    lines = [
        f"**Data:** `{e.data_dir}` (split: {e.split}), {len(e.image_names)} images, "
        f"file-list SHA-256 `{e.files_hash[:16]}`",
        f"**Protocol:** {e.protocol}. PSNR/SSIM crop {e.crop_border} px per side; RGB and Y (BT.601). "
        f"Seed {e.seed}; device {e.device}; {_timing(e)} "
        f"({e.environment.get('cpu', '?')}, load average {e.environment.get('load_average_1min', '?')} at start); "
        f"GPU: {e.environment.get('gpu', 'none')}.",
        "",
        "| method | " + " | ".join(h for _, h, _ in columns) + " | " + " | ".join(SPEED_HEADERS) + " |",
        "|---|" + "---:|" * (len(columns) + len(SPEED_HEADERS)),
    ]
    for row in e.rows:
        if row.unavailable is not None:
            cells = ["unavailable"] + [MISSING] * (len(columns) + len(SPEED_HEADERS) - 1)
        else:
            cells = [_fmt(row.metrics.get(key), pattern) for key, _, pattern in columns] + _speed_cells(row)
        lines.append(f"| {row.name} | " + " | ".join(cells) + " |")
    notes = list(e.notes)
    if "identity" not in {c[0] for c in columns}:
        notes.append("identity similarity omitted (not available on this machine)")
    for row in e.rows:
        notes.append(f"{row.name}: {row.description}")
        if row.unavailable is not None:
            notes.append(f"{row.name} unavailable: {row.unavailable}")
        notes += [f"{row.name}: {n}" for n in row.notes]
    lines += [""] + [f"- {n}" for n in notes]
    return "\n".join(lines)


def _clean(value):
    """NaN / inf -> None so that the JSON is standard (``allow_nan=False``)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    return value


def to_json_dict(evaluation: Evaluation) -> dict:
    """Every field of the evaluation except the grid pixels."""
    data = {f.name: getattr(evaluation, f.name) for f in dataclasses.fields(evaluation) if f.name != "grid_columns"}
    data["rows"] = [dataclasses.asdict(row) for row in evaluation.rows]
    return _clean(data)


def write_json(evaluation: Evaluation, path: str | os.PathLike) -> Path:
    """Write :func:`to_json_dict` to ``path`` (parents created)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(to_json_dict(evaluation), indent=2, allow_nan=False) + "\n", encoding="utf-8")
    return path
