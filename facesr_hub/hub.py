"""Model cards for trained generators, Hub folders written atomically, and pushes to the Hub.

A card states what a user needs before using the weights: the architecture and its cost, the data and its licence
terms (CelebA, UTKFace and CelebA-HQ allow non-commercial research only, and so do weights trained on them), the
LR/HR protocol, the training recipe and the validation metrics. Its YAML metadata carries ``library_name``,
``pipeline_tag``, tags, datasets, metrics and a ``model-index`` with the validation results.
"""

from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from huggingface_hub import EvalResult, HfApi, ModelCard, ModelCardData

from .fileio import replace_dir
from .generators import Generator
from .onnx_export import ONNX_SUBFOLDER, export_into_folder, onnx_available, onnx_is_current
from .profiling import count_gmacs, count_parameters

NON_COMMERCIAL = "non-commercial research use only"

#: name -> (display name, Hub dataset tag, terms). Matched against the layout and the folder name.
KNOWN_DATASETS: dict[str, tuple[str, str, str]] = {
    "celeba-hq": ("CelebA-HQ", "celeba-hq", f"CelebA terms: {NON_COMMERCIAL}"),
    "celeba": ("CelebA", "celeba", f"CelebA terms (Liu et al., 2015): {NON_COMMERCIAL}"),
    "utkface": ("UTKFace", "utkface", f"UTKFace terms (Zhang et al., 2017): {NON_COMMERCIAL}"),
    "ffhq": ("FFHQ", "ffhq", "Creative Commons BY-NC-SA 4.0: non-commercial use only"),
}
UNKNOWN_TERMS = "unknown: the terms of these images apply to the weights; check them before any use"

METRIC_NAMES = {"psnr": "PSNR (RGB, dB)", "ssim": "SSIM (RGB)", "psnr_y": "PSNR (Y, dB)", "ssim_y": "SSIM (Y)",
                "lpips_alex": "LPIPS (alex)"}


REALISTIC_PROTOCOL = (" This model was trained and validated on realistic LR inputs instead: "
                      "`facesr_hub.data.realistic_degrade` (blur, random resize, Gaussian/Poisson noise, JPEG, and a "
                      "second order of them, each with a probability); validation faces degraded once from a fixed "
                      "seed.")


@dataclass(frozen=True)
class DataSource:
    """One ``--data`` root as the card describes it."""

    root: str
    layout: str
    train_images: int
    val_images: int

    @property
    def dataset(self) -> tuple[str, str | None, str]:
        """(display name, Hub dataset tag or None, licence terms)."""
        name = Path(self.root).name.lower().replace("_", "-")
        if "celeba-hq" in name or "celebahq" in name or "celebamask-hq" in name:
            return KNOWN_DATASETS["celeba-hq"]
        if self.layout.startswith("celeba") or "celeba" in name:
            return KNOWN_DATASETS["celeba"]
        for key in ("utkface", "ffhq"):
            if key in name:
                return KNOWN_DATASETS[key]
        return f"images in a folder named {Path(self.root).name!r}", None, UNKNOWN_TERMS


@dataclass
class CardInfo:
    """Everything a model card says about one trained generator."""

    model_name: str
    data: list[DataSource]
    training: dict[str, Any] = field(default_factory=dict)  # recipe lines: name -> value
    metrics: dict[str, float] | None = None  # validation means at the end of training
    val_images: int = 0
    stage: str = "gan"  # "psnr": the PSNR-stage model (pixel loss only); "gan": the final model
    degradation: str = "bicubic"  # the LR inputs it was trained on: "bicubic" (clean) or "realistic" (blind)


def _usage(model_name: str) -> str:
    return ("```python\nfrom facesr_hub import load_generator, upscale\n\n"
            f"model = load_generator(\"{model_name}\")  # a repo id, a folder or a bundled name\n"
            "face_256 = upscale(model, \"face_64x64.png\")\n```")


