"""Pick which candidate model replaces a shipped one, by a rule fixed before the candidates are scored and applied to
``python -m facesr_hub.evaluate --json`` tables of validation faces (never the test faces a README reports).

    uv run python tools/pick_candidate.py VAL.json [VAL2.json ...] [--candidates ROW ...] [--incumbent ROW|TABLE=ROW]
        [--by lpips|psnr] [--not-below-incumbent] [--min-gain-db G] [--max-lpips-ratio R]

Rows are read against the ``bicubic`` row of the same faces. A row qualifies when it meets every bound given: PSNR at
least ``G`` dB above bicubic (``--min-gain-db``), PSNR no lower than the incumbent's (``--not-below-incumbent``),
LPIPS-alex at most ``R`` x bicubic's (``--max-lpips-ratio``). Among the qualifying rows, the incumbent's included,
the lowest LPIPS-alex wins (``--by psnr``: the highest PSNR, for a PSNR-stage model); a tie keeps the incumbent. When
no row qualifies, the PSNR bounds give way and the LPIPS ceiling holds: the highest PSNR among the rows within it.
Two examples:

    # a GAN stage must be better on both axes: lower LPIPS-alex and PSNR no lower than the shipped `fast`'s
    tools/pick_candidate.py val.json --incumbent fast --not-below-incumbent --candidates runs/g/model runs/b/g-f0.10
    # a blind model must reach +1.0 dB over bicubic and 0.6x its LPIPS-alex; the shipped one's row from an older table
    tools/pick_candidate.py new.json --incumbent old.json=fast-real --min-gain-db 1.0 --max-lpips-ratio 0.6

Every table must come from the same faces and inputs (same file list, protocol and bicubic scores), or the comparison
means nothing: the tool refuses tables that differ. Without ``--candidates`` every row but bicubic and the incumbent
is one. Prints each row with its gains, then one last line: ``pick ROW``, ``keep ROW`` (the incumbent wins) or
``keep`` (no incumbent, and no row within the LPIPS ceiling).
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path


def read_table(path: Path) -> tuple[dict, dict[str, dict]]:
    """The report, and its scored rows by name (rows marked unavailable, e.g. a baseline that could not load, left
    out). Raises OSError for an unreadable file, ValueError for one that is not an evaluate --json report."""
    report = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(report, dict) or not isinstance(report.get("rows"), list):
        raise ValueError(f"{path}: not an evaluate --json report (no 'rows' list)")
    return report, {row["name"]: row for row in report["rows"] if not row.get("unavailable")}


@dataclass(frozen=True)
class Row:
    """One scored row, read against bicubic on the same inputs."""

    name: str
    psnr: float
    lpips: float
    gain_db: float
    lpips_ratio: float
    incumbent: bool = False


@dataclass(frozen=True)
class Rule:
    by: str = "lpips"  # "lpips": the lowest LPIPS-alex wins; "psnr": the highest PSNR
    not_below_incumbent: bool = False
    min_gain_db: float | None = None
    max_lpips_ratio: float | None = None

    def within_lpips(self, row: Row) -> bool:
        return self.max_lpips_ratio is None or row.lpips_ratio <= self.max_lpips_ratio

    def qualifies(self, row: Row, incumbent: Row | None) -> bool:
        if self.min_gain_db is not None and row.gain_db < self.min_gain_db:
            return False
        if self.not_below_incumbent and incumbent is not None and row.psnr < incumbent.psnr:
            return False
        return self.within_lpips(row)


def read_rows(path: Path, names: list[str] | None, incumbent: str | None = None) -> tuple[list[Row], tuple]:
    """Rows of one table (``names``, or all but bicubic; ``incumbent`` marked), and the key that must match across
    tables: file list, protocol and bicubic's scores."""
    report, by_name = read_table(path)
    if missing := [name for name in [*(names or []), "bicubic"] if name not in by_name]:
        raise ValueError(f"{path}: no row named {missing} (rows: {sorted(by_name)})")
    bicubic = by_name.pop("bicubic")["metrics"]
    rows = [Row(name, row["metrics"]["psnr"], row["metrics"]["lpips_alex"],
                row["metrics"]["psnr"] - bicubic["psnr"], row["metrics"]["lpips_alex"] / bicubic["lpips_alex"],
                incumbent=name == incumbent)
            for name, row in by_name.items() if names is None or name in names]
    key = (report.get("files_hash"), report.get("protocol"), round(bicubic["psnr"], 6),
           round(bicubic["lpips_alex"], 6))
    return rows, key


