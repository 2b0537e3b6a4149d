"""Apply the written blend rule of tools/choose_fast_real_blend.sh to its validation tables, so the pick is computed,
not read off by eye.

    uv run python tools/pick_fast_real_blend.py docs/results/fast-real-blend-val-RUN.json [...] \
        [--incumbent docs/results/fast-real-blend-val-OLD.json=ROW]

The rule (stop 19's, written before its runs were scored): among the rows meeting both of issue 10's targets (at least
1.0 dB above bicubic, LPIPS-alex at most 0.6x bicubic's), the lowest LPIPS-alex; if no row meets both, the highest PSNR
among the rows under 0.6x. The incumbent (the shipped ``fast-real``'s row, scored on the same faces) competes too, so
the answer "keep what is shipped" comes out of the same rule. Every table must come from the same faces and the same
degraded inputs (same file list, same protocol, same bicubic scores), or the comparison means nothing.

Prints every row with its gains, then one last line: ``pick RUN_DIR FRACTION`` (FRACTION 0: the run alone), or
``keep ROW`` when the incumbent wins.
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass
from pathlib import Path

from eval_table import read_table

MIN_GAIN_DB = 1.0
MAX_LPIPS_RATIO = 0.6
#: ``runs/blends-val/NAME-f0.10`` (a blend towards the bundled fast-real-psnr, written by tools/fidelity_points.py)
BLEND_ROW = re.compile(r"^(?P<root>.*)/blends-val/(?P<run>.+)-f(?P<fraction>[0-9.]+)$")


@dataclass(frozen=True)
class Row:
    """One validation row, read against bicubic on the same inputs."""

    name: str
    gain_db: float
    lpips_ratio: float
    lpips: float
    incumbent: bool = False

    @property
    def meets_both(self) -> bool:
        return self.gain_db >= MIN_GAIN_DB and self.lpips_ratio <= MAX_LPIPS_RATIO


def read_rows(path: Path, only: str | None = None) -> tuple[list[Row], tuple]:
    """Rows of one evaluate --json table (all but bicubic, or just ``only``), and the key that must match across
    tables: file list, protocol and bicubic's scores."""
    report, by_name = read_table(path)
    if "bicubic" not in by_name:
        raise ValueError(f"{path}: no bicubic row to read the gains against")
    bicubic = by_name.pop("bicubic")["metrics"]
    if only is not None and only not in by_name:
        raise ValueError(f"{path}: no row named {only!r} (rows: {sorted(by_name)})")
    rows = [Row(name, row["metrics"]["psnr"] - bicubic["psnr"], row["metrics"]["lpips_alex"] / bicubic["lpips_alex"],
                row["metrics"]["lpips_alex"], incumbent=only is not None)
            for name, row in by_name.items() if only is None or name == only]
    key = (report["files_hash"], report["protocol"], round(bicubic["psnr"], 6), round(bicubic["lpips_alex"], 6))
    return rows, key


def pick(rows: list[Row]) -> Row | None:
    """The rule: the lowest LPIPS-alex among rows meeting both targets, else the highest PSNR under 0.6x, else None."""
    both = [row for row in rows if row.meets_both]
    if both:
        return min(both, key=lambda row: row.lpips)
    under = [row for row in rows if row.lpips_ratio <= MAX_LPIPS_RATIO]
    return max(under, key=lambda row: row.gain_db) if under else None


def run_and_fraction(name: str) -> tuple[str, float]:
    """``runs/X/model`` -> (runs/X, 0.0); ``runs/blends-val/X-f0.10`` -> (runs/X, 0.10)."""
    if match := BLEND_ROW.match(name):
        return f"{match['root']}/{match['run']}", float(match["fraction"])
    if name.endswith("/model"):
        return name.removesuffix("/model"), 0.0
    raise ValueError(f"row {name!r} is neither a run's model folder nor a blend towards the bundled fast-real-psnr "
                     "(a blend towards another PSNR stage ships only once that stage is bundled as fast-real-psnr)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("tables", nargs="+", type=Path, help="tools/choose_fast_real_blend.sh's JSON tables")
    parser.add_argument("--incumbent", metavar="TABLE=ROW", help="the shipped fast-real's row, same faces")
    args = parser.parse_args(argv)
    rows, keys = [], set()
    sources = [(path, None) for path in args.tables]
    if args.incumbent:
        if "=" not in args.incumbent:
            parser.error(f"--incumbent wants TABLE=ROW, got {args.incumbent!r}")
        table, row = args.incumbent.split("=", 1)
        sources.append((Path(table), row))
    try:
        for path, only in sources:
            table_rows, key = read_rows(path, only)
            rows += table_rows
            keys.add(key)
    except (OSError, ValueError, KeyError) as error:
        parser.error(str(error))
    if len(keys) > 1:
        parser.error("the tables were not scored on the same faces and inputs (file list, protocol or bicubic differ)")
    for row in sorted(rows, key=lambda row: row.lpips):
        flag = "both" if row.meets_both else ("<0.6x" if row.lpips_ratio <= MAX_LPIPS_RATIO else "")
        print(f"{row.name:60s} {row.gain_db:+.3f} dB  {row.lpips_ratio:.3f}x  {flag}{'  (shipped)' * row.incumbent}")
    chosen = pick(rows)
    if chosen is None:
        print("keep nothing meets the LPIPS target")
    elif chosen.incumbent:
        print(f"keep {chosen.name}")
    else:
        try:
            run, fraction = run_and_fraction(chosen.name)
        except ValueError as error:
            parser.error(str(error))
        print(f"pick {run} {fraction:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
