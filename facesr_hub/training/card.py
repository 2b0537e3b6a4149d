"""What a trained generator's model card says about its training run (``facesr_hub.hub`` renders it)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..hub import CardInfo
from .config import TrainConfig
from .data import TrainData
from .state import TrainState

BETAS = (0.9, 0.99)


def training_card_info(config: TrainConfig, state: TrainState, data: TrainData, *, stage: str, name: str,
                       metrics: dict[str, float] | None, num_processes: int) -> CardInfo:
    """Card contents for the ``"psnr"``-stage model or the ``"gan"`` (final) model of a run, as it stands now."""
    psnr_only = stage == "psnr"
    gan_text = f"; GAN stage {state.gan_steps} steps (lr {config.gan_lr}, discriminator lr {config.d_lr})"
    # A GAN-only run (--pixel-fraction 0) continues weights that had their PSNR stage elsewhere: say so, not "0 steps".
    psnr_text = (f"PSNR stage {state.pixel_steps} steps (L1, lr {config.lr})" if state.pixel_steps or psnr_only
                 else f"no PSNR stage in this run (GAN stage only, from {config.init_from or 'random weights'})")
    trained, planned = ((min(state.step, state.pixel_steps), state.pixel_steps) if psnr_only
                        else (state.step, state.total_steps))
    training: dict[str, Any] = {
        "stages": psnr_text + ("" if psnr_only else gan_text),
        "steps trained": f"{trained} of {planned}",
        "batch": f"{config.batch_size} x {num_processes} process(es), HR patches {config.patch_size}px with random "
                 "horizontal flips" + ("" if psnr_only or not config.gan_batch_size and not config.gan_patch_size
                                       else "; GAN stage: batch {}, patches {}px".format(*config.stage_batch("gan"))),
        "HR patches": ("cut from each image at its native resolution (downscaled only when larger than 256 px, "
                       "never upsampled)" if config.hr_source == "native"
                       else "cut from the protocol's 256x256 resize of each image"),
        "degradation": (f"realistic (blur, resize, Gaussian/Poisson noise, JPEG, second order; "
                        f"facesr_hub.data.DegradationConfig {config.degradation_kwargs or 'defaults'}), made on the fly"
                        if config.degradation == "realistic"
                        else "the protocol's bicubic /4 (clean inputs), made on the fly"),
        "optimiser": f"{config.optimizer} betas {BETAS}, warm-up then cosine decay per stage, grad clip "
                     f"{config.grad_clip}, EMA decay {config.ema_decay} (weights shipped: EMA)",
        "training images": str(len(data.train)),
        "sampling": ("uniform by image" if config.source_weights is None else
                     "by source, relative weights " + ", ".join(f"{Path(root).name} {weight:g}" for root, weight
                                                                in zip(config.data, config.source_weights))),
        **({"initialised from": config.init_from} if config.init_from else {}),
        **({"discriminator initialised from": config.init_discriminator_from}
           if config.init_discriminator_from and not psnr_only else {}),
        "seed": config.seed,
    }
    if not psnr_only:
        disc = (config.discriminator + (f" {config.d_channels}-channel" if config.d_channels else "")
                + (" (conditional on LR)" if config.conditional_d else ""))
        criterion = "" if config.perceptual_criterion == "l1" else f"; {config.perceptual_criterion} distance"
        training["losses"] = (f"{config.pixel_weight} x L1 + {config.perceptual_weight} x VGG16 perceptual "
                              f"({perceptual_layers(config)}{criterion}) + {config.gan_weight} x {config.gan_loss} GAN vs "
                              f"{disc} discriminator")
    if state.planned_by_time:
        training["budget"] = (f"{config.max_minutes} min (step counts planned from measured speed, so not "
                              "bit-reproducible)")
    return CardInfo(model_name=name, data=data.sources, training=training, metrics=metrics,
                    val_images=0 if data.val is None else len(data.val), stage=stage, degradation=config.degradation)


def perceptual_layers(config: TrainConfig) -> str:
    """The perceptual loss's VGG16 layers as a card states them: ``conv5_3``, or ``0.1 x conv1_2, ..., 1 x conv5_3``."""
    weights = config.perceptual_layer_weights
    if weights is None:
        return ", ".join(config.perceptual_layers)
    return ", ".join(f"{w:g} x {name}" for w, name in zip(weights, config.perceptual_layers, strict=True))