def purpose_text(degradation: str) -> str:
    """The card's "what it is for / not for" paragraph for a model trained on ``degradation`` inputs."""
    if degradation == "realistic":
        return ("**What it is for:** real photos - faces from phones, chat apps and old scans that arrive blurred, "
                "noisy and JPEG-compressed. It was trained on inputs degraded at random that way "
                "(`facesr_hub.data.realistic_degrade`), so it removes blur, noise and blocks instead of upscaling "
                "them.\n\n**What it is not for:** faithful detail from clean 64x64 crops (an exact bicubic downscale "
                "of a good photo): there it smooths more than a model trained on clean inputs; use `fast` or "
                "`fast-psnr` for those.")
    return ("**What it is for:** clean 64x64 faces, such as an exact downscale of a good photo. On real photos "
            "(blur, noise, JPEG) it upscales the artefacts too; use a model trained on realistic inputs "
            "(`fast-real`) for those.")


def render_model_card(model: Generator, info: CardInfo) -> ModelCard:
    """The model card (metadata + text) for ``model`` trained as ``info`` describes."""
    params, gmacs = count_parameters(model), count_gmacs(model, 64)
    datasets = [s.dataset for s in info.data]
    all_known = all(tag is not None for _, tag, _ in datasets)
    eval_results = [
        EvalResult(task_type="image-to-image", task_name="4x face super-resolution", dataset_type="facesr-val",
                   dataset_name=" + ".join(dict.fromkeys(name for name, _, _ in datasets)) + " (val split)",
                   dataset_split="val", metric_type=key, metric_name=METRIC_NAMES.get(key, key),
                   metric_value=round(float(value), 4))
        for key, value in (info.metrics or {}).items()
    ]
    card_data = ModelCardData(
        library_name="facesr-hub", pipeline_tag="image-to-image", model_name=info.model_name,
        license="other", license_name="non-commercial-research" if all_known else "see-training-data",
        tags=["super-resolution", "face-super-resolution", "image-to-image", "facesr-hub", model.architecture,
              "gan" if info.stage == "gan" else "psnr-oriented"],
        datasets=sorted({tag for _, tag, _ in datasets if tag}), metrics=["psnr", "ssim", "lpips"],
        eval_results=eval_results or None,
    )
    data_rows = "\n".join(f"| {name} | `{Path(s.root).name}` ({s.layout}) | {s.train_images} | {s.val_images} | "
                          f"{terms} |" for s, (name, _, terms) in zip(info.data, datasets))
    recipe = "\n".join(f"- **{key}**: {value}" for key, value in info.training.items())
    if info.metrics:
        metric_rows = "\n".join(f"| {METRIC_NAMES.get(k, k)} | {v:.4f} |" for k, v in info.metrics.items())
        metrics = (f"Means over {info.val_images} whole 256x256 validation faces (EMA weights, output clamped to "
                   f"[0, 1]; PSNR/SSIM without a 4-pixel border):\n\n| metric | value |\n|---|---|\n{metric_rows}")
    else:
        metrics = "Not measured (validation was disabled)."
    config = ", ".join(f"{k}={v!r}" for k, v in sorted(model.config.items()) if k != "architecture")
    stage_text = ("the PSNR-stage model: trained with the pixel (L1) loss only, so it is smooth but faithful"
                  if info.stage == "psnr" else "the final model: PSNR stage, then the GAN stage")
    purpose = purpose_text(info.degradation)
    text = f"""---
{card_data.to_yaml()}
---

# {info.model_name}

A FaceSR-Hub 4x face super-resolution generator: 64x64 RGB faces in, 256x256 out. This is {stage_text}.

{purpose}

## Licence and intended use

**These weights are for {NON_COMMERCIAL}** wherever the training data is CelebA, CelebA-HQ or UTKFace: weights
trained on a dataset carry its terms. The FaceSR-Hub code is Apache-2.0; that licence does not extend to weights
trained on non-commercial data. Do not use it to identify people; super-resolved detail is invented, not recovered.

## Architecture

- **architecture**: `{model.architecture}` (`facesr_hub.GENERATORS["{model.architecture}"]`)
- **config**: {config or "defaults"}
- **parameters**: {params:,}
- **cost**: {gmacs:.2f} GMACs per 64x64 input

## Training data

| dataset | folder (layout) | train images | val images | terms |
|---|---|---|---|---|
{data_rows}

CelebA folders use the official partition (train for training, val for validation); other folders are split by a
hash of each file name (90/5/5).

## Protocol

HR faces are 256x256 (CelebA: centre 178x178 crop of the aligned image, then bicubic resize; other sets: centre
square crop, bicubic resize). The LR input is the HR image downscaled 4x with antialiased bicubic, clamped and
quantised to 8 bits (`facesr_hub.data.degrade`).{REALISTIC_PROTOCOL if info.degradation == "realistic" else ""}
Training patches are cut from each image at its native resolution when the recipe says so (never upsampled).

## Training

{recipe}

## Validation

{metrics}

## Use

{_usage(info.model_name)}
"""
    return ModelCard(text)


