"""Model size and cost: parameter counts and multiply-accumulates per input."""

from __future__ import annotations

import copy

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode


def count_parameters(model: nn.Module) -> int:
    """Number of parameters (trainable or not)."""
    return sum(p.numel() for p in model.parameters())


@torch.no_grad()
def count_gmacs(model: nn.Module, size: int = 64) -> float:
    """Giga multiply-accumulates for one ``size`` x ``size`` RGB input (PyTorch's FLOP counter / 2).

    Counts convolutions and matrix products, the layers that dominate; element-wise ops are not counted. The
    model itself is not run: a meta-device copy is, so counting is cheap and leaves the model untouched.
    """
    # A meta-device copy in eval mode: shapes only, no arithmetic, and the caller's model (maybe mid-training, with
    # BatchNorm running statistics) is never run.
    clone = copy.deepcopy(model).to("meta").eval()
    dtype = next(clone.parameters()).dtype
    counter = FlopCounterMode(display=False)
    with counter:
        clone(torch.empty(1, 3, size, size, device="meta", dtype=dtype))
    return counter.get_total_flops() / 2e9
