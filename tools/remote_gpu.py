"""Train and benchmark on a remote GPU job: the project's own tooling for its own training runs, not a user feature.

A remote GPU job runs one command in a copy of this working tree on a machine with a GPU. It is sent the tree (tracked
and untracked-not-ignored files) plus the extra paths the job names, at most ``SEND_LIMIT_MIB`` in all, every file
counted in whole ``BLOCK``-byte blocks; the command runs for at most ``JOB_LIMIT_S``; what it writes into the job's
output folder ($OUT) comes back, at most ``RETURN_MAX_FILES`` files of at most ``RETURN_MAX_FILE_MIB`` each,
``RETURN_LIMIT_MIB`` in all. The machine's Python has PyTorch, accelerate, huggingface_hub and torchmetrics but none
of ``MISSING_THERE`` and cannot install anything from a registry, nor is this project installed there.

    python tools/remote_gpu.py slim        # here: the bundled weights and the docs' grids stop travelling with the tree
    python tools/remote_gpu.py prepare     # here: the data subset and the benchmark's extras; prints the two jobs
    python3 tools/remote_gpu.py job train  # there, job 1: train recipes on the subset, pack the weights into $OUT
    python3 tools/remote_gpu.py job bench  # there, job 2: the CUDA benchmarks, one $OUT/NAME.md each
    python tools/remote_gpu.py restore     # here, after both jobs and before any commit
    python tools/remote_gpu.py finish DIR  # here: unpack job 1's returned files, score them fully on the CPU
    python tools/remote_gpu.py score       # here: validation table and the rule that says which run replaces a
                                           # bundled model (``pick`` applies the rule alone to a table)

``subset`` builds the data subset alone, ``show`` says whether the tree is slimmed, ``pack``/``unpack`` are job 1's
transport of the weights. The train job runs ``train.py --recipe recipes/<model>.toml`` for each chosen model, one
process per model, all at once on the one GPU, each with its own time budget; what comes back is scored with LPIPS,
identity and Real-ESRGAN here, and a model replaces a bundled one only by the rule of ``pick`` on validation faces.
"""

from __future__ import annotations

import argparse
import bz2
import fnmatch
import hashlib
import importlib.util
import io
import json
import os
import platform
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

TOOLS = Path(__file__).resolve().parent
REPO = TOOLS.parent
# This project is not installed on the remote machine: the tree itself is put on the import path.
sys.path[:0] = [str(path) for path in (TOOLS, REPO) if str(path) not in sys.path]

# ---- What a remote GPU job accepts and returns ----------------------------------------------------------------------
#: The working tree plus the extra paths a job names, per job.
SEND_LIMIT_MIB = 64.0
#: The send limit counts what files take on disk, not their bytes: a job of 62.5 MiB of bytes, most of it 3,100 small
#: JPEGs, came to 69.6 MiB in 4 KiB blocks and was refused, while one of 60.7 MiB in blocks went through.
BLOCK = 4096
RETURN_MAX_FILES = 8
RETURN_MAX_FILE_MIB = 16.0
RETURN_LIMIT_MIB = 64.0
#: How long one job's command may run; each job below asks for a little less, so that its own end comes first.
JOB_LIMIT_S = 600
TRAIN_JOB_S = 590
BENCH_JOB_S = 270
#: Packages of this project the remote Python lacks: training validates and scores without LPIPS there, and the
#: benchmarks' face detector comes as a carried dlib-bin wheel and landmark file.
MISSING_THERE = ("diffusers", "lpips", "gradio", "dlib", "face_recognition_models")

# ---- Paths (relative to the repository) -----------------------------------------------------------------------------
#: What the jobs send besides the tree: git-ignored, so that none of it also travels as part of the tree, and outside
#: the data root (``data/`` may be a link to datasets shared with other checkouts).
SUBSET = Path(".cache/remote-gpu/subset")
WHEELS = Path(".cache/remote-gpu/wheels")
EXTRAS = Path(".cache/remote-gpu/extras")
RUNS = Path("runs/gpu")
RECIPES = Path("recipes")
BUNDLED = Path("facesr_hub/weights")
#: The bundled model the bench job runs (``benchmarks/app_cuda.py``'s ``fast``): carried when the tree is slimmed.
BENCH_WEIGHTS = BUNDLED / "fast"
#: What the jobs do not need from the tree: the bundled weights (``quality`` alone is 22 MiB; a job carries the few
#: it needs) and the docs' grids. Without them the tree is a few MiB and the data subset gets the rest of the limit.
SLIM_PATHS = ("facesr_hub/weights", "docs/results/*.png")
SLIM_BEGIN, SLIM_END = "# tools/remote_gpu.py slim: begin", "# tools/remote_gpu.py slim: end"
#: While slimmed, git's index holds the deletion of SLIM_PATHS and a plain `git commit` would commit it: this hook
#: refuses any commit until ``restore``.
COMMIT_GUARD = f"""#!/bin/sh
{SLIM_BEGIN} (restore removes this hook)
echo "the tree is slimmed for a remote GPU job: run python tools/remote_gpu.py restore before committing" >&2
exit 1
"""

# ---- The data subset ------------------------------------------------------------------------------------------------
#: (dataset folder, share of the training budget), laid out as under the data root so that ``--data-root SUBSET``
#: serves the recipes unchanged. True-256 faces first: they carry the most detail.
SUBSET_SOURCES = (("celebamask-hq-256", 0.55), ("celeba", 0.25), ("utkface", 0.15), ("celeba-hq-256", 0.05))
#: Validation faces copied per dataset, for the recipes that validate during training.
SUBSET_VAL_FACES = 4
#: Training faces every dataset gets whatever its share: a recipe that weights its datasets needs each non-empty.
SUBSET_MIN_TRAIN_FACES = 8
#: The held-out faces the train job scores on (their whole test split travels).
TEST_SOURCE = "celeba-hq-256"
#: The held-out table's name, in the job's report and in docs/results here.
TABLE = "gpu-celeba-hq-test"
#: Below this much room the subset is the test split and a token training set: a train job would be pointless.
MIN_SUBSET_MIB = 8.0
#: Room left for files written between ``prepare`` and the job.
MARGIN_MIB = 1.5

# ---- The train job --------------------------------------------------------------------------------------------------
#: The models a train job trains by default, with minutes each at scale 1: the PSNR-stage (L1) recipes. A GAN stage's
#: perceptual loss needs the 59 MB of VGG16 weights, which do not fit a job beside the tree; the GAN stages run here,
#: from the returned PSNR stages. The big nets get the most minutes.
TRAIN_MINUTES = {"fast-psnr": 7, "quality": 7, "upsample-fixed": 6, "residual-attention": 6, "pixelshuffle-v1-fixed": 6,
                 "pixelshuffle-v2-fixed": 6, "upsample": 3, "pixelshuffle-v1": 3, "pixelshuffle-v2": 3}
