"""tools/pick_gpu_models.py: which GPU-trained runs replace bundled models, decided on a validation table."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from paths import REPO

TOOL = REPO / "tools" / "pick_gpu_models.py"


def table(path: Path, psnr: dict[str, float]) -> str:
    """An evaluate --json report as far as the rule reads it: row name -> PSNR."""
    path.write_text(json.dumps({"rows": [{"name": name, "metrics": {"psnr": value}} for name, value in psnr.items()]}))
    return str(path)


def run(*args: str) -> list[str]:
    done = subprocess.run([sys.executable, str(TOOL), *args], capture_output=True, text=True, check=True)
    return done.stdout.strip().splitlines()


def test_a_gpu_model_replaces_its_bundled_twin_only_when_its_psnr_is_higher(tmp_path):
    lines = run(table(tmp_path / "t.json", {
        "runs/gpu/residual-attention/model": 30.9, "residual-attention": 30.2,  # better: replaces
        "runs/gpu/upsample-fixed/model": 29.7, "upsample-fixed": 29.8,  # worse: keeps
        "bicubic": 28.6}), "--runs", "runs/gpu")
    assert lines[-1] == "ship residual-attention"
    assert "residual-attention: GPU 30.90 dB (+2.30 dB over bicubic) vs bundled 30.20: replaces" in lines
    assert any(line.startswith("upsample-fixed:") and line.endswith("keeps") for line in lines)


def test_paired_and_unbundled_models_are_reported_not_shipped(tmp_path):
    lines = run(table(tmp_path / "t.json", {
        "runs/gpu/fast-psnr/model": 31.5, "fast-psnr": 31.0,  # better, but fast is blended with the bundled one
        "runs/gpu/quality/model": 31.2}))  # nothing bundled to compare
    assert lines[-1] == "ship"
    assert any(line.startswith("fast-psnr:") and "fast is blended with it" in line for line in lines)
    assert any(line.startswith("quality:") and "reported, not bundled" in line for line in lines)


def test_a_table_without_gpu_rows_is_an_error(tmp_path):
    done = subprocess.run([sys.executable, str(TOOL), table(tmp_path / "t.json", {"fast": 30.0}), "--runs", "runs/gpu"],
                          capture_output=True, text=True)
    assert done.returncode == 2
    assert "no rows of runs/gpu/NAME/model" in done.stderr
