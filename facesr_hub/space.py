"""``facesr space deploy OWNER/NAME``: the demo as a Hugging Face Space in one command.

Two kinds of Space:

* **gradio** (the default): the app as it runs here: ``app.py``, the ``facesr_hub`` package, ``requirements.txt``,
  the example faces, and a README whose front matter is this repository's (``sdk: gradio``, which makes the
  repository a Space as is), with only the chosen bundled models' weights.
* **static** (``--static``): the in-browser page (``web/``, built by ``web/build.sh``) with the chosen models' ONNX
  files; the visitor's browser does the work, so the Space needs no hardware and sees no image.

The Space's files are staged in a temporary folder, then ``create_repo(exist_ok=True)`` and ``upload_folder`` with
``delete_patterns="*"``: the Space ends up holding exactly the staged files, so a second deploy is a new commit that
updates it (and drops a model no longer chosen). Both need a Hub token (``HF_TOKEN`` or ``hf auth login``) and a
checkout of the repository (the wheel carries neither ``app.py`` nor ``web/``).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from huggingface_hub import HfApi, SpaceCard, SpaceCardData, get_token
from huggingface_hub.errors import HfHubHTTPError, HFValidationError
from huggingface_hub.utils import validate_repo_id

from .loading import bundled_model_names, bundled_weights_dir
from .onnx_export import ONNX_PATH

REPO_ROOT = Path(__file__).resolve().parents[1]
PACKAGE = "facesr_hub"
DEFAULT_MODELS = ("fast", "fast-real")
#: Files of the package that are never part of a Space: caches, and the stub Gradio writes beside components.py.
SKIPPED_PACKAGE_FILES = ("__pycache__", "*.pyc", "*.pyo", "*.egg-info", ".*", "components.pyi")
NO_TOKEN_MESSAGE = ("no Hugging Face token found: log in with `hf auth login` (`huggingface-cli login` with older "
                    "huggingface_hub) using a token with write access from https://huggingface.co/settings/tokens, "
                    "or set HF_TOKEN")


class SpaceDeployError(Exception):
    """A deploy that cannot go ahead; the message says what to do about it."""


def check_models(models: Sequence[str], *, static: bool) -> list[str]:
    """The chosen model names, each a bundled model with weights (and, for the static Space, an ONNX export)."""
    names = list(dict.fromkeys(name.strip() for name in models if name.strip()))
    if not names:
        raise SpaceDeployError("no model chosen: pass --models, e.g. --models fast,fast-real")
    available = bundled_model_names()
    if unknown := [name for name in names if name not in available]:
        raise SpaceDeployError(f"not a bundled model: {', '.join(unknown)} (bundled: {', '.join(available)})")
    if static:
        missing = [name for name in names if not (bundled_weights_dir() / name / ONNX_PATH).is_file()]
        if missing:
            raise SpaceDeployError(
                f"the static Space runs ONNX models and these have no {bundled_weights_dir()}/<name>/onnx/model.onnx: "
                + ", ".join(missing) + "; export them with `facesr export NAME --format onnx -o facesr_hub/weights`")
    return names


def front_matter(readme: Path) -> str:
    """The YAML front matter of ``readme`` (between its first two ``---`` lines), verbatim."""
    lines = readme.read_text(encoding="utf-8").splitlines()
    if not lines or lines[0].strip() != "---" or "---" not in (line.strip() for line in lines[1:]):
        raise SpaceDeployError(f"{readme} has no YAML front matter (--- ... ---) to make the Space's card from")
    end = next(i for i, line in enumerate(lines[1:], start=1) if line.strip() == "---")
    return "\n".join(lines[1:end]) + "\n"


def _card(metadata_yaml: str, title: str, body: str) -> str:
    return f"---\n{metadata_yaml}---\n\n# {title}\n\n{body}\n"


def stage_gradio_space(folder: Path, models: Sequence[str], *, repo_root: Path = REPO_ROOT) -> Path:
    """Write the gradio Space into ``folder``: the app, the package with only ``models``' weights, its card."""
    for required in ("app.py", "requirements.txt", "README.md", PACKAGE):
        if not (repo_root / required).exists():
            raise SpaceDeployError(f"{repo_root / required} not found: deploy from a checkout of the repository")
    shutil.copy2(repo_root / "app.py", folder / "app.py")
    shutil.copy2(repo_root / "requirements.txt", folder / "requirements.txt")
    _copy_gitattributes(folder, repo_root)
    # 1. The package without any weights, then the chosen models' (config, weights, card, and the ONNX file where
    #    there is one: a CPU Space runs onnxruntime, which would otherwise export the model at its first request).
    skipped = shutil.ignore_patterns(*SKIPPED_PACKAGE_FILES)
    weights = (repo_root / PACKAGE / "weights").resolve()
    shutil.copytree(repo_root / PACKAGE, folder / PACKAGE, ignore=lambda where, names: set(skipped(where, names))
                    | ({"weights"} if Path(where).resolve() == weights.parent else set()))
    for name in models:
        shutil.copytree(bundled_weights_dir() / name, folder / PACKAGE / "weights" / name,
                        ignore=shutil.ignore_patterns(*SKIPPED_PACKAGE_FILES))
    # 2. The app's clickable examples (64x64 faces, with their licence note).
    if (repo_root / "examples").is_dir():
        shutil.copytree(repo_root / "examples", folder / "examples", ignore=shutil.ignore_patterns(".*"))
    # 3. The card: this repository's front matter (sdk: gradio, app_file: app.py, ...) and a short description.
    body = (f"4x face super-resolution (64x64 → 256x256) with small GAN-trained generators. This Space runs the "
            f"FaceSR-Hub app with the bundled models {', '.join(f'`{name}`' for name in models)}: drop a face crop, or "
            "a whole photo (its faces are found, restored and pasted back).\n\n"
            "Deployed with `facesr space deploy`. The code is Apache-2.0; the weights and the example faces "
            "(CelebA-HQ) are for non-commercial research only (see each model's card in `facesr_hub/weights/`).")
    (folder / "README.md").write_text(_card(front_matter(repo_root / "README.md"), "FaceSR-Hub", body),
                                      encoding="utf-8")
    return folder