#: The default scale fits one job: the longest run 7 x 0.8 min, then the evaluation and the packing.
MINUTES_SCALE = 0.8
#: One model alone: 7 x 1.1 = 7.7 min (such a job took 525 of its 590 s).
MINUTES_SCALE_ALONE = 1.1
#: Settings the remote machine needs whatever a recipe says (a training stage that says otherwise gets them with
#: ``--set``): no AlexNet weights there to validate with LPIPS.
REMOTE_SETTINGS = {"val_lpips": False}
#: Data workers (decode, crop, degrade) per run: nine runs share the machine's 16 cores, one run has most of them.
WORKERS_SHARED, WORKERS_ALONE = 4, 12
#: A reduced-scale run (``--smoke``, the CPU test of the job): a few steps per stage, each model at its real size.
SMOKE_ARGS = ("--stage-steps", "2", "--set", "batch_size=2", "--set", "patch_size=32", "--set", "warmup_steps=1",
              "--set", "compile=false")
#: GPU load sampled this often: parallel runs share the CPU cores for data, so the first question about the results
#: is whether the GPU was kept busy at all.
GPU_SAMPLE_S = 15

# ---- The weights' way back ------------------------------------------------------------------------------------------
#: What of a recipe run travels beside its final model: the run record and each stage's settings, final metrics and
#: TensorBoard events (the learning curve, a few hundred kB). Checkpoints and the stages' own model folders stay.
RUN_FILES = ("recipe-run.json",)
STAGE_FILES = ("train_config.json", "metrics.json", "logs")
FINAL_MODEL = "model"
PART_PREFIX = "weights.tar.part-"
TRANSPORT = "transport.json"
PART_MIB = 15.0
#: The weights' share of what a job returns; the report needs the rest. The nine default models hold about 85 MiB of
#: float32 weights (``quality`` alone 44.5), hence float16 wherever that costs nothing measurable.
MAX_WEIGHTS_MIB = 56.0
#: Kept in float32 whatever float16 would cost: the GAN stages here start from it.
KEEP_FP32 = ("fast-psnr",)

# ---- The bench job --------------------------------------------------------------------------------------------------
DLIB_WHEEL = "dlib-bin==20.0.1.post1"
LANDMARKS = "shape_predictor_5_face_landmarks.dat"
#: pip's options for a wheel that the remote machine's Python 3.12 on x86-64 can install.
WHEEL_PLATFORM = ("--only-binary=:all:", "--python-version", "3.12", "--implementation", "cp",
                  "--platform", "manylinux_2_28_x86_64", "--platform", "manylinux_2_17_x86_64",
                  "--platform", "manylinux2014_x86_64")
#: (name, seconds, command): most useful first, each under its own limit and written straight into $OUT, so what
#: finished comes back even when a later one runs long. The limits are what each needed on a cold machine: speed.py
#: spends about a minute on bicubic and `fast` (CUDA start, four compiles) and compiling `quality` takes over a
#: minute per dtype, hence fp16 only (the app's CUDA dtype); app_cuda.py needs about 40 s for its four aligned-face
#: requests; train_speed.py --arch quality is left out, its compile alone takes about two minutes (the training log's
#: img/s stands in). With 1 s added to each (so that a scaled limit is never 0) they sum to 258 s of the 270 s job.
BENCHES = (("speed", 150, ("benchmarks/speed.py", "--models", "fast,quality", "--repeats", "5",
                           "--cuda-dtypes", "fp16")),
           ("app-cuda", 60, ("benchmarks/app_cuda.py", "--repeats", "3")),
           ("train-speed-fast", 45, ("benchmarks/train_speed.py", "--arch", "fast", "--compile")))

# ---- Choosing what replaces a bundled model ------------------------------------------------------------------------
#: Bundled models that another bundled model is interpolated with (ship_weights.py --interpolate, the app's slider):
#: a new one ships only with a partner trained from it.
PAIRED = {"fast-psnr": "fast", "fast-real-psnr": "fast-real"}
VAL_SOURCE, VAL_FACES = "celebamask-hq-256", 60
#: The recipes' true-256 training folders: the scoring refuses any test face found in their training splits.
RECIPE_TRUE_256 = ("celeba-hq-256", "celebamask-hq-256")

MiB = 2**20


def default_data() -> Path:
    """The data root (the folder holding celeba/, utkface/, ...), as the recipe runner finds it."""
    return Path(os.environ.get("FACESR_DATA", "data"))


def python() -> list[str]:
    return [sys.executable]


def subprocess_env(**extra: str) -> dict[str, str]:
    """This environment with the tree on PYTHONPATH: scripts under benchmarks/ import facesr_hub from it."""
    path = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    return {**os.environ, "PYTHONPATH": path, "PYTHONUNBUFFERED": "1", **extra}


# =============================================================================================================== sizes
def sent_size(path: Path) -> int:
    """What ``path`` counts towards a job's send limit: its size rounded up to whole blocks."""
    return -(-path.stat().st_size // BLOCK) * BLOCK


def folder_bytes(folder: Path) -> int:
    """What the files under ``folder`` count towards a job (0 when it does not exist)."""
    return sum(sent_size(p) for p in folder.rglob("*") if p.is_file()) if folder.exists() else 0


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, text=True).stdout


def tree_files(repo: Path = REPO) -> set[str]:
    """The files a job sends besides the paths it names (tracked and untracked-not-ignored), relative to ``repo``."""
    listed = git(repo, "ls-files", "-z", "--cached", "--others", "--exclude-standard").split("\0")
    return {name for name in listed if name and (repo / name).is_file()}


def tree_bytes(repo: Path = REPO) -> int:
    return sum(sent_size(repo / name) for name in tree_files(repo))


def slimmed_tree_bytes(repo: Path = REPO) -> int:
    """What the tree sends once slimmed, whether or not it is slimmed now."""
    return tree_bytes(repo) - (0 if is_slim(repo) else slimmed_bytes(repo))


def ignored(path: Path, repo: Path = REPO) -> bool:
    """True when git ignores ``path`` (a carried folder must not also travel as part of the tree)."""
    return subprocess.run(["git", "check-ignore", "-q", str(path)], cwd=repo).returncode == 0


