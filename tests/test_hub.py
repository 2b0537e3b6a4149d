"""Pushing to and loading from the Hub, through the real ``huggingface_hub`` client and the local test Hub.

Every call below goes over HTTP to the in-memory Hub of ``tests/hub_server/`` (see ``conftest.py``); each test downloads into a fresh
cache (``hub_cache``), so nothing depends on ``~/.cache`` or on another test.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from huggingface_hub import (HfApi, ModelCard, constants, get_hf_file_metadata, hf_hub_download, hf_hub_url,
                             snapshot_download)
from huggingface_hub.errors import (EntryNotFoundError, HfHubHTTPError, RepositoryNotFoundError,
                                    RevisionNotFoundError)
from safetensors.torch import load as load_safetensors_bytes

from facesr_hub import GENERATORS, CheckpointError, Generator, load_generator
from hub_server import git_blob_sha

INPUT = torch.rand(1, 3, 8, 8, generator=torch.Generator().manual_seed(0))


def random_generator(seed: int) -> Generator:
    """A tiny FastGenerator whose every weight is non-zero and depends on ``seed`` (its last conv starts at zero)."""
    torch.manual_seed(seed)
    model = GENERATORS["fast"](num_convs=2)
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.add_(0.05 * torch.randn_like(parameter))
    return model.eval()


@torch.no_grad()
def outputs(model: torch.nn.Module) -> torch.Tensor:
    return model(INPUT)


@pytest.fixture(autouse=True)
def _use_the_test_hub(hub_server, hub_cache) -> None:
    """Every test here talks to the local Hub and downloads into its own empty cache."""


def test_client_is_pointed_at_the_test_hub_and_a_private_cache(hub_server, hub_cache):
    assert constants.ENDPOINT == hub_server.url
    assert Path(constants.HF_HUB_CACHE) == hub_cache
    assert not Path(constants.HF_HOME).is_relative_to(Path.home() / ".cache")


def test_push_then_load_by_commit_sha_gives_identical_outputs(hub_server, hub_repo_id):
    model = random_generator(seed=1)
    commit = model.push_to_hub(hub_repo_id)

    assert commit.oid == hub_server.commits(hub_repo_id)[0].sha
    loaded = load_generator(hub_repo_id, revision=commit.oid, device="cpu")
    assert ("GET", f"/{hub_repo_id}/resolve/{commit.oid}/model.safetensors", 200) in hub_server.requests
    assert type(loaded) is type(model) and not loaded.training
    assert loaded.config == model.config
    assert torch.equal(outputs(loaded), outputs(model))
    assert not torch.equal(outputs(model), outputs(random_generator(seed=2)))  # the check can fail


def test_pushed_repo_holds_config_weights_and_model_card(hub_server, hub_repo_id):
    model = random_generator(seed=1)
    commit = model.push_to_hub(hub_repo_id)
    files = hub_server.files(hub_repo_id, revision=commit.oid)

    assert {"config.json", "model.safetensors", "README.md"} <= set(files)
    config = json.loads(files["config.json"])
    assert config == {"architecture": "fast", "num_features": 64, "num_convs": 2, "activation": "prelu"}
    weights = load_safetensors_bytes(files["model.safetensors"])
    assert weights.keys() == model.state_dict().keys()
    assert all(torch.equal(weights[k], v) for k, v in model.state_dict().items())
    card = ModelCard(files["README.md"].decode())
    assert card.data.library_name == "facesr-hub"
    assert card.data.pipeline_tag == "image-to-image"

    info = HfApi().model_info(hub_repo_id)  # what the Hub's model page shows, parsed from the card
    assert info.sha == commit.oid
    assert (info.library_name, info.pipeline_tag) == ("facesr-hub", "image-to-image")
    assert {s.rfilename for s in info.siblings} >= {"config.json", "model.safetensors", "README.md"}


def test_second_push_is_a_new_revision_and_the_old_one_still_loads(hub_server, hub_repo_id):
    first, second = random_generator(seed=1), random_generator(seed=2)
    old = first.push_to_hub(hub_repo_id).oid
    new = second.push_to_hub(hub_repo_id).oid

    assert old != new
    history = [c.commit_id for c in HfApi().list_repo_commits(hub_repo_id)]
    assert history[:2] == [new, old] and len(history) == 3  # + the repo's initial commit
    assert torch.equal(outputs(load_generator(hub_repo_id, revision=old, device="cpu")), outputs(first))
    assert torch.equal(outputs(load_generator(hub_repo_id, device="cpu")), outputs(second))  # main
    assert torch.equal(outputs(load_generator(hub_repo_id, revision="main", device="cpu")), outputs(second))


def test_tag_loads_the_commit_it_names(hub_repo_id):
    first, second = random_generator(seed=1), random_generator(seed=2)
    old = first.push_to_hub(hub_repo_id).oid
    second.push_to_hub(hub_repo_id)
    api = HfApi()
    api.create_tag(hub_repo_id, tag="v1", revision=old)

    assert [(t.name, t.target_commit) for t in api.list_repo_refs(hub_repo_id).tags] == [("v1", old)]
    assert torch.equal(outputs(load_generator(hub_repo_id, revision="v1", device="cpu")), outputs(first))
    with pytest.raises(HfHubHTTPError) as error:
        api.create_tag(hub_repo_id, tag="v1")
    assert error.value.response.status_code == 409


@pytest.mark.parametrize("revision", ["v9", "0123456789abcdef0123456789abcdef01234567"])
def test_unknown_revision_is_a_checkpoint_error(hub_repo_id, revision):
    random_generator(seed=1).push_to_hub(hub_repo_id)
    with pytest.raises(CheckpointError, match=f"{hub_repo_id}@{revision}: no such model repo or revision") as error:
        load_generator(hub_repo_id, revision=revision, device="cpu")
    assert isinstance(error.value.__cause__, RevisionNotFoundError)


def test_unknown_repo_is_a_checkpoint_error():
    with pytest.raises(CheckpointError, match="user/no-such-model@main: no such model repo") as error:
        load_generator("user/no-such-model", device="cpu")
    assert isinstance(error.value.__cause__, RepositoryNotFoundError)


def test_repo_without_config_or_weights_is_a_checkpoint_error(hub_repo_id):
    api = HfApi()
    api.create_repo(hub_repo_id)
    with pytest.raises(CheckpointError, match="the repo has no config.json") as error:
        load_generator(hub_repo_id, device="cpu")
    assert isinstance(error.value.__cause__, EntryNotFoundError)

    config = json.dumps(random_generator(seed=1).config).encode()
    api.upload_file(path_or_fileobj=config, path_in_repo="config.json", repo_id=hub_repo_id)
    with pytest.raises(CheckpointError, match="no model.safetensors in the repo") as error:
        load_generator(hub_repo_id, device="cpu")
    assert isinstance(error.value.__cause__, EntryNotFoundError)


def test_hf_hub_download_returns_the_exact_bytes_and_typed_errors(hub_repo_id):
    api = HfApi()
    api.create_repo(hub_repo_id)
    payload = os.urandom(5000) + b"\x00\r\n"
    sha = api.upload_file(path_or_fileobj=payload, path_in_repo="sub/blob.bin", repo_id=hub_repo_id).oid

    for revision in ("main", sha):
        path = hf_hub_download(hub_repo_id, "sub/blob.bin", revision=revision)
        assert Path(path).read_bytes() == payload
    metadata = get_hf_file_metadata(hf_hub_url(hub_repo_id, "sub/blob.bin", revision=sha))
    assert (metadata.commit_hash, metadata.etag, metadata.size) == (sha, git_blob_sha(payload), len(payload))

    with pytest.raises(EntryNotFoundError):
        hf_hub_download(hub_repo_id, "missing.bin")
    with pytest.raises(RevisionNotFoundError):
        hf_hub_download(hub_repo_id, "sub/blob.bin", revision="no-such-branch")
    with pytest.raises(RepositoryNotFoundError):
        hf_hub_download("user/no-such-repo", "sub/blob.bin")


def test_snapshot_download_fetches_the_whole_revision(hub_repo_id):
    model = random_generator(seed=1)
    sha = model.push_to_hub(hub_repo_id).oid
    folder = Path(snapshot_download(hub_repo_id, revision=sha))
    assert {"config.json", "model.safetensors", "README.md"} <= {p.name for p in folder.iterdir()}
    assert torch.equal(outputs(load_generator(folder, device="cpu")), outputs(model))


def test_create_repo_and_model_card_validation_behave_like_the_hub(hub_repo_id):
    api = HfApi()
    url = api.create_repo(hub_repo_id)
    assert url.repo_id == hub_repo_id
    assert api.create_repo(hub_repo_id, exist_ok=True).repo_id == hub_repo_id
    with pytest.raises(HfHubHTTPError) as error:
        api.create_repo(hub_repo_id)
    assert error.value.response.status_code == 409
    with pytest.raises(ValueError, match="Invalid metadata in README.md"):
        api.upload_file(path_or_fileobj=b"---\ntags: [unclosed\n---\n", path_in_repo="README.md", repo_id=hub_repo_id)
    with pytest.raises(ValueError, match="Invalid metadata in README.md"):
        api.upload_file(path_or_fileobj=b"---\nlibrary_name: [1, 2]\n---\n", path_in_repo="README.md",
                        repo_id=hub_repo_id)


def test_pushing_the_same_weights_again_makes_no_new_commit(hub_server, hub_repo_id):
    model = random_generator(seed=1)
    first = model.push_to_hub(hub_repo_id).oid
    again = model.push_to_hub(hub_repo_id).oid
    assert again == first and len(hub_server.commits(hub_repo_id)) == 2



def test_writes_without_a_token_are_refused(hub_repo_id):
    with pytest.raises(HfHubHTTPError) as error:
        HfApi(token=False).create_repo(hub_repo_id)
    assert error.value.response.status_code == 401


def test_subprocesses_reach_the_same_test_hub(hub_server, hub_repo_id, hub_cache):
    """What ``train.py --push-to-hub`` run as a subprocess relies on: the environment set by conftest.py."""
    code = (
        "import sys\n"
        "from huggingface_hub import HfApi, hf_hub_download\n"
        "api = HfApi()\n"
        "api.create_repo(sys.argv[1])\n"
        "api.upload_file(path_or_fileobj=b'pushed from a child', path_in_repo='note.txt', repo_id=sys.argv[1])\n"
        "print(hf_hub_download(sys.argv[1], 'note.txt'))\n"
    )
    done = subprocess.run([sys.executable, "-c", code, hub_repo_id], capture_output=True, text=True, timeout=120,
                          check=False)
    assert done.returncode == 0, done.stderr
    assert hub_server.files(hub_repo_id)["note.txt"] == b"pushed from a child"
    assert Path(done.stdout.strip()).is_relative_to(hub_cache)
