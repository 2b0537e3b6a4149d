"""EMA of the generator weights (diffusers' ``EMAModel``): construction, the swap used to save/validate, reset."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from diffusers.training_utils import EMAModel
from torch import nn


def make_ema(model: nn.Module, decay: float) -> EMAModel:
    """EMA of ``model``'s parameters. diffusers ramps the decay up as (1 + n) / (10 + n), capped at ``decay``,
    so early checkpoints are not dominated by the random initialisation."""
    return EMAModel(model.parameters(), decay=decay, foreach=True)


@contextmanager
def ema_weights(ema: EMAModel, model: nn.Module) -> Iterator[nn.Module]:
    """``model`` holding the EMA weights inside the block; its own weights come back afterwards."""
    params = list(model.parameters())
    ema.store(params)
    ema.copy_to(params)
    try:
        yield model
    finally:
        ema.restore(params)


def restart_ema_from_average(ema: EMAModel, model: nn.Module) -> None:
    """Copy the EMA weights into ``model`` and restart the average from them (the PSNR -> GAN switch).

    The EMA object itself is kept (it is registered for checkpointing); only its state is replaced.
    """
    params = list(model.parameters())
    ema.copy_to(params)
    ema.load_state_dict(EMAModel(params, decay=ema.decay, foreach=True).state_dict())