def stage_static_space(folder: Path, models: Sequence[str], *, app_url: str | None = None,
                       repo_root: Path = REPO_ROOT) -> Path:
    """Build the in-browser page with ``models`` into ``folder`` (``web/build.sh``, needs npm), and add its card."""
    build = repo_root / "web" / "build.sh"
    if not build.is_file():
        raise SpaceDeployError(f"{build} not found: deploy from a checkout of the repository")
    if shutil.which("npm") is None:
        raise SpaceDeployError("the static Space is built with npm (web/build.sh installs onnxruntime-web from the "
                               "npm registry): install Node.js and npm first")
    command = ["bash", str(build), "--out", str(folder), "--models", ",".join(models),
               "--onnx-dir", str(bundled_weights_dir()), "--app-url", app_url or ""]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise SpaceDeployError(f"web/build.sh failed: {(done.stderr or done.stdout).strip()}")
    _copy_gitattributes(folder, repo_root)
    # This repository's card data (title, colours, licence, tags) less what only a Python Space has.
    metadata = SpaceCard.load(repo_root / "README.md").data.to_dict()
    for key in ("sdk", "sdk_version", "python_version", "app_file", "models"):
        metadata.pop(key, None)
    body = (f"FaceSR-Hub's face models {', '.join(f'`{name}`' for name in models)} running in your browser with "
            "onnxruntime-web (WebAssembly): drop a face crop and get it back at 256x256. The image never "
            "leaves the page; this Space only serves static files.\n\n"
            + (f"Whole photos (face detection) need [the FaceSR-Hub app]({app_url}).\n\n" if app_url else "")
            + "Deployed with `facesr space deploy --static`. The weights are for non-commercial research only.")
    yaml_text = SpaceCardData(**metadata, sdk="static", app_file="index.html").to_yaml() + "\n"
    (folder / "README.md").write_text(_card(yaml_text, "FaceSR-Hub in your browser", body), encoding="utf-8")
    return folder


