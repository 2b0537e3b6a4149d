"""Model size and cost: parameter counts and multiply-accumulates per input."""

from __future__ import annotations

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode


def count_parameters(model: nn.Module) -> int:
    """Number of parameters (trainable or not)."""
    return sum(p.numel() for p in model.parameters())


@torch.no_grad()
def count_gmacs(model: nn.Module, size: int = 64) -> float:
    """Giga multiply-accumulates for one ``size`` x ``size`` RGB input (PyTorch's FLOP counter / 2).

    Counts convolutions and matrix products, the layers that dominate; element-wise ops are not counted.
    """
    parameter = next(model.parameters())
    x = torch.rand(1, 3, size, size, device=parameter.device, dtype=parameter.dtype)
    counter = FlopCounterMode(display=False)
    with counter:
        model(x)
    return counter.get_total_flops() / 2e9
