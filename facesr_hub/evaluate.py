"""Score generators and baselines on a folder of faces under THE protocol; print a markdown table.

    uv run python -m facesr_hub.evaluate --data DIR [--model NAME|PATH|REPO]... \\
        [--baseline bicubic|lanczos|realesrgan|ldm]... [--limit N] [--json OUT.json] [--grid OUT.png]

Every row sees the same images, the same LR (``facesr_hub.data.degrade``, or with ``--degradation realistic`` the
realistic chain, each image degraded once from ``--degradation-seed``), the same crop and the same metrics.
The table header names the folder, the image count and a hash of the file list, so two tables can be compared.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from .extras import require

require("train", "torchvision", "torchmetrics")

from .baselines import BASELINES, LDM_REPO
from .data import DEGRADATIONS, SPLITS
from .evaluation import TrainingOverlapError, comparison_grid, evaluate, format_table, write_json
from .generators import CheckpointError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m facesr_hub.evaluate", description=__doc__.split("\n")[0])
    parser.add_argument("--data", required=True, help="folder of faces (any layout facesr_hub.data discovers)")
    parser.add_argument("--model", action="append", default=[], metavar="NAME|PATH|REPO",
                        help="a trained generator (bundled name, save_pretrained folder or Hub repo id); repeatable")
    parser.add_argument("--baseline", action="append", default=None, choices=sorted(BASELINES),
                        help="a peer baseline; repeatable (default: bicubic)")
    parser.add_argument("--split", choices=SPLITS, default=None, help="only this split of --data (default: all)")
    parser.add_argument("--limit", type=int, default=None, help="evaluate N images (chosen by name hash)")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--device", default=None, help="cuda, cpu or auto (default)")
    parser.add_argument("--json", default=None, metavar="OUT.json", help="write every number here")
    parser.add_argument("--grid", default=None, metavar="OUT.png", help="write a comparison grid here")
    parser.add_argument("--grid-images", type=int, default=4, help="images (rows) in the grid")
    parser.add_argument("--no-speed", action="store_true", help="skip the params/GMACs/timing columns")
    parser.add_argument("--no-lpips", action="store_true",
                        help="skip the LPIPS columns (for a machine without the VGG16/AlexNet weights)")
    parser.add_argument("--cpu-repeats", type=int, default=3, help="timed CPU runs per row (median)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the sampling baselines (ldm)")
    parser.add_argument("--ldm-steps", type=int, default=100, help="diffusion steps for --baseline ldm")
    parser.add_argument("--ldm-source", default=LDM_REPO, help="Hub id or local folder of the ldm pipeline")
    parser.add_argument("--degradation", choices=DEGRADATIONS, default="bicubic",
                        help="LR inputs: the protocol's bicubic /4, or realistic blur/resize/noise/JPEG")
    parser.add_argument("--degradation-seed", type=int, default=0,
                        help="with --degradation realistic: the seed that fixes every image's degradation")
    parser.add_argument("--train-data", action="append", default=[], metavar="ROOT",
                        help="refuse evaluation images found in this root's training split; repeatable")
    parser.add_argument("--allow-overlap", action="store_true",
                        help="with --train-data: report an overlap in the notes instead of refusing")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        result = evaluate(
            args.data, models=args.model, baselines=args.baseline if args.baseline is not None else ["bicubic"],
            split=args.split, limit=args.limit, batch_size=args.batch_size, device=args.device,
            speed=not args.no_speed, cpu_repeats=args.cpu_repeats, grid_images=args.grid_images, seed=args.seed,
            ldm_steps=args.ldm_steps, ldm_source=args.ldm_source, train_roots=args.train_data,
            allow_overlap=args.allow_overlap, degradation=args.degradation, degradation_seed=args.degradation_seed,
            lpips=not args.no_lpips)
    except (TrainingOverlapError, CheckpointError, FileNotFoundError, NotADirectoryError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(format_table(result))
    if args.json:
        print(f"\nwrote {write_json(result, args.json)}")
    if args.grid and result.grid_columns and result.grid_columns[0][1].shape[0]:
        comparison_grid(result.grid_columns).save(args.grid)
        print(f"wrote {args.grid}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
