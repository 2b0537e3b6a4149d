"""One optimisation step of each stage: PSNR (pixel L1 only) and GAN (generator, then discriminator).

The step functions take the models and optimisers as arguments (``StepParts``), so the trainer, the time-budget
probe and ``benchmarks/train_speed.py`` all time exactly the same code.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from accelerate import Accelerator
from torch import nn
from torch.optim import Optimizer
from torch.optim.lr_scheduler import LRScheduler

from ..losses import AdversarialLoss, PerceptualLoss, pixel_loss
from .config import TrainConfig


@dataclass
class StepParts:
    """What a step updates. ``discriminator`` may be DDP-wrapped; ``discriminator_module`` is the bare module."""

    generator: nn.Module
    optimizer: Optimizer
    scheduler: LRScheduler | None = None
    discriminator: nn.Module | None = None
    discriminator_module: nn.Module | None = None
    d_optimizer: Optimizer | None = None
    d_scheduler: LRScheduler | None = None


class Objectives:
    """The GAN-stage losses and their weights (the PSNR stage uses ``pixel_loss`` alone)."""

    def __init__(self, config: TrainConfig, device: torch.device) -> None:
        self.pixel_weight = config.pixel_weight
        self.perceptual_weight = config.perceptual_weight
        self.gan_weight = config.gan_weight
        self.conditional = config.conditional_d
        self.perceptual = None
        if config.uses_gan and config.perceptual_weight > 0:
            self.perceptual = PerceptualLoss(layers=config.perceptual_layers,
                                             weights=config.perceptual_layer_weights,
                                             criterion=config.perceptual_criterion, device=device)
        self.adversarial = AdversarialLoss(config.gan_loss) if config.uses_gan else None


def _optimise(accelerator: Accelerator, loss: torch.Tensor, model: nn.Module, optimizer: Optimizer,
              scheduler: LRScheduler | None, grad_clip: float) -> None:
    optimizer.zero_grad(set_to_none=True)
    accelerator.backward(loss)
    if grad_clip > 0:
        accelerator.clip_grad_norm_(model.parameters(), grad_clip)
    optimizer.step()
    if scheduler is not None:
        scheduler.step()


def pixel_step(accelerator: Accelerator, parts: StepParts, lr: torch.Tensor, hr: torch.Tensor, *,
               grad_clip: float) -> dict[str, torch.Tensor]:
    """PSNR stage: L1 between output and HR. Returns detached losses (no host sync)."""
    with accelerator.autocast():
        sr = parts.generator(lr)
        loss = pixel_loss(sr.float(), hr)
    _optimise(accelerator, loss, parts.generator, parts.optimizer, parts.scheduler, grad_clip)
    return {"pixel": loss.detach()}


def _logits(discriminator: nn.Module, hr: torch.Tensor, sr: torch.Tensor, lr: torch.Tensor,
            conditional: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """Real and fake logits from ONE forward pass on the concatenated batch.

    One pass, not two, because a DDP-wrapped module must see one forward per backward. (With the seed
    discriminator's BatchNorm this pools real and fake statistics; the PatchGAN has no batch statistics.)
    """
    batch = torch.cat((hr, sr))
    condition = torch.cat((lr, lr)) if conditional else None
    real, fake = discriminator(batch, condition).float().chunk(2)
    return real, fake


def gan_step(accelerator: Accelerator, parts: StepParts, objectives: Objectives, lr: torch.Tensor,
             hr: torch.Tensor, *, grad_clip: float) -> dict[str, torch.Tensor]:
    """GAN stage: a generator step (pixel + perceptual + adversarial), then a discriminator step."""
    assert parts.discriminator is not None and parts.d_optimizer is not None and objectives.adversarial is not None
    d_module = parts.discriminator_module or parts.discriminator
    # 1. Generator step. The bare discriminator module (not the DDP wrapper) with frozen weights, so the
    #    generator's backward neither fills nor all-reduces discriminator gradients.
    d_module.requires_grad_(False)
    with accelerator.autocast():
        sr = parts.generator(lr)
        real_logits, fake_logits = _logits(d_module, hr, sr, lr, objectives.conditional)
        sr32 = sr.float()
        losses = {"pixel": pixel_loss(sr32, hr)}
        if objectives.perceptual is not None:
            losses["perceptual"] = objectives.perceptual(sr32, hr)
        losses["g_adv"] = objectives.adversarial.generator_loss(fake_logits, real_logits.detach())
        total = objectives.pixel_weight * losses["pixel"] + objectives.gan_weight * losses["g_adv"]
        if "perceptual" in losses:
            total = total + objectives.perceptual_weight * losses["perceptual"]
    _optimise(accelerator, total, parts.generator, parts.optimizer, parts.scheduler, grad_clip)
    d_module.requires_grad_(True)
    # 2. Discriminator step on the same output, detached.
    with accelerator.autocast():
        real_logits, fake_logits = _logits(parts.discriminator, hr, sr.detach(), lr, objectives.conditional)
        d_loss = objectives.adversarial.discriminator_loss(real_logits, fake_logits)
    _optimise(accelerator, d_loss, parts.discriminator, parts.d_optimizer, parts.d_scheduler, grad_clip)
    out = {name: value.detach() for name, value in losses.items()}
    out["g_total"] = total.detach()
    out["d_loss"] = d_loss.detach()
    return out