def return_problems(out: Path) -> list[str]:
    """What in ``out`` would not come back from a job (empty when all of it would)."""
    files = [p for p in out.rglob("*") if p.is_file()]
    problems = []
    if len(files) > RETURN_MAX_FILES:
        problems.append(f"{len(files)} files, at most {RETURN_MAX_FILES} come back")
    problems += [f"{p.name}: over {RETURN_MAX_FILE_MIB:g} MiB" for p in files
                 if p.stat().st_size > RETURN_MAX_FILE_MIB * MiB]
    if (total := sum(p.stat().st_size for p in files)) > RETURN_LIMIT_MIB * MiB:
        problems.append(f"{total / MiB:.1f} MiB in all, at most {RETURN_LIMIT_MIB:g} come back")
    return problems


# ============================================================================================================== subset
def _by_name(paths: list[Path]) -> list[Path]:
    """Files in the order of a SHA-1 of their names: the same subset on every machine."""
    return sorted(paths, key=lambda p: hashlib.sha1(p.name.encode()).hexdigest())


def _fill(paths: list[Path], budget_bytes: int) -> list[Path]:
    """The first of ``paths`` that fit in ``budget_bytes``."""
    kept, used = [], 0
    for path in paths:
        size = sent_size(path)
        if used + size > budget_bytes:
            break
        kept.append(path)
        used += size
    return kept


