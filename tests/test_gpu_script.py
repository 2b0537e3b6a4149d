"""tools/train_gpu.sh end to end on CPU with a tiny budget: every architecture trains, is evaluated and shipped."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from training_fixtures import make_face_like

from facesr_hub import load_generator
from paths import CELEBA_HQ, REPO

SHIPPED = ["fast", "fast-psnr", "quality", "upsample-fixed", "residual-attention", "pixelshuffle-v1-fixed",
           "pixelshuffle-v2-fixed", "upsample", "pixelshuffle-v1", "pixelshuffle-v2"]


@pytest.mark.slow
@pytest.mark.timeout(1800)  # nine tiny runs start at once: minutes on two cores, most of it imports
def test_gpu_recipe_runs_end_to_end_on_cpu_with_a_tiny_budget(tmp_path: Path):
    subset = tmp_path / "subset"
    train = subset / "train" / "faces"
    train.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for i in range(24):  # hash splits keep ~90% for training and a few for validation
        make_face_like(rng, 178, 218).save(train / f"{i:04d}.jpg", quality=95)
    (subset / "celeba-hq-256-test").mkdir()
    for name in ("00000.png", "00001.png"):
        shutil.copy(CELEBA_HQ / name, subset / "celeba-hq-256-test" / name)
    env = {**os.environ, "FACESR_GPU_SMOKE": "1", "FACESR_WEIGHTS_OUT": str(tmp_path / "weights"),
           "FACESR_RESULTS_OUT": str(tmp_path / "results"), "OMP_NUM_THREADS": "1", "CUDA_VISIBLE_DEVICES": ""}
    result = subprocess.run([str(REPO / "tools" / "train_gpu.sh"), str(subset), str(tmp_path / "runs")], env=env,
                            capture_output=True, text=True, timeout=1500)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert sorted(p.name for p in (tmp_path / "weights").iterdir()) == sorted(SHIPPED)
    for name in SHIPPED:  # strict loading of every shipped folder
        assert load_generator(tmp_path / "weights" / name, device="cpu").architecture
    report = json.loads((tmp_path / "results" / "gpu-celeba-hq-test.json").read_text())
    rows = {row["name"] for row in report["rows"]}
    assert {"bicubic", "lanczos"} <= rows and len(rows) == len(SHIPPED) + 2
    assert (tmp_path / "results" / "gpu-celeba-hq-test-grid.png").stat().st_size > 0
