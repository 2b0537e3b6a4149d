"""The ``facesr`` command: ``facesr upscale INPUT... -o OUTDIR`` and ``facesr export MODEL... --format onnx -o DIR``.

Sub-commands live in ``COMMANDS`` (name -> function that adds its parser); each parser sets ``run`` to a function
that takes the parsed arguments and returns the exit code, so ``facesr evaluate`` and the like plug in beside it.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterable
from pathlib import Path

import torch
from tqdm import tqdm

from .devices import resolve_device, resolve_dtype
from .extras import install_command
from .generators import CheckpointError
from .images import DEFAULT_MAX_PIXELS, IMAGE_EXTENSIONS, ImageReadError, ImageTooLargeError, load_image
from .inference import upscale
from .loading import BACKENDS, load_generator
from .space import add_space_parser

EXIT_OK, EXIT_SOME_FAILED, EXIT_MODEL_ERROR = 0, 1, 2


def _error(message: str) -> None:
    # One line per problem, even for multi-line messages such as torch's state-dict mismatches.
    one_line = "; ".join(line.strip() for line in message.splitlines() if line.strip())
    tqdm.write(f"error: {one_line}", file=sys.stderr)


def _int_at_least(minimum: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        value = int(text)
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be >= {minimum}, got {value}")
        return value
    return parse


def _is_within(path: Path, folder: Path) -> bool:
    return path.resolve().is_relative_to(folder.resolve())


def collect_inputs(inputs: Iterable[str | Path], outdir: Path) -> tuple[list[tuple[Path, Path]], list[Path]]:
    """Expand files and folders into (image file, output name relative to ``outdir``) pairs, plus missing paths.

    Folders are walked recursively for image extensions (hidden files and anything under ``outdir`` skipped) and
    their sub-folders are mirrored in ``outdir``. Two inputs that would share an output name (``a/x.jpg`` and
    ``b/x.jpg``, or ``x.jpg`` and ``x.png``) get ``-2``, ``-3``... appended, so no result overwrites another.
    """
    found: list[tuple[Path, Path]] = []
    missing: list[Path] = []
    for item in map(Path, inputs):
        if item.is_dir():
            files = sorted(p for p in item.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS
                           and not any(part.startswith(".") for part in p.relative_to(item).parts)
                           and not _is_within(p, outdir))
            found += [(p, p.relative_to(item).parent) for p in files]
        elif item.exists():
            found.append((item, Path()))
        else:
            missing.append(item)
    pairs, taken = [], set()
    for path, subfolder in found:
        name, suffix = subfolder / f"{path.stem}_x4.png", 2
        while name in taken:
            name, suffix = subfolder / f"{path.stem}-{suffix}_x4.png", suffix + 1
        taken.add(name)
        pairs.append((path, name))
    return pairs, missing


def run_upscale(args: argparse.Namespace) -> int:
    """``facesr upscale``: returns 0 when every input was written, 1 when any failed, 2 when the model failed."""
    outdir = Path(args.output)
    pairs, missing = collect_inputs(args.inputs, outdir)
    for path in missing:
        _error(f"{path}: no such file or directory")
    if not pairs:
        _error("no image files found in " + " ".join(args.inputs))
        return EXIT_SOME_FAILED
    try:
        # onnxruntime runs on the CPU: "auto" means the CPU there, not CUDA.
        device = resolve_device("cpu" if args.backend == "onnxruntime" and args.device == "auto" else args.device)
    except ValueError as error:  # e.g. cuda asked for on a machine without a GPU
        _error(str(error))
        return EXIT_MODEL_ERROR
    try:
        model = load_generator(args.model, revision=args.revision, device=device, dtype=resolve_dtype(args.dtype),
                               backend=args.backend)
    except ImportError as error:  # --backend onnxruntime without the [onnx] extra
        _error(f"cannot load model {args.model!r} with onnxruntime: {error} ({install_command('onnx')})")
        return EXIT_MODEL_ERROR
    except ValueError as error:  # CheckpointError, an export that fails, or cuda / float16 with onnxruntime
        _error(f"cannot load model {args.model!r}: {error}")
        return EXIT_MODEL_ERROR
    failed = len(missing)
    for path, name in tqdm(pairs, desc="upscaling", unit="img", disable=None):
        try:
            result = upscale(model, load_image(path, max_pixels=args.max_pixels), tile=args.tile or None,
                             tile_overlap=args.tile_overlap, batch_size=args.batch_size, max_pixels=args.max_pixels)
        except (ImageReadError, ImageTooLargeError) as error:
            _error(str(error))  # these messages start with the path already
            failed += 1
            continue
        except torch.OutOfMemoryError:
            _error(f"{path}: out of memory; try a smaller --tile")
            failed += 1
            continue
        target = outdir / name
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            result.save(target, format="PNG")
        except OSError as error:
            _error(f"{path}: cannot write {target}: {error}")
            failed += 1
    print(f"wrote {len(pairs) + len(missing) - failed} of {len(pairs) + len(missing)} images to {outdir}",
          file=sys.stderr)
    return EXIT_SOME_FAILED if failed else EXIT_OK


def add_upscale_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register ``facesr upscale``."""
    parser = subparsers.add_parser(
        "upscale", help="upscale images 4x", description="Upscale image files (and folders, recursively) 4x and "
        "write OUTDIR/<name>_x4.png for each; sub-folders are mirrored. Exit 0: all written; 1: some input failed "
        "(one 'error:' line each on stderr); 2: the model could not be loaded.")
    parser.add_argument("inputs", nargs="+", metavar="INPUT", help="image files or folders")
    parser.add_argument("-o", "--output", required=True, metavar="OUTDIR", help="folder for the results")
    parser.add_argument("--model", default="fast", help="bundled name, folder from save_pretrained, or Hub repo id "
                        "(default: %(default)s)")
    parser.add_argument("--revision", default=None, help="Hub branch, tag or commit of --model")
    parser.add_argument("--device", default="auto", help="auto (CUDA if available), cpu, cuda or cuda:N")
    parser.add_argument("--dtype", default=None, choices=["float32", "float16", "bfloat16"],
                        help="cast the model (default: keep float32)")
    parser.add_argument("--backend", default="torch", choices=BACKENDS,
                        help="torch, or onnxruntime (CPU, float32; the model's onnx/model.onnx, exported once if it "
                             "has none; needs the [onnx] extra) (default: %(default)s)")
    parser.add_argument("--tile", type=_int_at_least(0), default=256,
                        help="LR pixels per tile side; 0 = whole image (default: %(default)s)")
    parser.add_argument("--tile-overlap", type=_int_at_least(0), default=None,
                        help="LR pixels of context around each tile (default: the model's receptive radius, so tiling "
                             "changes nothing, or 24 for models with whole-image layers)")
    parser.add_argument("--batch-size", type=_int_at_least(1), default=4, help="tiles per forward pass")
    parser.add_argument("--max-pixels", type=_int_at_least(1), default=DEFAULT_MAX_PIXELS,
                        help="refuse inputs with more pixels than this (default: 4096x4096)")
    parser.set_defaults(run=run_upscale)


