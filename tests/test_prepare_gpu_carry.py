"""tools/prepare_gpu_carry.py: the training call's carry fits the device tool's 64 MiB beside this working tree."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from paths import REPO, SHARED_DATA

sys.path.insert(0, str(REPO / "tools"))
import prepare_gpu_carry  # noqa: E402

MiB = 2**20
#: Below this much room the subset is the held-out test split and a token training set: the GPU call is pointless.
MIN_SPARE_MIB = 8.0
QUALITY_FP16_MIB = 22.3  # stop 29's GPU-trained `quality`, what a continuation carries


def test_the_slimmed_tree_leaves_room_for_a_data_subset_and_a_continued_run():
    tree = prepare_gpu_carry.slimmed_tree_bytes() / MiB
    assert prepare_gpu_carry.LIMIT_MIB - tree - QUALITY_FP16_MIB >= MIN_SPARE_MIB, (
        f"the slimmed working tree is {tree:.1f} MiB: the GPU call's data subset no longer fits beside it and "
        "`quality`'s weights (keep large files out of git, or add them to tools/slim_tree.py's SLIM_PATHS)")


def test_the_bench_call_carries_the_bundled_model_it_needs_only_when_slimmed():
    """app_cuda.py runs the bundled `fast`: a slimmed tree does not send it, so the bench call must carry it."""
    assert (REPO / prepare_gpu_carry.BENCH_WEIGHTS / "model.safetensors").is_file()
    assert prepare_gpu_carry.BENCH_WEIGHTS.name == "fast"
    assert prepare_gpu_carry.BENCH_WEIGHTS in prepare_gpu_carry.bench_carry(slimmed=True)
    assert prepare_gpu_carry.BENCH_WEIGHTS not in prepare_gpu_carry.bench_carry(slimmed=False)


def test_carried_folders_are_ignored_so_they_travel_once():
    carry = prepare_gpu_carry
    for folder in (carry.SUBSET, carry.WHEELS, carry.EXTRAS, carry.INIT):
        assert prepare_gpu_carry.ignored(folder), folder


def test_subset_sized_to_the_spare_room_fits_with_the_tree(tmp_path: Path):
    tree = prepare_gpu_carry.slimmed_tree_bytes() / MiB
    spare = prepare_gpu_carry.LIMIT_MIB - tree - 1.5
    subset = prepare_gpu_carry.prepare_subset(SHARED_DATA, spare, repo=tmp_path)
    assert tree + subset <= prepare_gpu_carry.LIMIT_MIB - 1.0
    made = tmp_path / prepare_gpu_carry.SUBSET
    in_blocks = sum(-(-p.stat().st_size // 4096) * 4096 for p in made.rglob("*") if p.is_file()) / MiB
    assert in_blocks == pytest.approx(subset) and in_blocks <= spare
    assert any((made / "celeba-hq-256-test").iterdir())
    assert all(any((made / "train" / source).iterdir()) for source in ("celebamask-hq-256", "celeba", "utkface"))


def test_files_count_in_whole_blocks_as_the_device_tool_counts_them(tmp_path: Path):
    """Stop 30's refused call: 3,100 small JPEGs counted by their bytes came to 62.5 MiB, in 4 KiB blocks to 69.6."""
    (tmp_path / "one-byte").write_bytes(b"x")
    (tmp_path / "a-block-and-a-byte").write_bytes(bytes(4097))
    (tmp_path / "empty").write_bytes(b"")
    assert [prepare_gpu_carry.sent_size(tmp_path / name) for name in ("one-byte", "a-block-and-a-byte", "empty")] == [
        4096, 8192, 0]
    faces = tmp_path / "faces"
    faces.mkdir()
    for index in range(100):
        (faces / f"{index}.jpg").write_bytes(bytes(1000))
    assert prepare_gpu_carry.folder_bytes(faces) == 100 * 4096  # not 100 * 1000


def test_init_weights_are_copied_for_the_carry_and_bad_ones_refused(tmp_path: Path):
    source = REPO / "facesr_hub" / "weights" / "upsample-fixed"
    size = prepare_gpu_carry.prepare_init({"upsample-fixed": source}, repo=tmp_path)
    copied = tmp_path / prepare_gpu_carry.INIT / "upsample-fixed"
    assert (copied / "model.safetensors").read_bytes() == (source / "model.safetensors").read_bytes()
    assert size > 0
    with pytest.raises(FileNotFoundError, match="not a saved model"):
        prepare_gpu_carry.prepare_init({"quality": tmp_path / "nowhere"}, repo=tmp_path)
    with pytest.raises(ValueError, match="NAME=MODEL_DIR"):
        prepare_gpu_carry.parse_init(["quality"])
    assert prepare_gpu_carry.parse_init(["quality=runs/gpu/quality/model"]) == {
        "quality": Path("runs/gpu/quality/model")}


def test_init_beside_the_full_tree_is_refused_before_anything_is_copied(capsys, tmp_path: Path):
    """Weights as big as `quality`'s do not fit beside the unslimmed tree (since stop 30 nothing does): a clear error
    naming the fix, and no .gpu-init or subset touched."""
    if prepare_gpu_carry.LIMIT_MIB - prepare_gpu_carry.tree_bytes() / MiB - QUALITY_FP16_MIB >= 9.5:
        pytest.skip("the tree is slimmed (or small enough) here")
    big = tmp_path / "quality"
    big.mkdir()
    (big / "config.json").write_text("{}")
    (big / "model.safetensors").write_bytes(bytes(int(QUALITY_FP16_MIB * MiB)))
    init = REPO / prepare_gpu_carry.INIT
    before = init.exists(), sorted(init.rglob("*"))
    assert prepare_gpu_carry.main(["--init", f"quality={big}", "--no-bench"]) == 2
    assert "tools/slim_tree.py slim" in capsys.readouterr().err
    assert (init.exists(), sorted(init.rglob("*"))) == before
