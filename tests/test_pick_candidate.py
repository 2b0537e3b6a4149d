"""tools/pick_candidate.py: a written pick rule applied to evaluate --json tables says which candidate, if any, replaces
the shipped model: a PSNR stage on PSNR alone, a GAN stage only when better on both axes, a blind model against fixed
targets over bicubic with the shipped row competing."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from paths import REPO

TOOL = REPO / "tools" / "pick_candidate.py"
BICUBIC = {"psnr": 25.0, "lpips_alex": 0.5}


def table(path: Path, rows: dict[str, tuple[float, float]], bicubic: dict[str, float] = BICUBIC,
          files_hash: str = "abc") -> str:
    """An evaluate --json report as far as the rule reads it: name -> (PSNR, LPIPS-alex), bicubic beside."""
    report = {"files_hash": files_hash, "protocol": "realistic seed 0",
              "rows": [{"name": "bicubic", "metrics": bicubic}]
              + [{"name": name, "metrics": {"psnr": p, "lpips_alex": l}} for name, (p, l) in rows.items()]}
    path.write_text(json.dumps(report))
    return str(path)


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(TOOL), *args], capture_output=True, text=True)


def last_line(*args: str) -> str:
    done = run(*args)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip().splitlines()[-1]


# A PSNR stage replaces the shipped one on PSNR alone; a GAN stage must be better on both axes (LPIPS-alex lower, PSNR
# no lower), and among several that are, the lowest LPIPS-alex wins.
PSNR_STAGE = ("--by", "psnr", "--incumbent", "fast-psnr", "--candidates", "p16")
GAN_STAGE = ("--incumbent", "fast", "--not-below-incumbent", "--candidates")


def test_a_higher_psnr_stage_ships_and_a_pareto_better_gan_stage_ships(tmp_path):
    val = table(tmp_path / "val.json", {"fast-psnr": (30.0, 0.20), "p16": (30.2, 0.21), "fast": (29.5, 0.14),
                                        "g16": (29.6, 0.13)})
    assert last_line(val, *PSNR_STAGE) == "pick p16"
    assert last_line(val, *GAN_STAGE, "g16") == "pick g16"


def test_a_gan_stage_that_trades_psnr_for_lpips_is_not_shipped(tmp_path):
    val = table(tmp_path / "val.json", {"fast-psnr": (30.0, 0.20), "p16": (29.9, 0.18), "fast": (29.5, 0.14),
                                        "g16": (29.4, 0.12)})
    assert last_line(val, *PSNR_STAGE) == "keep fast-psnr"
    assert last_line(val, *GAN_STAGE, "g16") == "keep fast"


def test_among_gan_candidates_better_on_both_axes_the_lowest_lpips_wins(tmp_path):
    val = table(tmp_path / "val.json", {"fast": (29.5, 0.14),
                                        "g16": (29.4, 0.11),  # lowest LPIPS, but loses PSNR: out
                                        "g16-f0.10": (29.6, 0.13), "g16-f0.20": (29.8, 0.135)})
    assert last_line(val, *GAN_STAGE, "g16", "g16-f0.10", "g16-f0.20") == "pick g16-f0.10"


def test_a_tie_keeps_the_incumbent(tmp_path):
    val = table(tmp_path / "val.json", {"fast-psnr": (30.0, 0.20), "p16": (30.0, 0.19), "fast": (29.5, 0.14),
                                        "g16": (29.5, 0.14)})
    assert last_line(val, *PSNR_STAGE) == "keep fast-psnr"
    assert last_line(val, *GAN_STAGE, "g16") == "keep fast"


# A blind model against fixed targets: at least 1.0 dB over bicubic and LPIPS-alex at most 0.6x bicubic's; among rows
# meeting both, the lowest LPIPS-alex; if none does, the highest PSNR among rows under 0.6x.
TARGETS = ("--min-gain-db", "1.0", "--max-lpips-ratio", "0.6")


def test_among_rows_meeting_both_targets_the_lowest_lpips_wins(tmp_path):
    a = table(tmp_path / "a.json", {"runs/a/model": (25.9, 0.28),  # +0.9 dB: misses PSNR, best LPIPS
                                    "runs/blends-val/a-f0.10": (26.05, 0.29),  # both, lowest LPIPS of those
                                    "runs/blends-val/a-f0.20": (26.2, 0.295)})
    b = table(tmp_path / "b.json", {"runs/b/model": (26.3, 0.31)})  # +1.3 dB, 0.62x: misses LPIPS
    assert last_line(a, b, *TARGETS) == "pick runs/blends-val/a-f0.10"


def test_with_no_row_meeting_both_the_highest_psnr_under_the_lpips_target_wins(tmp_path):
    a = table(tmp_path / "a.json", {"runs/a/model": (25.8, 0.27), "runs/blends-val/a-f0.05": (25.95, 0.29),
                                    "runs/blends-val/a-f0.15": (26.2, 0.31)})
    assert last_line(a, *TARGETS) == "pick runs/blends-val/a-f0.05"


def test_the_shipped_row_from_another_table_competes_and_can_be_kept(tmp_path):
    new = table(tmp_path / "new.json", {"runs/new/model": (26.0, 0.295)})
    old = table(tmp_path / "old.json", {"runs/blends-val/old-f0.10": (26.01, 0.29), "runs/other/model": (27, 0.1)})
    shipped = f"{old}=runs/blends-val/old-f0.10"  # only that row of old.json competes
    assert last_line(new, "--incumbent", shipped, *TARGETS) == "keep runs/blends-val/old-f0.10"
    better = table(tmp_path / "better.json", {"runs/better/model": (26.1, 0.28)})
    assert last_line(better, "--incumbent", shipped, *TARGETS) == "pick runs/better/model"


def test_tables_from_different_faces_are_refused(tmp_path):
    a = table(tmp_path / "a.json", {"runs/a/model": (26.1, 0.28)})
    b = table(tmp_path / "b.json", {"runs/b/model": (26.1, 0.28)}, bicubic={"psnr": 24.0, "lpips_alex": 0.5})
    c = table(tmp_path / "c.json", {"runs/c/model": (26.1, 0.28)}, files_hash="other faces")
    for other in (b, c):
        done = run(a, other)
        assert done.returncode == 2 and "same faces" in done.stderr


def test_a_missing_row_is_a_clear_error(tmp_path):
    path = tmp_path / "val.json"
    path.write_text(json.dumps({"rows": [{"name": "bicubic", "metrics": {"psnr": 28.0, "lpips_alex": 0.3}}]}))
    done = run(str(path), *GAN_STAGE, "g16")
    assert done.returncode == 2 and "no row named ['fast', 'g16']" in done.stderr


def test_a_file_that_is_not_an_evaluate_table_is_a_clear_error(tmp_path):
    path = tmp_path / "val.json"
    path.write_text(json.dumps([{"name": "fast"}]))  # JSON, but not a report
    done = run(str(path), *GAN_STAGE, "g16")
    assert done.returncode == 2 and "not an evaluate --json report" in done.stderr
