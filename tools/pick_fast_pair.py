"""Decide whether deeper candidates replace the shipped `fast-psnr` and `fast`, by a rule written before they were
scored, applied to one evaluate --json table of validation faces (tools/score_fast_candidates.sh).

    uv run python tools/pick_fast_pair.py docs/results/fast-deeper-val.json \
        --psnr-candidate runs/fast-psnr-16/model --gan-candidate runs/fast-16-gan/model

The rule (stop 23's): a PSNR-stage candidate replaces `fast-psnr` when its PSNR is higher than the shipped one's; a
GAN-stage candidate replaces `fast` when it is better on both axes: LPIPS-alex lower and PSNR no lower than the
shipped `fast`'s; among several that are, the lowest LPIPS-alex. All are read on the same faces, in the same run, so
no margin is needed for the protocol; a strict Pareto rule cannot ship a model that is worse on either axis. Prints
one line per decision: ``ship NAME ROW`` or ``keep NAME``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from eval_table import read_table


def metrics_by_row(path: Path) -> dict[str, dict[str, float]]:
    """Each available row's metrics in one evaluate --json table."""
    return {name: row["metrics"] for name, row in read_table(path)[1].items()}


def psnr_stage_wins(candidate: dict[str, float], shipped: dict[str, float]) -> bool:
    """A PSNR stage is judged on PSNR alone."""
    return candidate["psnr"] > shipped["psnr"]


def gan_stage_wins(candidate: dict[str, float], shipped: dict[str, float]) -> bool:
    """A GAN stage must be better on both axes: lower LPIPS-alex, PSNR no lower."""
    return candidate["lpips_alex"] < shipped["lpips_alex"] and candidate["psnr"] >= shipped["psnr"]


def _check_rows(parser: argparse.ArgumentParser, table: Path, rows: dict, names: list[str]) -> None:
    if missing := [name for name in [*names, "bicubic"] if name not in rows]:
        parser.error(f"{table}: no row named {missing} (rows: {sorted(rows)})")


def _show(rows: dict[str, dict[str, float]], names: list[str]) -> None:
    """Each row against bicubic, on stderr (stdout carries only the decisions)."""
    bicubic = rows["bicubic"]
    for name in names:
        m = rows[name]
        print(f"{name:40s} {m['psnr'] - bicubic['psnr']:+.3f} dB  LPIPS-alex {m['lpips_alex']:.4f} "
              f"({m['lpips_alex'] / bicubic['lpips_alex']:.3f}x)", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("table", type=Path, help="tools/score_fast_candidates.sh's JSON table")
    parser.add_argument("--psnr-candidate", help="row name of the candidate for fast-psnr")
    parser.add_argument("--gan-candidate", nargs="+", default=[],
                        help="row names of the candidates for fast (a GAN stage and its weight blends)")
    args = parser.parse_args(argv)
    try:
        rows = metrics_by_row(args.table)
    except (OSError, ValueError, KeyError) as error:
        parser.error(str(error))
    if args.psnr_candidate:
        _check_rows(parser, args.table, rows, ["fast-psnr", args.psnr_candidate])
        _show(rows, ["fast-psnr", args.psnr_candidate])
        wins = psnr_stage_wins(rows[args.psnr_candidate], rows["fast-psnr"])
        print(f"ship fast-psnr {args.psnr_candidate}" if wins else "keep fast-psnr")
    if args.gan_candidate:
        _check_rows(parser, args.table, rows, ["fast", *args.gan_candidate])
        _show(rows, ["fast", *args.gan_candidate])
        winners = [name for name in args.gan_candidate if gan_stage_wins(rows[name], rows["fast"])]
        best = min(winners, key=lambda name: rows[name]["lpips_alex"], default=None)
        print(f"ship fast {best}" if best else "keep fast")
    return 0


if __name__ == "__main__":
    sys.exit(main())
