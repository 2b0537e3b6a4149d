"""What gets evaluated: trained generators (``--model``) and baselines (``--baseline``), built on one device."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn

from ..baselines import BASELINES, LDM_REPO, BaselineUnavailable
from ..loading import load_generator


@dataclass
class Contender:
    """One row of the comparison. ``module`` maps (B,3,h,w) -> (B,3,4h,4w); it is None when ``unavailable``."""

    name: str
    kind: str  # "model" or "baseline"
    description: str
    module: nn.Module | None
    unavailable: str | None = None


def load_baseline(name: str, *, device: torch.device, ldm_steps: int = 100, ldm_source: str = LDM_REPO,
                  seed: int = 0) -> Contender:
    """Build one baseline; a baseline that cannot run here comes back with ``unavailable`` set, not an error."""
    if name not in BASELINES:
        raise ValueError(f"unknown baseline {name!r}; choose from {sorted(BASELINES)}")
    spec = BASELINES[name]
    description = spec.description
    try:
        if name == "ldm":
            if ldm_source != LDM_REPO:
                description += f", weights from {ldm_source}"
            description += f", {ldm_steps} steps, seed {seed}"
            module = spec.load(device=device, source=ldm_source, num_inference_steps=ldm_steps, seed=seed)
        else:
            module = spec.load(device=device)
    except BaselineUnavailable as error:
        return Contender(name, "baseline", description, None, unavailable=str(error))
    return Contender(name, "baseline", description, module.eval())


def load_contenders(models: Sequence[str], baselines: Sequence[str], *, device: torch.device, ldm_steps: int = 100,
                    ldm_source: str = LDM_REPO, seed: int = 0) -> list[Contender]:
    """Models first (in the given order, loaded with ``load_generator``), then baselines; duplicates refused."""
    names = [*models, *baselines]
    if duplicates := sorted({n for n in names if names.count(n) > 1}):
        raise ValueError(f"listed more than once: {duplicates}")
    contenders = []
    for spec in models:
        model = load_generator(spec, device=device)
        contenders.append(Contender(spec, "model", f"{model.architecture} {model.config}", model))
    contenders += [load_baseline(name, device=device, ldm_steps=ldm_steps, ldm_source=ldm_source, seed=seed)
                   for name in baselines]
    return contenders
