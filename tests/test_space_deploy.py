"""``facesr space deploy``: a gradio or a static Space, created then updated on the local test Hub (tests/conftest.py).

The models come from a folder of tiny weights (``FACESR_WEIGHTS_DIR``), so the uploads stay small and the test does
not depend on which models are bundled; the static Space's ONNX files there are stand-in bytes (the deploy copies
them, it never parses them: tests/test_web_page.py runs the real ones).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from huggingface_hub import constants
from test_app import make_tiny_weights

from facesr_hub.cli import main
from facesr_hub.space import deploy_space

REPO = Path(__file__).resolve().parents[1]
WEIGHT_FILES = ("config.json", "model.safetensors")


@pytest.fixture
def weights(tmp_path, monkeypatch) -> Path:
    """``fast``, ``fast-psnr`` and ``fast-real`` with weights, each with an ``onnx/model.onnx``."""
    folder = make_tiny_weights(tmp_path / "weights", names=("fast", "fast-psnr", "fast-real"))
    for name in ("fast", "fast-psnr", "fast-real"):
        (folder / name / "onnx").mkdir()
        (folder / name / "onnx" / "model.onnx").write_bytes(f"ONNX stand-in for {name}".encode())
    monkeypatch.setenv("FACESR_WEIGHTS_DIR", str(folder))
    return folder


def card(files: dict[str, bytes]) -> dict:
    return yaml.safe_load(files["README.md"].decode().split("---")[1])


def weight_folders(files: dict[str, bytes]) -> set[str]:
    return {path.split("/")[2] for path in files if path.startswith("facesr_hub/weights/")}


def test_gradio_space_holds_the_app_and_the_chosen_weights_only(hub_server, hub_repo_id, weights, capsys):
    """The app, the package and only the chosen models' weights; a second deploy is a commit that updates it."""
    assert main(["space", "deploy", hub_repo_id, "--models", "fast,fast-real"]) == 0
    assert f"deployed {hub_server.url}/spaces/{hub_repo_id}" in capsys.readouterr().out
    files = hub_server.files(hub_repo_id, repo_type="space")

    for name in ("app.py", "requirements.txt", ".gitattributes"):
        assert files[name] == (REPO / name).read_bytes(), name
    assert files["facesr_hub/app/ui.py"] == (REPO / "facesr_hub/app/ui.py").read_bytes()
    assert "facesr_hub/__init__.py" in files and "examples/celeba_hq_00310.png" in files
    assert not [path for path in files if "__pycache__" in path or path.endswith((".pyc", ".pyi"))]
    assert weight_folders(files) == {"fast", "fast-real"}  # not fast-psnr, nor any of the package's own
    for name in ("fast", "fast-real"):
        for file in WEIGHT_FILES:
            assert files[f"facesr_hub/weights/{name}/{file}"] == (weights / name / file).read_bytes()
        # a CPU Space runs onnxruntime (requirements.txt holds [onnx]): the exported file comes along
        assert files[f"facesr_hub/weights/{name}/onnx/model.onnx"] == (weights / name / "onnx" / "model.onnx").read_bytes()
    metadata = card(files)
    assert (metadata["sdk"], metadata["app_file"]) == ("gradio", "app.py")
    assert "*.safetensors filter=lfs" in files[".gitattributes"].decode()

    # The second deploy is a new commit: fast-psnr comes in, fast-real goes.
    first = hub_server.commits(hub_repo_id, repo_type="space")
    url, oid = deploy_space(hub_repo_id, models=["fast", "fast-psnr"])
    commits = hub_server.commits(hub_repo_id, repo_type="space")
    assert len(commits) == len(first) + 1 and commits[0].sha == oid
    assert weight_folders(hub_server.files(hub_repo_id, repo_type="space")) == {"fast", "fast-psnr"}
    # Deploying the same again changes nothing, and does not fail either.
    assert deploy_space(hub_repo_id, models=["fast", "fast-psnr"]) == (url, oid)


@pytest.mark.skipif(shutil.which("npm") is None, reason="the static Space is built with npm (web/build.sh): "
                                                        "install Node.js and npm")
def test_static_space_holds_the_built_page_and_its_models(hub_server, hub_repo_id, weights):
    url, _ = deploy_space(hub_repo_id, static=True, models=["fast-real"],
                          app_url="https://huggingface.co/spaces/user/facesr-app")
    files = hub_server.files(hub_repo_id, repo_type="space")

    for name in ("main.js", "resize.js", "style.css"):
        assert files[name] == (REPO / "web" / name).read_bytes(), name
    assert 'content="https://huggingface.co/spaces/user/facesr-app"' in files["index.html"].decode()
    assert {"ort/ort.wasm.bundle.min.mjs", "ort/ort-wasm-simd-threaded.wasm"} <= set(files)
    assert [path for path in files if path.startswith("models/")] == ["models/fast-real.onnx"]
    assert files["models/fast-real.onnx"] == (weights / "fast-real" / "onnx" / "model.onnx").read_bytes()
    assert '"name": "fast-real"' in files["models.json"].decode()
    assert not [path for path in files if path.endswith((".py", ".safetensors"))]
    metadata = card(files)
    assert (metadata["sdk"], metadata["app_file"]) == ("static", "index.html")
    assert "sdk_version" not in metadata and "python_version" not in metadata
    assert "*.wasm filter=lfs" in files[".gitattributes"].decode()
    assert url.endswith(f"/spaces/{hub_repo_id}")


def test_unknown_models_and_missing_onnx_files_are_refused_before_anything_is_sent(hub_server, hub_repo_id, weights,
                                                                                  capsys):
    assert main(["space", "deploy", hub_repo_id, "--models", "fast,nope"]) == 1
    assert "error: not a bundled model: nope (bundled: fast, fast-psnr, fast-real)" in capsys.readouterr().err
    (weights / "fast" / "onnx" / "model.onnx").unlink()
    assert main(["space", "deploy", hub_repo_id, "--static", "--models", "fast,fast-real"]) == 1
    error = capsys.readouterr().err
    assert "the static Space runs ONNX models and these have no" in error and "onnx/model.onnx: fast;" in error
    assert not [r for r in hub_server.requests if hub_repo_id in r[1]]


def test_without_a_token_the_error_says_how_to_log_in(hub_server, hub_repo_id, weights, tmp_path, monkeypatch,
                                                      capsys):
    monkeypatch.delenv("HF_TOKEN", raising=False)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "empty-hf-home"))
    # huggingface_hub reads HF_HOME once, on import: point its token file there too.
    monkeypatch.setattr(constants, "HF_TOKEN_PATH", str(tmp_path / "empty-hf-home" / "token"))
    monkeypatch.setattr(constants, "HF_STORED_TOKENS_PATH", str(tmp_path / "empty-hf-home" / "stored_tokens"))

    assert main(["space", "deploy", hub_repo_id]) == 1
    error = capsys.readouterr().err
    assert "error: no Hugging Face token found" in error and "hf auth login" in error and "HF_TOKEN" in error
    assert not [r for r in hub_server.requests if hub_repo_id in r[1]]  # nothing was sent to the Hub
