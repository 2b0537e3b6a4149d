"""tools/pick_fast_real_blend.py: the written blend rule, applied to evaluate --json tables, says what to ship."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from paths import REPO

TOOL = REPO / "tools" / "pick_fast_real_blend.py"
BICUBIC = {"psnr": 25.0, "lpips_alex": 0.5}


def table(path: Path, rows: dict[str, tuple[float, float]], bicubic: dict[str, float] = BICUBIC,
          files_hash: str = "abc") -> str:
    """An evaluate --json report as far as the rule reads it: name -> (PSNR, LPIPS-alex), bicubic beside."""
    report = {"files_hash": files_hash, "protocol": "realistic seed 0",
              "rows": [{"name": "bicubic", "metrics": bicubic}]
              + [{"name": name, "metrics": {"psnr": p, "lpips_alex": l}} for name, (p, l) in rows.items()]}
    path.write_text(json.dumps(report))
    return str(path)


def last_line(*args: str) -> str:
    result = subprocess.run([sys.executable, str(TOOL), *args], capture_output=True, text=True, check=True)
    return result.stdout.strip().splitlines()[-1]


def test_among_rows_meeting_both_targets_the_lowest_lpips_wins(tmp_path):
    a = table(tmp_path / "a.json", {"runs/a/model": (25.9, 0.28),  # +0.9 dB: misses PSNR, best LPIPS
                                    "runs/blends-val/a-f0.10": (26.05, 0.29),  # both, lowest LPIPS of those
                                    "runs/blends-val/a-f0.20": (26.2, 0.295)})
    b = table(tmp_path / "b.json", {"runs/b/model": (26.3, 0.31)})  # +1.3 dB, 0.62x: misses LPIPS
    assert last_line(a, b) == "pick runs/a 0.10"


def test_with_no_row_meeting_both_the_highest_psnr_under_the_lpips_target_wins(tmp_path):
    a = table(tmp_path / "a.json", {"runs/a/model": (25.8, 0.27), "runs/blends-val/a-f0.05": (25.95, 0.29),
                                    "runs/blends-val/a-f0.15": (26.2, 0.31)})
    assert last_line(a) == "pick runs/a 0.05"


def test_the_shipped_row_competes_and_can_be_kept(tmp_path):
    new = table(tmp_path / "new.json", {"runs/new/model": (26.0, 0.295)})
    old = table(tmp_path / "old.json", {"runs/blends-val/old-f0.10": (26.01, 0.29)})
    assert last_line(new, "--incumbent", f"{old}=runs/blends-val/old-f0.10") == "keep runs/blends-val/old-f0.10"
    better = table(tmp_path / "better.json", {"runs/better/model": (26.1, 0.28)})
    assert last_line(better, "--incumbent", f"{old}=runs/blends-val/old-f0.10") == "pick runs/better 0.00"


def test_tables_from_different_faces_are_refused(tmp_path):
    a = table(tmp_path / "a.json", {"runs/a/model": (26.1, 0.28)})
    b = table(tmp_path / "b.json", {"runs/b/model": (26.1, 0.28)}, bicubic={"psnr": 24.0, "lpips_alex": 0.5})
    result = subprocess.run([sys.executable, str(TOOL), a, b], capture_output=True, text=True)
    assert result.returncode == 2 and "same faces" in result.stderr
