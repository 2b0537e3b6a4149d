"""tools/pack_gpu_weights.py: the GPU models' way back through the device tool's return limits, and the checks that
catch a transfer that came back short or damaged."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest
import torch

from facesr_hub import load_generator
from facesr_hub.data import collect_images
from facesr_hub import FastGenerator
from paths import CELEBA_HQ, REPO

sys.path.insert(0, str(REPO / "tools"))
import pack_gpu_weights  # noqa: E402


def _run(runs: Path, name: str, seed: int, features: int) -> None:
    """A run folder as the trainer leaves it: model/, train_config.json."""
    torch.manual_seed(seed)
    model = FastGenerator(num_features=features, num_convs=2)
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.add_(torch.randn_like(parameter) * 0.05)
    model.save_pretrained(runs / name / "model")
    (runs / name / "model" / "README.md").write_text(f"# {name}\n")
    (runs / name / "train_config.json").write_text(json.dumps({"arch": "fast"}))


@pytest.fixture
def runs(tmp_path: Path) -> Path:
    runs = tmp_path / "runs"
    _run(runs, "small", 0, 8)
    _run(runs, "big", 1, 64)
    return runs


@pytest.fixture(scope="module")
def probe(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("probe")
    for record in collect_images(CELEBA_HQ, "test")[:2]:
        shutil.copy(record.path, folder / record.path.name)
    return folder


def test_round_trip_keeps_every_model_loadable_and_close(runs: Path, probe: Path, tmp_path: Path):
    out, back = tmp_path / "out", tmp_path / "back"
    record = pack_gpu_weights.pack(runs, ["small", "big"], probe, out, part_mib=0.05, keep_fp32={"small"})
    assert record["parts"] == len(list(out.glob("weights.tar.part-*"))) > 1  # split, each part within the size
    assert all(p.stat().st_size <= 0.05 * 2**20 + 1 for p in out.glob("weights.tar.part-*"))
    pack_gpu_weights.unpack(out, back)
    assert record["models"]["small/model"]["stored_as"] == "float32"
    for name in ("small", "big"):
        before = load_generator(runs / name / "model", device="cpu").state_dict()
        after = load_generator(back / name / "model", device="cpu").state_dict()
        exact = record["models"][f"{name}/model"]["stored_as"] == "float32"
        for key, tensor in before.items():
            torch.testing.assert_close(after[key], tensor, rtol=0 if exact else 1e-3, atol=0 if exact else 1e-4)
        assert (back / name / "train_config.json").is_file() and (back / name / "model" / "README.md").is_file()


def test_over_budget_the_largest_go_float16_and_say_so(runs: Path, probe: Path, tmp_path: Path):
    sizes = {name: sum(t.numel() * 4 for t in load_generator(runs / name / "model").state_dict().values())
             for name in ("small", "big")}
    budget = (sizes["small"] + sizes["big"] / 2) / 2**20 + 1e-6  # room for big only in float16
    record = pack_gpu_weights.pack(runs, ["small", "big"], probe, tmp_path / "out", part_mib=15,
                                   keep_fp32={"small", "nothing-else"}, max_weights_mib=budget)
    assert record["models"]["big/model"]["stored_as"] == "float16"
    assert "to fit" in record["models"]["big/model"].get("note", "") or \
        record["models"]["big/model"]["fp16_cost_db"] <= pack_gpu_weights.MAX_FP16_LOSS_DB
    with pytest.raises(ValueError, match="even in float16"):
        pack_gpu_weights.pack(runs, ["small", "big"], probe, tmp_path / "out2", part_mib=15,
                              keep_fp32={"small", "big"}, max_weights_mib=budget)


def test_a_run_without_a_model_is_refused(runs: Path, probe: Path, tmp_path: Path):
    (runs / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="no trained model folder"):
        pack_gpu_weights.pack(runs, ["small", "empty"], probe, tmp_path / "out", part_mib=15, keep_fp32=set())


@pytest.mark.parametrize("damage", ["missing", "corrupt"])
def test_unpack_refuses_a_short_or_damaged_transfer(runs: Path, probe: Path, tmp_path: Path, damage: str):
    out = tmp_path / "out"
    pack_gpu_weights.pack(runs, ["small", "big"], probe, out, part_mib=0.05, keep_fp32=set())
    last = sorted(out.glob("weights.tar.part-*"))[-1]
    if damage == "missing":
        last.unlink()
    else:
        data = bytearray(last.read_bytes())
        data[len(data) // 2] ^= 0xFF
        last.write_bytes(bytes(data))
    assert pack_gpu_weights.main(["unpack", str(out), "--runs", str(tmp_path / "back")]) == 2
    assert not (tmp_path / "back" / "big").exists()  # nothing half-extracted