def save_generator_folder(model: Generator, folder: str | Path, card: ModelCard, *, onnx: bool = True) -> Path:
    """Write ``model`` as a Hub folder (config.json, model.safetensors, README.md, onnx/model.onnx) atomically.

    The files go to a temporary sibling folder that is renamed into place when complete, so a crash never leaves a
    folder holding a config without weights. ``onnx=True`` adds the checked ONNX export
    (:func:`facesr_hub.onnx_export.export_into_folder`); without the ``[onnx]`` extra, or when the export fails, the
    folder is written without it and a warning or error is logged: a training run never fails for its ONNX copy.
    """
    folder = Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{folder.name}-", dir=folder.parent))
    model.save_pretrained(tmp)
    card.save(tmp / "README.md")  # replaces the mixin's generic card
    if onnx:
        export_into_folder(tmp, model)
    replace_dir(tmp, folder)
    return folder


def push_generator_folder(folder: str | Path, repo_id: str, *, token: str | None = None, private: bool = False,
                          commit_message: str = "Upload FaceSR-Hub generator", onnx: bool = True) -> str:
    """Create ``repo_id`` if needed and upload a folder written by ``save_generator_folder``; returns the commit URL.

    With ``onnx=True`` a folder without an up-to-date ``onnx/model.onnx`` (saved before ONNX exports, or its weights
    replaced since) gets one first, as ``save_generator_folder`` writes it, so the repo's ONNX file always matches
    its weights; ``onnx=False`` pushes none (and removes one an earlier push left in the repo).
    """
    folder = Path(folder)
    for name in ("config.json", "model.safetensors", "README.md"):
        if not (folder / name).is_file():
            raise FileNotFoundError(f"{folder} has no {name}; write it with save_generator_folder first")
    if onnx and not (onnx_available() and onnx_is_current(folder)):
        export_into_folder(folder)  # the folder's own model; logs why not when it cannot
    # An ONNX file that is not the export of these weights (a failed export, no [onnx] extra to check it) is neither
    # uploaded nor left in the repo from an earlier push: the onnxruntime backend would run it instead of them.
    onnx_ok = onnx and onnx_available() and onnx_is_current(folder)
    skip = None if onnx_ok else [f"{ONNX_SUBFOLDER}/*"]
    api = HfApi(token=token)
    api.create_repo(repo_id, repo_type="model", private=private, exist_ok=True)
    commit = api.upload_folder(repo_id=repo_id, folder_path=str(folder), repo_type="model",
                               commit_message=commit_message, ignore_patterns=skip, delete_patterns=skip)
    return str(commit.commit_url)


def card_with_section(card: str, heading: str, section: str) -> str:
    """The card with its ``heading`` section (up to the next ``## `` heading) replaced by ``section``, in place, or
    ``section`` appended when the card has none, so re-writing one section keeps the others."""
    parts = re.split(r"(?m)^(?=## )", card.rstrip() + "\n")
    index = next((i for i, part in enumerate(parts) if part.split("\n", 1)[0].rstrip() == heading), None)
    if index is None:
        parts.append(section)
    else:
        parts[index] = section
    return "\n\n".join(part.strip("\n") for part in parts) + "\n"