def pick(rows: list[Row], rule: Rule) -> Row | None:
    """The rule's choice; ``None`` when there is no incumbent and no row within the LPIPS ceiling."""
    incumbent = next((row for row in rows if row.incumbent), None)
    ordered = sorted(rows, key=lambda row: not row.incumbent)  # the incumbent first: min/max keep it on a tie
    qualifying = [row for row in ordered if rule.qualifies(row, incumbent)]
    if qualifying:
        if rule.by == "psnr":
            return max(qualifying, key=lambda row: row.psnr)
        return min(qualifying, key=lambda row: row.lpips)
    within = [row for row in ordered if rule.within_lpips(row)]
    return max(within, key=lambda row: row.psnr) if within else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("tables", nargs="+", type=Path, help="evaluate --json tables of the same faces")
    parser.add_argument("--candidates", nargs="+", default=None, metavar="ROW", help="default: every row")
    parser.add_argument("--incumbent", metavar="ROW|TABLE=ROW", help="the shipped model's row (it competes too)")
    parser.add_argument("--by", choices=["lpips", "psnr"], default="lpips")
    parser.add_argument("--not-below-incumbent", action="store_true", help="PSNR floor: the incumbent's PSNR")
    parser.add_argument("--min-gain-db", type=float, default=None, help="PSNR floor: this far above bicubic")
    parser.add_argument("--max-lpips-ratio", type=float, default=None, help="LPIPS-alex ceiling, x bicubic's")
    args = parser.parse_args(argv)
    rule = Rule(args.by, args.not_below_incumbent, args.min_gain_db, args.max_lpips_ratio)
    if args.not_below_incumbent and not args.incumbent:
        parser.error("--not-below-incumbent needs --incumbent")
    incumbent_table, incumbent = None, args.incumbent
    if incumbent and "=" in incumbent:
        table, incumbent = incumbent.split("=", 1)
        incumbent_table = Path(table)
    in_tables = [incumbent] if incumbent and incumbent_table is None else []
    wanted = None if args.candidates is None else [*in_tables, *args.candidates]
    # The incumbent's own table first: a row scored in several tables (one model, the same faces) is read once.
    sources = ([(incumbent_table, [incumbent])] if incumbent_table is not None else []) \
        + [(path, wanted) for path in args.tables]
    by_name: dict[str, Row] = {}
    keys = set()
    try:
        for path, names in sources:
            table_rows, key = read_rows(path, names, incumbent)
            for row in table_rows:
                by_name.setdefault(row.name, row)
            keys.add(key)
    except (OSError, ValueError, KeyError) as error:
        parser.error(str(error))
    if len(keys) > 1:
        parser.error("the tables were not scored on the same faces and inputs (file list, protocol or bicubic differ)")
    if incumbent and incumbent not in by_name:
        parser.error(f"no row named {incumbent!r} (the incumbent) in {[str(p) for p, _ in sources]}")
    rows = list(by_name.values())
    current = next((row for row in rows if row.incumbent), None)
    for row in sorted(rows, key=lambda row: row.lpips):
        flag = "ok" if rule.qualifies(row, current) else ""
        print(f"{row.name:60s} {row.gain_db:+.3f} dB  LPIPS-alex {row.lpips:.4f} ({row.lpips_ratio:.3f}x)  {flag}"
              f"{'  (incumbent)' * row.incumbent}")
    chosen = pick(rows, rule)
    print("keep" if chosen is None else f"{'keep' if chosen.incumbent else 'pick'} {chosen.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
