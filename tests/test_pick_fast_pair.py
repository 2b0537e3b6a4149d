"""tools/pick_fast_pair.py: the written rule for replacing the shipped fast-psnr and fast, applied to a table."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from paths import REPO

TOOL = REPO / "tools" / "pick_fast_pair.py"


def decisions(tmp_path: Path, rows: dict[str, tuple[float, float]], gan: tuple[str, ...] = ("g16",)) -> list[str]:
    """Run the tool on an evaluate --json table of name -> (PSNR, LPIPS-alex) rows, bicubic beside."""
    report = {"rows": [{"name": "bicubic", "metrics": {"psnr": 28.0, "lpips_alex": 0.3}}]
              + [{"name": name, "metrics": {"psnr": p, "lpips_alex": l}} for name, (p, l) in rows.items()]}
    path = tmp_path / "val.json"
    path.write_text(json.dumps(report))
    result = subprocess.run([sys.executable, str(TOOL), str(path), "--psnr-candidate", "p16",
                             "--gan-candidate", *gan], capture_output=True, text=True, check=True)
    return result.stdout.split("\n")[:-1]


def test_a_higher_psnr_stage_ships_and_a_pareto_better_gan_stage_ships(tmp_path):
    rows = {"fast-psnr": (30.0, 0.20), "p16": (30.2, 0.21), "fast": (29.5, 0.14), "g16": (29.6, 0.13)}
    assert decisions(tmp_path, rows) == ["ship fast-psnr p16", "ship fast g16"]


def test_a_gan_stage_that_trades_psnr_for_lpips_is_not_shipped(tmp_path):
    rows = {"fast-psnr": (30.0, 0.20), "p16": (29.9, 0.18), "fast": (29.5, 0.14), "g16": (29.4, 0.12)}
    assert decisions(tmp_path, rows) == ["keep fast-psnr", "keep fast"]


def test_among_gan_candidates_better_on_both_axes_the_lowest_lpips_wins(tmp_path):
    rows = {"fast-psnr": (30.0, 0.20), "p16": (30.2, 0.21), "fast": (29.5, 0.14),
            "g16": (29.4, 0.11),  # lowest LPIPS, but loses PSNR: out
            "g16-f0.10": (29.6, 0.13), "g16-f0.20": (29.8, 0.135)}
    assert decisions(tmp_path, rows, ("g16", "g16-f0.10", "g16-f0.20"))[1] == "ship fast g16-f0.10"


def test_a_missing_row_is_a_clear_error(tmp_path):
    path = tmp_path / "val.json"
    path.write_text(json.dumps({"rows": [{"name": "bicubic", "metrics": {"psnr": 28.0, "lpips_alex": 0.3}}]}))
    result = subprocess.run([sys.executable, str(TOOL), str(path), "--gan-candidate", "g16"],
                            capture_output=True, text=True)
    assert result.returncode == 2 and "no row named ['fast', 'g16']" in result.stderr


def test_a_file_that_is_not_an_evaluate_table_is_a_clear_error(tmp_path):
    path = tmp_path / "val.json"
    path.write_text(json.dumps([{"name": "fast"}]))  # JSON, but not a report
    result = subprocess.run([sys.executable, str(TOOL), str(path), "--gan-candidate", "g16"],
                            capture_output=True, text=True)
    assert result.returncode == 2 and "not an evaluate --json report" in result.stderr
