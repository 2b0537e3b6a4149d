"""Decide which GPU-trained models replace bundled ones, by a written rule on validation faces (never the test table).

    uv run python tools/pick_gpu_models.py docs/results/gpu-candidates-val.json --runs runs/gpu

The table (tools/score_gpu_candidates.sh) scores each returned run ``RUNS/NAME/model`` beside the bundled ``NAME`` on
the same validation faces with clean inputs. The rule: the GPU model replaces the bundled one when its PSNR is higher
(these are PSNR-stage models, and their targets are PSNR over bicubic). Models whose bundled weights another bundled
model is blended with are never replaced by an unrelated net: ``fast-psnr`` is the fidelity slider's other end for
``fast``, so a new one ships only with a ``fast`` trained from it. A run with no bundled twin (``quality``) is reported,
not bundled.

Prints one line per run, then ``ship NAME...`` (possibly empty) as the last line.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from eval_table import read_table

#: bundled models that another bundled model is interpolated with (ship_weights.py --interpolate, the app's slider)
PAIRED = {"fast-psnr": "fast", "fast-real-psnr": "fast-real"}


def pick(rows: dict[str, dict], runs: Path) -> tuple[list[str], list[str]]:
    """(names to ship, one explanation line per GPU run in the table)."""
    bicubic = rows["bicubic"]["metrics"]["psnr"] if "bicubic" in rows else None
    prefix = f"{runs.as_posix().rstrip('/')}/"
    ship, lines = [], []
    for row_name, row in rows.items():
        if not (row_name.startswith(prefix) and row_name.endswith("/model")):
            continue
        name = row_name[len(prefix):-len("/model")]
        gpu = row["metrics"]["psnr"]
        gain = f" ({gpu - bicubic:+.2f} dB over bicubic)" if bicubic is not None else ""
        if name not in rows:
            lines.append(f"{name}: GPU {gpu:.2f} dB{gain}; nothing bundled to compare: reported, not bundled")
            continue
        bundled = rows[name]["metrics"]["psnr"]
        if gpu <= bundled:
            verdict = "keeps"
        elif name in PAIRED:
            verdict = f"kept: {PAIRED[name]} is blended with it, and no {PAIRED[name]} was trained from the GPU one"
        else:
            verdict = "replaces"
            ship.append(name)
        lines.append(f"{name}: GPU {gpu:.2f} dB{gain} vs bundled {bundled:.2f}: {verdict}")
    return ship, lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("table", type=Path, help="tools/score_gpu_candidates.sh's --json table")
    parser.add_argument("--runs", type=Path, default=Path("runs/gpu"), help="where the GPU runs were unpacked")
    args = parser.parse_args(argv)
    try:
        _, rows = read_table(args.table)
    except (OSError, ValueError) as error:
        parser.error(str(error))
    ship, lines = pick(rows, args.runs)
    if not lines:
        parser.error(f"no rows of {args.runs}/NAME/model in {args.table}")
    print("\n".join(lines))
    print("ship " + " ".join(ship))
    return 0


if __name__ == "__main__":
    sys.exit(main())
