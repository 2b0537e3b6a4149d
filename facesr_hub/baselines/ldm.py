"""Latent-diffusion 4x upscaler (diffusers ``LDMSuperResolutionPipeline``), when its weights can be had.

The pipeline samples latents at the LR size with a UNet conditioned on the LR image (6 input channels: 3 noisy
latent + 3 image) and decodes them 4x larger with a VQ autoencoder. Sampling is random, so every call reseeds its own
``torch.Generator`` (and the global RNG, inside ``fork_rng``): the same batch gives the same output on every run.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch
from torch import nn

from ..devices import resolve_device
from ..extras import require
from .errors import BaselineUnavailable

LDM_REPO = "CompVis/ldm-super-resolution-4x-openimages"


class LDMUpscaler(nn.Module):
    """An ``nn.Module`` view of the pipeline: ``forward(lr in [0, 1]) -> sr in [0, 1]`` at 4x, like a generator.

    The UNet and the VQ model are registered as submodules, so ``.to()``, parameter counts and FLOP counting see
    them; the sampling loop itself is the pipeline's.
    """

    scale = 4

    def __init__(self, pipeline, *, num_inference_steps: int = 100, eta: float = 1.0, seed: int = 0) -> None:
        super().__init__()
        if num_inference_steps < 1:
            raise ValueError(f"num_inference_steps must be >= 1, got {num_inference_steps}")
        if not 0.0 <= eta <= 1.0:
            raise ValueError(f"eta must be in [0, 1], got {eta}")
        if pipeline.unet.config.in_channels != 6:
            raise ValueError(f"the UNet must take 3 latent + 3 image channels, got {pipeline.unet.config.in_channels}")
        self.unet = pipeline.unet
        self.vqvae = pipeline.vqvae
        self.pipeline = pipeline
        self.num_inference_steps = num_inference_steps
        self.eta = eta
        self.seed = seed

    @torch.no_grad()
    def forward(self, lr: torch.Tensor) -> torch.Tensor:
        if lr.ndim != 4 or lr.shape[1] != 3:
            raise ValueError(f"expected a (B, 3, H, W) RGB batch, got shape {tuple(lr.shape)}")
        generator = torch.Generator(device=lr.device).manual_seed(self.seed)
        # The pipeline's generator only draws the initial latents; DDIM's eta > 0 noise comes from the global RNG.
        # Seed that too, inside fork_rng so that the caller's random state is left as it was.
        with torch.random.fork_rng(devices=[lr.device] if lr.device.type == "cuda" else []):
            torch.manual_seed(self.seed)
            # A tensor in [-1, 1] is taken as is (a PIL image would be Lanczos-resized to a multiple of 32).
            out = self.pipeline(image=lr * 2 - 1, num_inference_steps=self.num_inference_steps, eta=self.eta,
                                generator=generator, output_type="pt").images
        return out.to(device=lr.device, dtype=lr.dtype)


def load_ldm_upscaler(*, device: torch.device | str | None = None, source: str | os.PathLike = LDM_REPO,
                      num_inference_steps: int = 100, eta: float = 1.0, seed: int = 0,
                      cache_dir: str | os.PathLike | None = None, local_files_only: bool = False) -> LDMUpscaler:
    """Load the pipeline from a local folder or the Hub (cache first) and wrap it as an ``LDMUpscaler``.

    Raises:
        BaselineUnavailable: the weights are neither on disk nor downloadable (e.g. the Hub is unreachable).
    """
    require("train", "diffusers", feature="the LDM baseline")
    # Imported from its module: diffusers only re-exports it when `transformers` is installed, which it does not use.
    from diffusers.pipelines.latent_diffusion.pipeline_latent_diffusion_superresolution import (
        LDMSuperResolutionPipeline)
    from huggingface_hub.errors import HFValidationError

    text = str(Path(source).expanduser()) if str(source).startswith("~") else str(source)
    # diffusers raises a bare ValueError for a path that is not a folder; say "unavailable" like for a missing repo.
    if (Path(text).is_absolute() or text.startswith(".") or text.count("/") > 1) and not Path(text).is_dir():
        raise BaselineUnavailable(f"LDM weights {text} are not available: no such folder")
    try:
        pipeline = LDMSuperResolutionPipeline.from_pretrained(text, cache_dir=cache_dir,
                                                              local_files_only=local_files_only)
    except (OSError, HFValidationError) as error:  # OSError covers missing files, HTTP and connection errors
        raise BaselineUnavailable(f"LDM weights {source!s} are not available locally or from the Hub: "
                                  f"{type(error).__name__}: {str(error).split(' (')[0][:300]}") \
            from error
    pipeline.set_progress_bar_config(disable=True)
    upscaler = LDMUpscaler(pipeline, num_inference_steps=num_inference_steps, eta=eta, seed=seed)
    return upscaler.to(resolve_device(device)).eval()