def _copy_gitattributes(folder: Path, repo_root: Path) -> None:
    """The Hub's standard LFS rules (repository root ``.gitattributes``), for whoever clones the Space and pushes."""
    if (repo_root / ".gitattributes").is_file():
        shutil.copy2(repo_root / ".gitattributes", folder / ".gitattributes")


def deploy_space(repo_id: str, *, static: bool = False, models: Sequence[str] = DEFAULT_MODELS,
                 app_url: str | None = None, private: bool = False, token: str | None = None) -> tuple[str, str]:
    """Create (or update) the Space ``repo_id`` and upload the app or the static page; returns (Space URL, commit).

    Raises:
        SpaceDeployError: no token, a bad repo id or model, no npm for the static page, or the Hub refused.
    """
    try:
        validate_repo_id(repo_id)
    except HFValidationError as error:
        raise SpaceDeployError(f"{repo_id!r} is not a Space id (OWNER/NAME): {error}") from None
    token = token or get_token()
    if not token:
        raise SpaceDeployError(NO_TOKEN_MESSAGE)
    names = check_models(models, static=static)
    api = HfApi(token=token)
    kind = "static" if static else "gradio"
    with tempfile.TemporaryDirectory(prefix="facesr-space-") as staging:
        folder = Path(staging)
        if static:
            stage_static_space(folder, names, app_url=app_url)
        else:
            stage_gradio_space(folder, names)
        try:
            url = api.create_repo(repo_id, repo_type="space", space_sdk=kind, private=private, exist_ok=True)
            commit = api.upload_folder(repo_id=repo_id, repo_type="space", folder_path=folder,
                                       commit_message=f"Deploy the {kind} Space ({', '.join(names)})",
                                       commit_description="With `facesr space deploy`.", delete_patterns="*")
        except HfHubHTTPError as error:
            status = error.response.status_code if error.response is not None else None
            hint = " (is the token valid, with write access? `hf auth login` again)" if status in (401, 403) else ""
            raise SpaceDeployError(f"the Hub refused the deploy of {repo_id}{hint}: {error}") from None
    return str(url), commit.oid


def run_space(args: argparse.Namespace) -> int:
    """``facesr space deploy``: 0 when the Space was created or updated, 1 with one ``error:`` line otherwise."""
    try:
        url, oid = deploy_space(args.repo_id, static=args.static, models=args.models.split(","),
                                app_url=args.app_url, private=args.private)
    except SpaceDeployError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"deployed {url} (commit {oid[:8]})")
    return 0


def add_space_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register ``facesr space deploy``."""
    space = subparsers.add_parser("space", help="deploy the demo as a Hugging Face Space",
                                  description="Hugging Face Spaces for the demo.")
    actions = space.add_subparsers(dest="space_command", required=True, metavar="ACTION")
    deploy = actions.add_parser(
        "deploy", help="create or update a Space", description="Create the Space OWNER/NAME (or update it: each "
        "deploy is a new commit that leaves the Space holding exactly the new files) with the Gradio app and the "
        "chosen bundled models, or with --static the in-browser page. Needs a token: `hf auth login` or HF_TOKEN.")
    deploy.add_argument("repo_id", metavar="OWNER/NAME", help="the Space's id on the Hub")
    deploy.add_argument("--static", action="store_true", help="the in-browser page (web/, built with npm) and its "
                        "ONNX models instead of the Gradio app: no server-side compute at all")
    deploy.add_argument("--models", default=",".join(DEFAULT_MODELS),
                        help="comma-separated bundled models to ship (default: %(default)s; add fast-psnr / "
                             "fast-real-psnr for the app's fidelity slider)")
    deploy.add_argument("--app-url", default=None, help="--static: where the page's 'whole photos' link points, "
                        "e.g. the Gradio Space's URL (default: no link)")
    deploy.add_argument("--private", action="store_true", help="create the Space private")
    deploy.set_defaults(run=run_space)