def _copy_records(records: list, source: Path, target: Path) -> None:
    """Copy image records into ``target`` keeping what decides their split: a CelebA root keeps its layout and gets
    a partition file listing exactly the copied files; any other folder keeps each file's name (hash splits)."""
    from facesr_hub.data.sources import detect_layout

    if detect_layout(source) == "folder":
        for record in records:
            (target / record.name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(record.path, target / record.name)
        return
    images = target / "img_align_celeba"
    images.mkdir(parents=True, exist_ok=True)
    codes = {"train": 0, "val": 1, "test": 2}
    partition = target / "list_eval_partition.csv"
    rows = partition.read_text().splitlines()[1:] if partition.exists() else []
    for record in records:
        shutil.copy2(record.path, images / record.name)
        rows.append(f"{record.name},{codes[record.split]}")
    partition.write_text("image_id,partition\n" + "\n".join(sorted(rows)) + "\n")


def make_subset(data: Path, out: Path, max_mib: float) -> dict[str, int]:
    """Copy a data subset of at most ``max_mib`` (counted as a job counts it) into ``out``, laid out as the data root:
    the whole test split of ``TEST_SOURCE``, up to ``SUBSET_VAL_FACES`` validation faces and at least
    ``SUBSET_MIN_TRAIN_FACES`` training faces per dataset, then more training faces by ``SUBSET_SOURCES``' shares.
    Returns the file count per dataset and split. Refuses a non-empty ``out``."""
    from facesr_hub.data import collect_images

    if out.exists() and any(out.iterdir()):
        raise FileExistsError(f"{out} is not empty; remove it or pick another folder")
    fixed = {(TEST_SOURCE, "test"): collect_images(data / TEST_SOURCE, "test")}
    train = {}
    for name, _ in SUBSET_SOURCES:
        try:
            fixed[(name, "val")] = collect_images(data / name, "val", limit=SUBSET_VAL_FACES)
        except ValueError:  # a dataset folder of training faces only
            fixed[(name, "val")] = []
        records = {r.path: r for r in collect_images(data / name, "train")}
        train[name] = [records[path] for path in _by_name(list(records))]
    fixed_bytes = sum(sent_size(r.path) for records in fixed.values() for r in records)
    fixed_bytes += sum(sent_size(r.path) for records in train.values() for r in records[:SUBSET_MIN_TRAIN_FACES])
    # A CelebA partition file lists every copied CelebA face (about 13 bytes a row; a face takes at least a block).
    most_faces = int(max_mib * MiB) // BLOCK
    partition = -(-most_faces * 16 // BLOCK) * BLOCK
    budget = int(max_mib * MiB) - fixed_bytes - partition
    if budget <= 0:
        raise ValueError(f"{max_mib:.1f} MiB leave no room beside the {fixed_bytes / MiB:.1f} MiB of test, "
                         "validation and first training faces")
    counts: dict[str, int] = {}
    for (name, split), records in fixed.items():
        _copy_records(records, data / name, out / name)
        counts[f"{name} {split}"] = len(records)
    for name, share in SUBSET_SOURCES:
        first, rest = train[name][:SUBSET_MIN_TRAIN_FACES], train[name][SUBSET_MIN_TRAIN_FACES:]
        by_path = {r.path: r for r in rest}
        kept = first + [by_path[path] for path in _fill([r.path for r in rest], int(budget * share))]
        _copy_records(kept, data / name, out / name)
        counts[f"{name} train"] = len(kept)
    return counts


# ================================================================================================================ slim
def _git_path(repo: Path, name: str) -> Path:
    """``name`` inside the repository's git directory (a worktree's or submodule's too)."""
    path = Path(git(repo, "rev-parse", "--git-path", name).strip())
    return path if path.is_absolute() else repo / path


def is_slim(repo: Path = REPO) -> bool:
    """True while ``slim`` is in effect (its exclude block is present)."""
    path = _git_path(repo, "info/exclude")
    return path.exists() and SLIM_BEGIN in path.read_text()


def slimmed_bytes(repo: Path = REPO) -> int:
    """What HEAD's files under ``SLIM_PATHS`` count towards a job: what ``restore`` adds back (ignored files there,
    such as a local grid, never travel and are not counted)."""
    names = git(repo, "ls-tree", "-r", "-z", "--name-only", "HEAD").split("\0")  # (ls-tree takes no globs)
    slimmed = [name for name in names if name and any(
        fnmatch.fnmatchcase(name, pattern) or name.startswith(f"{pattern}/") for pattern in SLIM_PATHS)]
    return sum(sent_size(repo / name) for name in slimmed if (repo / name).is_file())


def slim(repo: Path = REPO) -> list[str]:
    """Take ``SLIM_PATHS`` out of git's index (``git rm --cached``: the files stay on disk) and list them in
    ``.git/info/exclude``, so that they are neither tracked nor untracked-not-ignored and no job sends them. Nothing
    is committed. Refuses when those paths hold uncommitted changes, so that ``restore`` gives back exactly what was
    there. Returns the files taken out of the index."""
    if is_slim(repo):
        raise RuntimeError("the tree is slimmed already; `python tools/remote_gpu.py restore` first")
    if changed := git(repo, "status", "--porcelain", "--", *SLIM_PATHS).strip():
        raise RuntimeError(f"commit or stash these first, so that restore gives them back as they are:\n{changed}")
    files = [name for name in git(repo, "ls-files", "-z", "--", *SLIM_PATHS).split("\0") if name]
    git(repo, "rm", "-r", "-q", "--cached", "--", *SLIM_PATHS)
    path = _git_path(repo, "info/exclude")
    path.parent.mkdir(parents=True, exist_ok=True)
    before = path.read_text() if path.exists() else ""
    block = "\n".join([SLIM_BEGIN, *(f"/{pattern}" for pattern in SLIM_PATHS), SLIM_END]) + "\n"
    path.write_text(before + ("" if not before or before.endswith("\n") else "\n") + block)
    hook = _git_path(repo, "hooks/pre-commit")
    if not hook.exists():  # a hook of the user's own is left alone (and then nothing guards the commit)
        hook.parent.mkdir(parents=True, exist_ok=True)
        hook.write_text(COMMIT_GUARD)
        hook.chmod(0o755)
    return files


def restore(repo: Path = REPO) -> None:
    """Undo ``slim``: index entries back from HEAD, the exclude block and the hook removed. A no-op when not slim."""
    path = _git_path(repo, "info/exclude")
    if not is_slim(repo):
        return
    git(repo, "reset", "-q", "HEAD", "--", *SLIM_PATHS)
    text = path.read_text()
    start, end = text.index(SLIM_BEGIN), text.index(SLIM_END) + len(SLIM_END)
    path.write_text(text[:start] + text[end:].lstrip("\n"))
    hook = _git_path(repo, "hooks/pre-commit")
    if hook.exists() and SLIM_BEGIN in hook.read_text():
        hook.unlink()


# ============================================================================================================= prepare
def start_weights(models: list[str], recipes: Path = REPO / RECIPES) -> list[Path]:
    """The bundled model folders the chosen recipes start from (``init`` stages, which the train job runs with
    ``--bundled-inits``). Raises ValueError for a model without a recipe, or one with a GAN stage (its perceptual
    loss needs weights that do not fit a job)."""
    from facesr_hub.training.recipe import load_recipe

    needed: list[Path] = []
    for model in models:
        path = recipes / f"{model}.toml"
        if not path.is_file():
            raise ValueError(f"no recipe {path} for {model!r}")
        recipe = load_recipe(path)
        if gan := [stage.name for stage in recipe.stages if stage.kind == "gan"]:
            raise ValueError(f"{path}: GAN stage(s) {gan} need VGG16 weights, which do not fit a remote job; train "
                             "them here from the returned PSNR stage")
        for stage in recipe.stages:
            if stage.kind == "init" and (BUNDLED / (stage.bundled or stage.recipe)) not in needed:
                needed.append(BUNDLED / (stage.bundled or stage.recipe))
    return needed


def train_carry(models: list[str], slimmed: bool, recipes: Path = REPO / RECIPES) -> list[Path]:
    """The train job's extra paths: the subset, and the bundled start weights when the tree does not send them."""
    return [SUBSET, *(start_weights(models, recipes) if slimmed else [])]


def bench_carry(slimmed: bool) -> list[Path]:
    """The bench job's extra paths: the wheel and the landmarks, and ``BENCH_WEIGHTS`` when the tree is slimmed."""
    return [WHEELS, EXTRAS, *([BENCH_WEIGHTS] if slimmed else [])]


def prepare_subset(data: Path, spare_mib: float, repo: Path = REPO) -> float:
    """Build ``SUBSET`` in ``spare_mib`` (rebuilt when present); returns its size in MiB."""
    target = repo / SUBSET
    if target.exists():
        shutil.rmtree(target)
    make_subset(data, target, spare_mib)
    return folder_bytes(target) / MiB


def prepare_bench(repo: Path = REPO) -> None:
    """Fetch the dlib-bin wheel into ``WHEELS`` and compress the landmark model into ``EXTRAS``."""
    wheels, extras = repo / WHEELS, repo / EXTRAS
    if not any(wheels.glob("dlib_bin-*.whl")):
        # uv's venv has no pip; uvx brings one
        subprocess.run(["uvx", "pip", "download", "--no-deps", *WHEEL_PLATFORM, "-d", str(wheels), DLIB_WHEEL],
                       check=True)
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("face_recognition_models is not installed here (uv sync installs it)")
    source = Path(list(spec.submodule_search_locations)[0]) / "models" / LANDMARKS
    extras.mkdir(parents=True, exist_ok=True)
    (extras / f"{LANDMARKS}.bz2").write_bytes(bz2.compress(source.read_bytes(), 9))


def job_command(kind: str, models: list[str]) -> str:
    if kind == "bench":
        return "python3 tools/remote_gpu.py job bench"
    command = "python3 tools/remote_gpu.py job train"
    if models != list(TRAIN_MINUTES):
        command += " --models " + " ".join(models)
    if len(models) == 1:
        command += f" --minutes-scale {MINUTES_SCALE_ALONE}"
    return command


def prepare(data: Path, models: list[str], margin_mib: float = MARGIN_MIB, bench: bool = True) -> int:
    """Check what the jobs send fits, build the subset in the room left, and print both jobs."""
    for folder in (SUBSET, WHEELS, EXTRAS):
        if not ignored(folder):
            print(f"error: {folder} is not git-ignored; it would travel twice", file=sys.stderr)
            return 2
    slimmed = is_slim()
    try:
        carry = train_carry(models, slimmed)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    tree = tree_bytes() / MiB
    starts = sum(folder_bytes(REPO / path) for path in carry[1:]) / MiB
    spare = SEND_LIMIT_MIB - tree - starts - margin_mib
    if spare < MIN_SUBSET_MIB:
        print(f"error: the tree ({tree:.1f} MiB)" + (f" and the start weights ({starts:.1f} MiB)" if starts else "")
              + f" leave {spare:.1f} MiB for the data subset; slim the tree first: python tools/remote_gpu.py slim",
              file=sys.stderr)
        return 2
    try:
        print(f"working tree: {tree:.2f} MiB of {SEND_LIMIT_MIB:g}" + (f", start weights {starts:.2f} MiB" if starts
                                                                       else "") + f"; {spare:.2f} MiB for the subset")
        subset = prepare_subset(data, spare)
        if bench:
            prepare_bench()
    except (FileExistsError, FileNotFoundError, ValueError, subprocess.CalledProcessError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    listed = ", ".join(map(str, carry))
    print(f"train job: {tree + starts + subset:.2f} MiB (tree + {listed}), at most {TRAIN_JOB_S} s")
    print(f"  {job_command('train', models)}    sending also: {listed}")
    if bench:
        bench_paths = bench_carry(slimmed)
        size = sum(folder_bytes(REPO / path) for path in bench_paths) / MiB
        listed = ", ".join(map(str, bench_paths))
        print(f"bench job: {tree + size:.2f} MiB (tree + {listed}), at most {BENCH_JOB_S} s; right after the first, "
              "on the same machine")
        print(f"  {job_command('bench', models)}    sending also: {listed}")
    if slimmed:
        print("after both jobs: python tools/remote_gpu.py restore (nothing can be committed before)")
    print("then: python tools/remote_gpu.py finish DIR (DIR: the files the train job returned)")
    return 0


# ================================================================================================================= job
def _log(line: str, log: Path | None = None) -> None:
    print(line, flush=True)
    if log is not None:
        with open(log, "a", encoding="utf-8") as handle:
            handle.write(line + "\n")


def describe_machine(path: Path) -> None:
    """The machine as a job saw it: time, kernel, GPU, cores, memory, torch and CUDA."""
    lines = [time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()), " ".join(platform.uname())]
    if shutil.which("nvidia-smi"):
        lines.append(subprocess.run(["nvidia-smi"], capture_output=True, text=True).stdout)
    else:
        lines.append("nvidia-smi: not found")
    lines.append(f"cpus: {os.cpu_count()}")
    if Path("/proc/meminfo").is_file():
        lines.append(Path("/proc/meminfo").read_text().splitlines()[0])
    torch = subprocess.run([*python(), "-c", "import torch; print('torch', torch.__version__, 'cuda', "
                            "torch.version.cuda, torch.cuda.is_available())"], capture_output=True, text=True)
    lines.append((torch.stdout + torch.stderr).strip())
    path.write_text("\n".join(lines) + "\n")


def remote_overrides(recipe: Path, workers: int) -> dict[str, object]:
    """The ``--set`` settings a recipe's run needs on the remote machine: ``REMOTE_SETTINGS`` and ``workers`` data
    workers, each only where a training stage of the recipe says otherwise (so a recipe written for this machine runs
    exactly as written)."""
    from facesr_hub.training.config import TrainConfig
    from facesr_hub.training.recipe import load_recipe

    wanted = {**REMOTE_SETTINGS, "num_workers": workers}
    defaults = TrainConfig.__dataclass_fields__
    stages = [stage for stage in load_recipe(recipe).stages if stage.trains]
    return {key: value for key, value in wanted.items()
            if any(stage.train.get(key, defaults[key].default) != value for stage in stages)}


def train_command(model: str, subset: Path, runs: Path, minutes: float, workers: int, smoke: bool = False) -> list[str]:
    """The recipe run of one model on the subset, its init stages from the bundled models."""
    recipe = RECIPES / f"{model}.toml"
    command = [*python(), "train.py", "--recipe", str(recipe), "--output-dir", str(runs / model),
               "--data-root", str(subset), "--bundled-inits"]
    command += list(SMOKE_ARGS) if smoke else ["--max-minutes", f"{minutes:g}"]
    for key, value in remote_overrides(REPO / recipe, workers).items():
        command += ["--set", f"{key}={json.dumps(value)}"]
    return command


def train_models(models: list[str], subset: Path, runs: Path, scale: float, smoke: bool, log: Path) -> list[str]:
    """Train every model at once, one process each (log: RUNS/NAME.log); returns the names that finished."""
    runs.mkdir(parents=True, exist_ok=True)
    workers = WORKERS_ALONE if len(models) == 1 else WORKERS_SHARED
    procs = {}
    for model in models:
        minutes = TRAIN_MINUTES.get(model, max(TRAIN_MINUTES.values())) * scale
        command = train_command(model, subset, runs, minutes, workers, smoke)
        with open(runs / f"{model}.log", "w", encoding="utf-8") as handle:
            procs[model] = subprocess.Popen(command, cwd=REPO, env=subprocess_env(), stdout=handle,
                                            stderr=subprocess.STDOUT)
    trained = []
    for model, proc in procs.items():
        if proc.wait() == 0:
            trained.append(model)
            _log(f"trained: {model}", log)
        else:
            tail = (runs / f"{model}.log").read_text(errors="replace").splitlines()[-5:]
            _log(f"FAILED: {model} (exit {proc.returncode})\n  " + "\n  ".join(tail), log)
    return trained


def evaluate_trained(models: list[str], subset: Path, runs: Path, results: Path, smoke: bool, log: Path) -> int:
    """PSNR/SSIM of the trained models beside bicubic and Lanczos on the subset's held-out faces (no LPIPS there)."""
    results.mkdir(parents=True, exist_ok=True)
    rows = [arg for model in models for arg in ("--model", str(runs / model / FINAL_MODEL))]
    speed = ["--no-speed"] if smoke else ["--cpu-repeats", "1"]  # CPU timings: a side note on a GPU machine
    command = [*python(), "-m", "facesr_hub.evaluate", "--data", str(subset / TEST_SOURCE), "--split", "test", *rows,
               "--baseline", "bicubic", "--baseline", "lanczos", "--no-lpips", "--grid-images", "3", *speed,
               "--json", str(results / f"{TABLE}.json"), "--grid", str(results / f"{TABLE}-grid.png")]
    done = subprocess.run(command, cwd=REPO, env=subprocess_env(), capture_output=True, text=True)
    (results / f"{TABLE}.md").write_text(done.stdout)
    _log(done.stdout + done.stderr[-3000:] * (done.returncode != 0), log)
    return done.returncode


def job_train(out: Path, models: list[str], subset: Path = SUBSET, runs: Path = RUNS, scale: float = MINUTES_SCALE,
              smoke: bool = False) -> int:
    """Job 1, on the remote machine: train, score, and pack the weights and a report into ``out``."""
    if not (REPO / subset / TEST_SOURCE).is_dir():
        print(f"no data subset at {subset}: send it with the job (python tools/remote_gpu.py prepare)", file=sys.stderr)
        return 2
    if unknown := [model for model in models if not (REPO / RECIPES / f"{model}.toml").is_file()]:
        print(f"no recipe for {unknown} in {RECIPES}", file=sys.stderr)
        return 2
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as folder:
        report = Path(folder)
        log = report / "train.log"
        describe_machine(report / "machine.txt")
        sampler = None
        if shutil.which("nvidia-smi"):
            with open(report / "gpu-load.csv", "w") as handle:
                sampler = subprocess.Popen(["nvidia-smi", "--query-gpu=timestamp,utilization.gpu,memory.used",
                                            "--format=csv", "-l", str(GPU_SAMPLE_S)], stdout=handle,
                                           stderr=subprocess.STDOUT)
        try:
            trained = train_models(models, subset, runs, scale, smoke, log)
            status = 0 if len(trained) == len(models) else 1
            if trained and evaluate_trained(trained, subset, runs, report / "results", smoke, log) != 0:
                status = 1
        finally:
            if sampler is not None:
                sampler.terminate()
        (report / "logs").mkdir()
        for model in models:
            if (REPO / runs / f"{model}.log").is_file():
                shutil.copy2(REPO / runs / f"{model}.log", report / "logs")
        # The report comes back even when packing fails: it holds the results table and every log.
        if trained:
            try:
                record = pack(REPO / runs, trained, REPO / subset / TEST_SOURCE, out)
                _log(transport_summary(record), report / "pack.log")
            except (FileNotFoundError, ValueError) as error:
                _log(f"packing failed: {error}", report / "pack.log")
                status = 1
        with tarfile.open(out / "report.tar.gz", "w:gz") as tar:
            tar.add(report, arcname=".")
    if problems := return_problems(out):
        print("would not all come back: " + "; ".join(problems), file=sys.stderr)
        status = 1
    for path in sorted(out.iterdir()):
        print(f"{path.stat().st_size:>12,d}  {path.name}")
    return status


def job_bench(out: Path, scale: float = 1.0) -> int:
    """Job 2, on the remote machine: each CUDA benchmark into ``out/NAME.md`` under its own time limit."""
    out.mkdir(parents=True, exist_ok=True)
    describe_machine(out / "machine.txt")
    site = Path(tempfile.mkdtemp())
    wheels = sorted((REPO / WHEELS).glob("*.whl"))
    has_pip = subprocess.run([*python(), "-m", "pip", "--version"], capture_output=True).returncode == 0
    if not wheels:
        print(f"no wheels in {WHEELS}: app_cuda.py's whole-photo rows need dlib-bin", file=sys.stderr)
    elif not has_pip:
        print(f"no pip in {sys.executable}: the wheels are not installed", file=sys.stderr)
    else:
        subprocess.run([*python(), "-m", "pip", "install", "-q", "--no-index", "--no-deps", "--no-compile",
                        "--no-cache-dir", "--target", str(site), *map(str, wheels)], check=False)
    # The detector's landmark model, where the face_recognition_models package would hold it (that package is 100 MB).
    landmarks = REPO / EXTRAS / f"{LANDMARKS}.bz2"
    if landmarks.is_file():
        models = site / "face_recognition_models" / "models"
        models.mkdir(parents=True)
        (site / "face_recognition_models" / "__init__.py").write_text("")
        (models / LANDMARKS).write_bytes(bz2.decompress(landmarks.read_bytes()))
    env = subprocess_env()
    env["PYTHONPATH"] = os.pathsep.join([str(site), env["PYTHONPATH"]])
    status = 0
    for name, seconds, command in BENCHES:
        limit = int(seconds * scale) + 1  # never 0
        with open(out / f"{name}.md", "w", encoding="utf-8") as handle:
            try:
                rc = subprocess.run([*python(), *command], cwd=REPO, env=env, stdout=handle, stderr=subprocess.STDOUT,
                                    timeout=limit).returncode
            except subprocess.TimeoutExpired:
                rc = 124
        if rc != 0:
            status = 1
            with open(out / f"{name}.md", "a", encoding="utf-8") as handle:
                handle.write(f"(exit {rc}; 124: stopped at its {limit} s limit)\n")
    shutil.rmtree(site, ignore_errors=True)
    return status


# ======================================================================================================== pack, unpack
def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))


