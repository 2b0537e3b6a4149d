"""`python -m facesr_hub.evaluate` end to end on a few real faces: table, JSON, grid, honesty checks."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn

from facesr_hub import FastGenerator, count_gmacs, count_parameters
from facesr_hub.data import degrade, discover_images, hash_split, list_files_hash, prepare_hr
from facesr_hub.evaluate import main
from facesr_hub.evaluation import (LABEL_HEIGHT, TrainingOverlapError, check_no_training_overlap, comparison_grid,
                                   evaluate, format_table, grid_size)
from facesr_hub.metrics import MetricSuite, psnr
from test_baselines import tiny_ldm_pipeline
from paths import CELEBA_HQ

FACES = CELEBA_HQ
NAMES = ["00000.png", "00001.png", "00002.png"]


@pytest.fixture(scope="module")
def faces(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("faces")
    for name in NAMES:
        shutil.copy(FACES / name, folder / name)
    return folder


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory) -> Path:
    torch.manual_seed(0)
    model = FastGenerator(num_features=8, num_convs=1)
    nn.init.normal_(model.body[-2].weight, std=0.01)  # its last conv starts at zero, i.e. exactly bicubic
    folder = tmp_path_factory.mktemp("tiny-fast")
    model.save_pretrained(folder)
    return folder


@pytest.fixture(autouse=True)
def _one_thread(one_thread):
    """Every test here runs with one intra-op thread (see conftest's ``one_thread``)."""


def _table_rows(out: str) -> dict[str, list[str]]:
    rows = [line.strip("|").split("|") for line in out.splitlines() if line.startswith("| ")]
    return {cells[0].strip(): [c.strip() for c in cells[1:]] for cells in rows}


def test_cli_prints_table_and_writes_json_and_grid(faces, tiny_model, tmp_path, capsys):
    json_path, grid_path = tmp_path / "out" / "eval.json", tmp_path / "grid.png"
    code = main(["--data", str(faces), "--model", str(tiny_model), "--baseline", "bicubic", "--baseline", "ldm",
                 "--json", str(json_path), "--grid", str(grid_path), "--grid-images", "2", "--cpu-repeats", "1"])
    assert code == 0
    out = capsys.readouterr().out
    files_hash = list_files_hash(discover_images(faces))
    assert str(faces) in out and "3 images" in out and files_hash[:16] in out  # the header pins the data
    assert "CPU timing batch 1 with 1 threads" in out and "not timed" not in out

    rows = _table_rows(out)
    assert list(rows) == ["method", str(tiny_model), "bicubic", "ldm"]
    assert rows["ldm"][0] == "unavailable"
    assert "ldm unavailable: LDM weights" in out
    header = rows["method"]
    assert header[:6] == ["PSNR", "SSIM", "PSNR-Y", "SSIM-Y", "LPIPS-alex ↓", "LPIPS-vgg ↓"]
    assert ("ID-sim" in header) != ("identity similarity omitted" in out)

    data = json.loads(json_path.read_text())
    assert data["image_names"] == NAMES and data["files_hash"] == files_hash and data["crop_border"] == 4
    by_name = {row["name"]: row for row in data["rows"]}
    assert by_name["ldm"]["unavailable"] and by_name["ldm"]["metrics"] == {}

    # Honesty: the bicubic row is exactly what the protocol gives when recomputed here by hand.
    hr = torch.stack([prepare_hr(faces / n, celeba_aligned=False) for n in NAMES]).float() / 255
    sr = F.interpolate(degrade(hr), scale_factor=4, mode="bicubic", align_corners=False).clamp(0, 1)
    expected = psnr((sr * 255).round() / 255, hr, crop_border=4)
    np.testing.assert_allclose(by_name["bicubic"]["per_image"]["psnr"], expected.tolist(), rtol=0, atol=1e-6)
    assert rows["bicubic"][0] == f"{expected.mean().item():.2f}"

    # Speed columns from the same run.
    model = FastGenerator(num_features=8, num_convs=1)
    speed = by_name[str(tiny_model)]["speed"]
    assert speed["params"] == count_parameters(model)
    assert speed["gmacs"] == pytest.approx(count_gmacs(model), rel=1e-6)
    assert speed["cpu_ms_per_image"] > 0
    assert (speed["cuda_images_per_s"] is None) == (not torch.cuda.is_available())
    assert by_name["bicubic"]["speed"]["params"] == 0

    # Grid: LR-nearest | bicubic | model | HR (the unavailable ldm has no column, bicubic is not repeated).
    grid = np.asarray(Image.open(grid_path).convert("RGB"))
    assert (grid.shape[1], grid.shape[0]) == grid_size(4, 2)
    hr_tile = grid[LABEL_HEIGHT:LABEL_HEIGHT + 256, 3 * 256:4 * 256]
    np.testing.assert_array_equal(hr_tile, np.asarray(Image.open(faces / NAMES[0]).convert("RGB")))


def test_limit_picks_the_same_subset_and_scores_every_time(faces, tmp_path):
    """Two runs agree to the last digit, the sampling (ldm, here a tiny random pipeline) included."""
    suite = MetricSuite("cpu", lpips_nets=("alex",), identity=False)
    options = dict(baselines=["bicubic", "lanczos", "ldm"], ldm_source=str(tiny_ldm_pipeline(tmp_path / "ldm")),
                   ldm_steps=2, limit=1, speed=False, suite=suite, device="cpu")
    first, second = evaluate(faces, **options), evaluate(faces, **options)
    assert len(first.image_names) == 1 and set(first.image_names) <= set(NAMES)
    assert first.image_names == second.image_names and first.files_hash == second.files_hash
    for a, b in zip(first.rows, second.rows, strict=True):
        assert a.unavailable is None and a.per_image == b.per_image
    assert len({row.metrics["psnr"] for row in first.rows}) == 3  # three different methods, really run
    assert [label for label, _ in first.grid_columns] == ["LR (nearest)", "bicubic", "lanczos", "ldm", "HR"]
    header = format_table(first).splitlines()[1]  # nothing was timed, so the header claims no timing setup
    assert "not timed (1 threads)" in header and "CPU timing" not in header


def test_grid_rejects_mismatched_columns():
    a = torch.zeros(2, 3, 16, 16, dtype=torch.uint8)
    assert comparison_grid([("a", a), ("b", a)]).size == grid_size(2, 2, tile=16)
    with pytest.raises(ValueError, match="same"):
        comparison_grid([("a", a), ("b", a[:1])])


def test_training_overlap_is_found_by_name_and_by_pixels(faces, tmp_path, capsys):
    train = tmp_path / "train-root"
    train.mkdir()
    assert hash_split("t0.png") == hash_split("00000.png") == "train"
    shutil.copy(faces / "00001.png", train / "t0.png")  # same pixels, another name
    shutil.copy(FACES / "00003.png", train / "00000.png")  # same name, another picture
    records = discover_images(faces)
    report = check_no_training_overlap(records, train, strict=False)
    assert report.pixel_matches == [("00001.png", "t0.png")]
    assert report.name_matches == [("00000.png", "00000.png")]
    with pytest.raises(TrainingOverlapError, match="OVERLAP"):
        check_no_training_overlap(records, train)
    assert main(["--data", str(faces), "--train-data", str(train)]) == 2
    assert "OVERLAP" in capsys.readouterr().err

    clean = tmp_path / "clean-root"
    clean.mkdir()
    shutil.copy(FACES / "00003.png", clean / "t0.png")
    assert not check_no_training_overlap(records, clean).overlapping


def test_realistic_lr_set_is_identical_across_runs_and_differs_from_bicubic(faces):
    suite = MetricSuite("cpu", lpips_nets=("alex",), identity=False)
    options = dict(baselines=["bicubic"], speed=False, suite=suite, device="cpu", grid_images=3)
    first = evaluate(faces, degradation="realistic", degradation_seed=4, **options)
    second = evaluate(faces, degradation="realistic", degradation_seed=4, **options)
    clean = evaluate(faces, **options)
    lr_first, lr_second = dict(first.grid_columns)["LR (nearest)"], dict(second.grid_columns)["LR (nearest)"]
    assert torch.equal(lr_first, lr_second)
    assert first.rows[0].per_image == second.rows[0].per_image
    assert not torch.equal(lr_first, dict(clean.grid_columns)["LR (nearest)"])
    assert "realistic_degrade" in first.protocol and "seed 4" in first.protocol
    assert clean.rows[0].metrics["psnr"] > first.rows[0].metrics["psnr"]  # realistic inputs are harder
