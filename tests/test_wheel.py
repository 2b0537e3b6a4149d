"""Shipped means installable: the wheel carries every bundled model, and an installed wheel loads ``fast`` offline.

The install test builds the wheel with ``uv build``, installs it with ``--no-deps`` into a fresh venv and runs the
model from a folder outside the repository, so only the installed copy of ``facesr_hub`` can be imported.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
WEIGHTS = REPO / "facesr_hub" / "weights"
MODEL_FILES = ("config.json", "model.safetensors", "README.md")  # one save_pretrained folder per bundled model
MAX_WEIGHTS_BYTES = 60e6

# Runs inside the fresh venv; prints one JSON line for the test to check.
LOAD_FAST = """
import json, torch, facesr_hub
from facesr_hub import bundled_model_names, bundled_weights_dir, load_generator
model = load_generator("fast", device="cpu")
with torch.inference_mode():
    out = model(torch.rand(1, 3, 64, 64))
print(json.dumps({"module": facesr_hub.__file__, "weights": str(bundled_weights_dir()),
                  "names": bundled_model_names(), "shape": list(out.shape), "finite": bool(torch.isfinite(out).all())}))
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


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project's wheel, built from this working tree as ``uv build --wheel`` builds it for release."""
    out = tmp_path_factory.mktemp("dist")
    _run(_uv(), "build", "--wheel", "--out-dir", str(out), str(REPO), cwd=out)
    [built] = out.glob("facesr_hub-*.whl")
    return built


def test_wheel_holds_every_bundled_model(wheel: Path) -> None:
    folders = _bundled_folders()
    assert {"fast", "fast-psnr"} <= set(folders)
    with zipfile.ZipFile(wheel) as archive:
        sizes = {info.filename: info.file_size for info in archive.infolist()}
    for name in folders:
        for file in MODEL_FILES:
            member = f"facesr_hub/weights/{name}/{file}"
            assert member in sizes, f"{wheel.name} lacks {member}"
            assert sizes[member] == (WEIGHTS / name / file).stat().st_size, f"{member} differs from the repo's copy"
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
    # The runtime dependencies (torch, huggingface_hub, ...) come from the project's environment instead of a second
    # multi-GB download: a .pth line appends that site-packages *after* the venv's own, and a plain path line does
    # not run the .pth files in it, so the project's editable hook (which would put the repo on sys.path) stays off.
    (site_packages / "project_runtime_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "FACESR_WEIGHTS_DIR", "VIRTUAL_ENV"}}
    env["HF_HUB_OFFLINE"] = "1"  # bundled models must never reach for the network
    outside = tmp_path / "elsewhere"  # the working directory is on sys.path: keep the repo's facesr_hub/ off it
    outside.mkdir()
    result = _run(str(python), "-c", LOAD_FAST, cwd=outside, env=env)
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert Path(report["module"]).resolve().is_relative_to(site_packages.resolve()), report["module"]
    assert Path(report["weights"]).resolve() == (site_packages / "facesr_hub" / "weights").resolve()
    assert report["names"] == _bundled_folders()
    assert report["shape"] == [1, 3, 256, 256] and report["finite"]