def _model_bytes(folder: Path, fp16: bool) -> bytes:
    from safetensors.torch import load_file, save

    state = load_file(folder / "model.safetensors")
    if fp16:
        state = {k: (v.half() if v.is_floating_point() else v).contiguous() for k, v in state.items()}
    return save(state, {"format": "pt"})


def _storage_plan(folders: dict[str, Path], probe: Path, keep_fp32: set[str], max_weights_mib: float) -> dict:
    """Per model folder: float16 where it costs at most ship_weights.py's ``MAX_FP16_LOSS_DB`` of PSNR on the probe
    faces (the rule it applies when bundling, checked here while the float32 weights are at hand), unless kept float32;
    then, while the weights exceed ``max_weights_mib``, the largest float32 ones not kept go float16 anyway (said so:
    a model that comes back rounded beats one that does not come back)."""
    from ship_weights import MAX_FP16_LOSS_DB, _fp16_cost_db

    from facesr_hub import load_generator

    plan = {}
    for key, folder in folders.items():
        model = load_generator(folder, device="cpu")
        cost = _fp16_cost_db(model, probe)
        fp32_bytes = sum(t.numel() * t.element_size() for t in model.state_dict().values())
        kept = key.split("/")[0] in keep_fp32
        plan[key] = {"stored_as": "float16" if not kept and cost <= MAX_FP16_LOSS_DB else "float32",
                     "fp16_cost_db": round(cost, 5), "fp32_bytes": fp32_bytes}

    def total() -> float:
        return sum(e["fp32_bytes"] / (2 if e["stored_as"] == "float16" else 1) for e in plan.values()) / MiB

    for key in sorted(plan, key=lambda k: -plan[k]["fp32_bytes"]):
        if total() <= max_weights_mib:
            break
        if plan[key]["stored_as"] == "float32" and key.split("/")[0] not in keep_fp32:
            plan[key]["stored_as"] = "float16"
            plan[key]["note"] = f"over the float16 rule, to fit the {max_weights_mib:g} MiB transfer"
    if total() > max_weights_mib:
        raise ValueError(f"the weights need {total():.1f} MiB even in float16 beside the float32 ones kept; the "
                         f"transfer allows {max_weights_mib:g}")
    return plan