def run_export(args: argparse.Namespace) -> int:
    """``facesr export``: returns 0 when every model was exported and checked, 1 when any failed, 2 when the
    ``[onnx]`` extra is missing."""
    from .onnx_export import OnnxExportError, export_model, onnx_available

    if not onnx_available():
        _error(f"facesr export needs onnx and onnxruntime: {install_command('onnx')}")
        return EXIT_MODEL_ERROR
    failed = 0
    for name in args.models:
        try:
            report = export_model(name, args.output, revision=args.revision, opset=args.opset)
        except (CheckpointError, OnnxExportError) as error:
            _error(f"{name}: {error}")
            failed += 1
            continue
        parity = ", ".join(f"{h}x{w} {db:.0f} dB" for (h, w), db in report.parity_db.items())
        print(f"{name}: wrote {report.path} ({report.size_bytes / 1e6:.1f} MB, opset {args.opset}); onnxruntime vs "
              f"PyTorch on {report.check_image}: {parity}", flush=True)
    return EXIT_SOME_FAILED if failed else EXIT_OK


def add_export_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register ``facesr export``."""
    parser = subparsers.add_parser(
        "export", help="export models to ONNX", description="Export each MODEL to DIR/<name>/onnx/model.onnx with "
        "its config.json beside it (the layout of the bundled folders and Hub repos): float32, a dynamic batch, "
        "height and width. Each file is checked with onnx.checker and against PyTorch with onnxruntime on a real "
        "face (64x64 and 48x80) before it is written. Exit 0: all written; 1: some model failed (an 'error:' line "
        "each says why, e.g. the operator); 2: onnx/onnxruntime are not installed.")
    parser.add_argument("models", nargs="+", metavar="MODEL", help="bundled names, folders from save_pretrained, or "
                        "Hub repo ids")
    parser.add_argument("-o", "--output", required=True, metavar="DIR", help="folder that receives <name>/onnx/")
    parser.add_argument("--format", default="onnx", choices=["onnx"], help="export format (default: %(default)s)")
    parser.add_argument("--opset", type=_int_at_least(18), default=18, help="ONNX opset (default: %(default)s)")
    parser.add_argument("--revision", default=None, help="Hub branch, tag or commit of each Hub MODEL")
    parser.set_defaults(run=run_export)


#: Sub-command name -> function that registers its parser. Add ``"evaluate": add_evaluate_parser`` etc. here.
COMMANDS: dict[str, Callable[[argparse._SubParsersAction], None]] = {"upscale": add_upscale_parser,
                                                                     "export": add_export_parser,
                                                                     "space": add_space_parser}


def build_parser() -> argparse.ArgumentParser:
    """The ``facesr`` parser with every sub-command in ``COMMANDS``."""
    parser = argparse.ArgumentParser(prog="facesr", description="FaceSR-Hub: 4x face super-resolution.")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add_parser in COMMANDS.values():
        add_parser(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``facesr`` console script; returns the exit code."""
    args = build_parser().parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
