"""tools/slim_tree.py: what a device call sends shrinks while slimmed, comes back exactly on restore, and a commit in
between is stopped; and a slimmed tree, as the device receives it, still trains (continuing from carried weights)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file
from test_gpu_device_run import device_like_env, make_subset

from facesr_hub import GENERATORS
from paths import REPO

sys.path.insert(0, str(REPO / "tools"))
from prepare_gpu_carry import tree_bytes, tree_files  # noqa: E402
from slim_tree import SLIM_PATHS, is_slim, restore, slim, slimmed_bytes  # noqa: E402

MiB = 2**20


def git(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=repo, capture_output=True,
                          text=True)


@pytest.fixture
def small_repo(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    files = {"facesr_hub/weights/fast/model.safetensors": "w", "facesr_hub/weights/fast/config.json": "{}",
             "facesr_hub/core.py": "x = 1\n", "docs/results/grid.png": "png", "docs/results/table.md": "t",
             ".gitignore": "/runs/\n/docs/results/local.png\n", "docs/results/local.png": "an ignored, local grid"}
    for name, text in files.items():
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_text(text)
    git(repo, "init", "-q")
    (repo / ".git" / "info").mkdir(exist_ok=True)
    (repo / ".git" / "info" / "exclude").write_text("/mine/\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "first")
    return repo


def test_slim_and_restore(small_repo: Path):
    before = tree_files(small_repo)
    taken = slim(small_repo)
    assert sorted(taken) == ["docs/results/grid.png", "facesr_hub/weights/fast/config.json",
                             "facesr_hub/weights/fast/model.safetensors"]
    assert is_slim(small_repo)
    assert tree_files(small_repo) == {".gitignore", "facesr_hub/core.py", "docs/results/table.md"}
    assert all((small_repo / name).is_file() for name in taken)  # on disk all along
    assert slimmed_bytes(small_repo) == 3 * 4096  # what restore adds back, in whole blocks; not local.png
    # the bench call carries facesr_hub/weights/fast while slimmed: ignored, so it travels once, as carry
    assert git(small_repo, "check-ignore", "-q", "facesr_hub/weights/fast").returncode == 0

    (small_repo / "facesr_hub" / "core.py").write_text("x = 2\n")
    git(small_repo, "add", "facesr_hub/core.py")
    stopped = git(small_repo, "commit", "-q", "-m", "would delete the weights")
    assert stopped.returncode != 0 and "slim_tree.py restore" in stopped.stderr
    assert git(small_repo, "log", "--oneline").stdout.count("\n") == 1

    restore(small_repo)
    assert not is_slim(small_repo)
    assert tree_files(small_repo) == before
    assert git(small_repo, "status", "--porcelain").stdout == "M  facesr_hub/core.py\n"  # the user's change stays
    assert (small_repo / ".git" / "info" / "exclude").read_text() == "/mine/\n"
    assert git(small_repo, "check-ignore", "-q", "facesr_hub/weights/fast").returncode != 0
    assert not (small_repo / ".git" / "hooks" / "pre-commit").exists()
    assert git(small_repo, "commit", "-q", "-m", "now it may").returncode == 0
    assert git(small_repo, "ls-files", "facesr_hub/weights").stdout  # the commit kept the weights


def test_slim_refuses_uncommitted_changes_to_what_it_takes(small_repo: Path):
    (small_repo / "docs" / "results" / "grid.png").write_text("a new grid")
    with pytest.raises(RuntimeError, match="grid.png"):
        slim(small_repo)
    assert not is_slim(small_repo)
    assert git(small_repo, "status", "--porcelain").stdout == " M docs/results/grid.png\n"


@pytest.mark.timeout(900)
def test_a_slimmed_tree_as_the_device_gets_it_trains_from_carried_weights(tmp_path: Path):
    """The repository slimmed, then copied file by file as the device tool copies it (tracked and
    untracked-not-ignored files only): small enough for `quality`'s 22 MiB and a data subset beside it, and the train
    call still runs, continuing `upsample-fixed` from weights carried in .gpu-init."""
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(REPO), str(clone)], check=True)
    for name in git(REPO, "ls-files", "--modified", "--others", "--exclude-standard").stdout.split():
        if (REPO / name).is_file():  # this checkout's uncommitted work travels too
            (clone / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, clone / name)
    git(clone, "add", "-A")
    git(clone, "commit", "-q", "-m", "uncommitted work", "--allow-empty")
    slim(clone)
    device = tmp_path / "device"
    for name in tree_files(clone):
        (device / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(clone / name, device / name)
    sent = tree_bytes(clone)  # what a call from the slimmed clone sends: the files copied above
    assert sent < 8 * MiB, f"{sent / MiB:.1f} MiB"
    assert not (device / "facesr_hub" / "weights").exists()
    assert not any(device.glob(SLIM_PATHS[1]))

    fixed = {"norm": "none", "output_activation": "none", "bicubic_skip": True}
    start = GENERATORS["upsample"](**fixed)
    with torch.no_grad():
        for parameter in start.parameters():
            parameter.fill_(0.01)  # unlike any random init, so the trained weights show where they started
    start.save_pretrained(device / ".gpu-init" / "upsample-fixed")
    subset, out, runs = make_subset(tmp_path, faces=8), tmp_path / "out", device / "runs" / "gpu"
    out.mkdir()
    env = device_like_env(tmp_path, FACESR_GPU_SMOKE="1", OUT=str(out), FACESR_GPU_SUBSET=str(subset),
                          FACESR_GPU_MODELS="upsample-fixed", FACESR_GPU_INIT=".gpu-init")
    done = subprocess.run([str(device / "tools" / "gpu_device_run.sh"), "train"], cwd=device, env=env,
                          capture_output=True, text=True, timeout=800)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert sorted(p.name for p in (runs / "weights").iterdir()) == ["upsample-fixed"]  # FACESR_GPU_MODELS: only it
    with tarfile.open(out / "report.tar.gz") as report:
        table = json.load(report.extractfile("./results/gpu-celeba-hq-test.json"))
    assert [row["name"] for row in table["rows"]] == ["runs/gpu/weights/upsample-fixed", "bicubic", "lanczos"]
    config = json.loads((runs / "upsample-fixed" / "train_config.json").read_text())
    assert config["init_from"] == ".gpu-init/upsample-fixed"
    weights = load_file(runs / "upsample-fixed" / "model" / "model.safetensors")
    filled = [name for name, _ in start.named_parameters()]  # (buffers were not filled)
    assert max((weights[name].float() - 0.01).abs().max().item() for name in filled) < 0.01