def pack(runs: Path, names: list[str], probe: Path, out: Path, part_mib: float = PART_MIB,
         keep_fp32: set[str] | frozenset[str] = frozenset(KEEP_FP32), max_weights_mib: float = MAX_WEIGHTS_MIB) -> dict:
    """Write ``out/weights.tar.part-NN`` and ``out/transport.json``; returns the transport record.

    Each run travels as ``NAME/model/`` (its final model, float16 or float32 by ``_storage_plan``), its run record and
    each stage's settings, metrics and TensorBoard events, in one tar split into parts of at most ``part_mib``;
    ``transport.json`` records each model's storage, its measured float16 cost and the tar's size and SHA-256."""
    from ship_weights import MAX_FP16_LOSS_DB

    folders = {f"{name}/{FINAL_MODEL}": runs / name / FINAL_MODEL for name in names}
    for name, folder in zip(names, folders.values()):
        if not (folder / "model.safetensors").is_file():
            raise FileNotFoundError(f"{runs / name}: no trained model folder ({FINAL_MODEL}/)")
    record: dict = {"max_fp16_loss_db": MAX_FP16_LOSS_DB,
                    "models": _storage_plan(folders, probe, set(keep_fp32), max_weights_mib)}
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for key, folder in folders.items():
            fp16 = record["models"][key]["stored_as"] == "float16"
            _add_bytes(tar, f"{key}/model.safetensors", _model_bytes(folder, fp16))
            for extra in sorted(folder.iterdir()):
                if extra.is_file() and extra.name != "model.safetensors":
                    tar.add(extra, arcname=f"{key}/{extra.name}")
        for name in names:
            run = runs / name
            wanted = [run / f for f in RUN_FILES] + [stage / f for stage in sorted(run.glob("stages/*/"))
                                                     for f in STAGE_FILES]
            for path in wanted:
                if path.exists():
                    tar.add(path, arcname=f"{name}/{path.relative_to(run).as_posix()}")
    data = buffer.getvalue()
    part_bytes = int(part_mib * MiB)
    out.mkdir(parents=True, exist_ok=True)
    parts = [data[i:i + part_bytes] for i in range(0, len(data), part_bytes)]
    for index, part in enumerate(parts):
        (out / f"{PART_PREFIX}{index:02d}").write_bytes(part)
    record.update(bytes=len(data), sha256=hashlib.sha256(data).hexdigest(), parts=len(parts))
    (out / TRANSPORT).write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    return record


def unpack(files_at: Path, runs: Path) -> dict:
    """Join the parts under ``files_at`` (searched recursively), check them against ``transport.json``, and only then
    extract into ``runs``."""
    transports = sorted(files_at.rglob(TRANSPORT))
    if len(transports) != 1:
        raise FileNotFoundError(f"expected one {TRANSPORT} under {files_at}, found {len(transports)}")
    record = json.loads(transports[0].read_text(encoding="utf-8"))
    parts = sorted(transports[0].parent.glob(f"{PART_PREFIX}*"))
    if len(parts) != record["parts"]:
        raise ValueError(f"{len(parts)} of {record['parts']} weight parts came back; the transfer is incomplete")
    data = b"".join(part.read_bytes() for part in parts)
    if len(data) != record["bytes"] or hashlib.sha256(data).hexdigest() != record["sha256"]:
        raise ValueError("the joined weight parts do not match transport.json (size or SHA-256)")
    runs.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(data), mode="r") as tar:
        tar.extractall(runs, filter="data")
    (runs / TRANSPORT).write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    return record


def transport_summary(record: dict) -> str:
    lines = [f"{key}: {model['stored_as']} (float16 cost {model['fp16_cost_db']:.4f} dB"
             + (f"; {model['note']}" if "note" in model else "") + ")" for key, model in record["models"].items()]
    return "\n".join([*lines, f"{record['bytes'] / MiB:.1f} MiB in {record['parts']} part(s)"])


# ============================================================================================================== finish
def finish(files_at: Path, data: Path, runs: Path = RUNS, results: Path = Path("docs/results"),
           speed: bool = True) -> int:
    """Unpack what the train job returned into ``runs`` (the layout ``ship_weights.py bundle --runs`` reads; the
    job's report in ``runs/remote-report``) and score every returned model with what the remote machine lacks (LPIPS,
    identity, Real-ESRGAN x4plus) beside the bundled fast-psnr and bicubic on the CelebA-HQ test split: the
    ``gpu-celeba-hq-test`` table in ``results``. Which model ships is decided on validation faces (``score``)."""
    try:
        print(transport_summary(unpack(files_at, runs)))
    except (FileNotFoundError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    # ship_weights.py bundles fast-psnr from RUNS/fast/psnr-stage (the PSNR stage of a `fast` run); here it is a run
    # of its own.
    if (runs / "fast-psnr" / FINAL_MODEL).is_dir():
        (runs / "fast").mkdir(parents=True, exist_ok=True)
        link = runs / "fast" / "psnr-stage"
        if link.is_symlink() or link.exists():
            link.unlink()
        link.symlink_to(Path("..") / "fast-psnr" / FINAL_MODEL)
    if reports := sorted(files_at.rglob("report.tar.gz")):
        with tarfile.open(reports[0]) as tar:
            tar.extractall(runs / "remote-report", filter="data")
        print(f"the job's report: {runs / 'remote-report'} (results/gpu-celeba-hq-test.md: its PSNR/SSIM table)")
    rows = [arg for folder in sorted(runs.glob(f"*/{FINAL_MODEL}")) if (folder / "config.json").is_file()
            for arg in ("--model", str(folder))]
    if not rows:
        print(f"no models unpacked into {runs}", file=sys.stderr)
        return 1
    results.mkdir(parents=True, exist_ok=True)
    command = [*python(), "-m", "facesr_hub.evaluate", "--data", str(data / TEST_SOURCE), "--split", "test", *rows,
               "--model", "fast-psnr", "--baseline", "bicubic", "--baseline", "realesrgan",
               *([] if speed else ["--no-speed"]),
               *(arg for name in RECIPE_TRUE_256 for arg in ("--train-data", str(data / name))), "--grid-images", "3",
               "--json", str(results / f"{TABLE}.json"), "--grid", str(results / f"{TABLE}-grid.png")]
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True)
    (results / f"{TABLE}.md").write_text(done.stdout)
    print(done.stdout + done.stderr[-3000:] * (done.returncode != 0))
    return done.returncode


# ========================================================================================================= score, pick
def pick(rows: dict[str, dict], runs: Path) -> tuple[list[str], list[str]]:
    """The rule: a returned run ``RUNS/NAME/model`` replaces the bundled ``NAME`` when its PSNR on the same validation
    faces is higher (these are PSNR-stage models, whose targets are PSNR over bicubic). A bundled model that another
    is blended with (``PAIRED``) is not replaced by an unrelated net; a run with no bundled twin is reported, not
    bundled. Returns (names to ship, one line per run)."""
    bicubic = rows["bicubic"]["metrics"]["psnr"] if "bicubic" in rows else None
    prefix = f"{runs.as_posix().rstrip('/')}/"
    ship, lines = [], []
    for row_name, row in rows.items():
        if not (row_name.startswith(prefix) and row_name.endswith(f"/{FINAL_MODEL}")):
            continue
        name = row_name[len(prefix):-len(f"/{FINAL_MODEL}")]
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


def pick_table(table: Path, runs: Path) -> tuple[int, str]:
    """(exit status, what to print): ``pick``'s lines and a last line ``ship NAME...`` (possibly empty)."""
    from pick_candidate import read_table

    try:
        _, rows = read_table(table)
    except (OSError, ValueError) as error:
        return 2, f"error: {error}"
    ship, lines = pick(rows, runs)
    if not lines:
        return 2, f"error: no rows of {runs}/NAME/{FINAL_MODEL} in {table}"
    return 0, "\n".join([*lines, "ship " + " ".join(ship)])


def score(runs: Path, data: Path, out: Path) -> int:
    """Score the returned runs beside their bundled twins on ``VAL_FACES`` validation faces (clean inputs) into
    ``out``.{md,json}, then apply ``pick``'s rule. The test table (``finish``) reports; this one decides."""
    rows = []
    for folder in sorted(runs.glob(f"*/{FINAL_MODEL}")):
        if not (folder / "config.json").is_file() or folder.parent.is_symlink():
            continue
        rows += ["--model", str(folder)]
        if (REPO / BUNDLED / folder.parent.name / "config.json").is_file():
            rows += ["--model", folder.parent.name]
    if not rows:
        print(f"no runs with a {FINAL_MODEL}/ under {runs}", file=sys.stderr)
        return 1
    out.parent.mkdir(parents=True, exist_ok=True)
    done = subprocess.run([*python(), "-m", "facesr_hub.evaluate", "--data", str(data / VAL_SOURCE), "--split", "val",
                           "--limit", str(VAL_FACES), *rows, "--baseline", "bicubic", "--no-speed",
                           "--json", f"{out}.json"], cwd=REPO, capture_output=True, text=True)
    if done.returncode != 0:
        print(done.stdout + done.stderr[-3000:], file=sys.stderr)
        return done.returncode
    status, picked = pick_table(Path(f"{out}.json"), runs)
    Path(f"{out}.md").write_text(done.stdout + picked + "\n")
    print(done.stdout + picked)
    return status


# ================================================================================================================ main
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0], epilog=__doc__.split("\n", 2)[2],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    verbs = parser.add_subparsers(dest="verb", required=True)
    p = verbs.add_parser("subset", help="copy a data subset that fits a job")
    p.add_argument("out", type=Path)
    p.add_argument("--data", type=Path, default=default_data())
    p.add_argument("--max-mib", type=float, default=48.0)
    verbs.add_parser("slim", help="stop the bundled weights and the docs' grids from travelling with the tree")
    verbs.add_parser("restore", help="undo slim")
    verbs.add_parser("show", help="is the tree slimmed")
    p = verbs.add_parser("prepare", help="build what the jobs send, check it fits, print the jobs")
    p.add_argument("--data", type=Path, default=default_data())
    p.add_argument("--models", nargs="+", default=list(TRAIN_MINUTES), help="recipes the train job runs")
    p.add_argument("--margin-mib", type=float, default=MARGIN_MIB, help="room left for files written meanwhile")
    p.add_argument("--no-bench", action="store_true", help="skip the bench job's wheel and landmarks")
    p = verbs.add_parser("job", help="on the remote machine: train or bench, results into $OUT")
    p.add_argument("kind", choices=["train", "bench"])
    p.add_argument("--out", type=Path, default=Path(os.environ["OUT"]) if os.environ.get("OUT") else None,
                   help="the job's output folder (default $OUT)")
    p.add_argument("--models", nargs="+", default=list(TRAIN_MINUTES))
    p.add_argument("--minutes-scale", type=float, default=MINUTES_SCALE, help="times each model's minutes")
    p.add_argument("--subset", type=Path, default=SUBSET)
    p.add_argument("--runs", type=Path, default=RUNS)
    p.add_argument("--smoke", action="store_true", help="a few steps per model (the CPU test of the train job)")
    p.add_argument("--bench-scale", type=float, default=1.0, help="times each benchmark's time limit")
    p = verbs.add_parser("pack", help="on the remote machine: trained runs -> weight parts in OUT")
    p.add_argument("--runs", type=Path, required=True)
    p.add_argument("--names", nargs="+", required=True)
    p.add_argument("--probe", type=Path, required=True, help="held-out HR faces for the float16 check")
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--part-mib", type=float, default=PART_MIB)
    p.add_argument("--keep-fp32", nargs="*", default=list(KEEP_FP32))
    p.add_argument("--max-weights-mib", type=float, default=MAX_WEIGHTS_MIB)
    p = verbs.add_parser("unpack", help="here: returned files -> runs")
    p.add_argument("files_at", type=Path)
    p.add_argument("--runs", type=Path, default=RUNS)
    p = verbs.add_parser("finish", help="here: unpack the train job's files and score them fully")
    p.add_argument("files_at", type=Path)
    p.add_argument("--data", type=Path, default=default_data())
    p.add_argument("--runs", type=Path, default=RUNS)
    p.add_argument("--results", type=Path, default=Path("docs/results"))
    p.add_argument("--no-speed", action="store_true")
    p = verbs.add_parser("score", help="here: validation table of the returned runs, then pick's rule")
    p.add_argument("--runs", type=Path, default=RUNS)
    p.add_argument("--data", type=Path, default=default_data())
    p.add_argument("--out", type=Path, default=Path("docs/results/gpu-candidates-val"))
    p = verbs.add_parser("pick", help="the rule alone, on a score table")
    p.add_argument("table", type=Path)
    p.add_argument("--runs", type=Path, default=RUNS, help="where the returned runs were unpacked")
    args = parser.parse_args(argv)

    if args.verb == "subset":
        try:
            counts = make_subset(args.data, args.out, args.max_mib)
        except (FileExistsError, FileNotFoundError, ValueError) as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
        print(", ".join(f"{k}: {v}" for k, v in counts.items()) + f"; {folder_bytes(args.out) / MiB:.1f} MiB")
    elif args.verb == "slim":
        try:
            files = slim()
        except RuntimeError as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
        print(f"slimmed: {len(files)} files out of the index (still on disk); `python tools/remote_gpu.py restore` "
              "after the jobs, before anything is committed")
    elif args.verb == "restore":
        restore()
        print("restored")
    elif args.verb == "show":
        print("slim: " + ", ".join(SLIM_PATHS) if is_slim() else "not slimmed")
    elif args.verb == "prepare":
        return prepare(args.data, args.models, args.margin_mib, bench=not args.no_bench)
    elif args.verb == "job":
        if args.out is None:
            parser.error("job: --out or $OUT (the job's output folder) is needed")
        if args.kind == "bench":
            return job_bench(args.out, args.bench_scale)
        return job_train(args.out, args.models, args.subset, args.runs, args.minutes_scale, args.smoke)
    elif args.verb == "pack":
        try:
            record = pack(args.runs, args.names, args.probe, args.out, args.part_mib, set(args.keep_fp32),
                          args.max_weights_mib)
        except (FileNotFoundError, ValueError) as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
        print(transport_summary(record))
    elif args.verb == "unpack":
        try:
            print(transport_summary(unpack(args.files_at, args.runs)))
        except (FileNotFoundError, ValueError) as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
    elif args.verb == "finish":
        return finish(args.files_at, args.data, args.runs, args.results, speed=not args.no_speed)
    elif args.verb == "score":
        return score(args.runs, args.data, args.out)
    else:
        status, text = pick_table(args.table, args.runs)
        print(text, file=sys.stderr if status else sys.stdout)
        return status
    return 0


if __name__ == "__main__":
    sys.exit(main())
