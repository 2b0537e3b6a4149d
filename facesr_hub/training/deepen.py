"""Deepen a trained `fast` generator without changing what it computes (Net2DeeperNet): a recipe's ``deepen`` stage.

The `fast` body is a plain chain of 3x3 conv + PReLU. A conv whose kernel is the identity, followed by a PReLU with
slope 1, passes its input through unchanged, so inserting such pairs gives a deeper network with exactly the old
output (Chen et al., "Net2Net", 2016). Training on from there spends the added capacity from the old model's
quality instead of from bicubic.
"""

from __future__ import annotations

import torch
from torch import nn

from ..generators.fast import FastGenerator


def _make_identity(conv: nn.Conv2d, prelu: nn.PReLU) -> None:
    """Turn a conv + PReLU into one that returns its input exactly: centred one-hot kernel, zero bias, slope 1."""
    with torch.no_grad():
        conv.weight.zero_()
        conv.bias.zero_()
        for channel in range(conv.out_channels):
            conv.weight[channel, channel, 1, 1] = 1.0
        prelu.weight.fill_(1.0)


def deepen(model: FastGenerator, num_convs: int) -> FastGenerator:
    """A `fast` generator with ``num_convs`` body convs that computes what ``model`` computes.

    The old body convs are spread evenly among the new identity ones, so the added layers sit between
    trained layers rather than all at one end.
    """
    if not isinstance(model, FastGenerator):
        raise ValueError(f"only a `fast` generator can be deepened this way, got {type(model).__name__}")
    config = {key: value for key, value in model.config.items() if key != "architecture"}
    old_convs = config["num_convs"]
    if config.get("activation") != "prelu":
        raise ValueError(f"identity layers need PReLU activations (slope 1), got {config.get('activation')!r}")
    if num_convs <= old_convs:
        raise ValueError(f"num_convs must exceed the model's {old_convs}, got {num_convs}")
    deeper = FastGenerator(**{**config, "num_convs": num_convs})
    old, new = model.body, deeper.body
    # Body conv k sits at index 2 + 2k (its PReLU right after); the head pair is 0-1, the tail follows the body.
    for index in (0, 1):
        new[index].load_state_dict(old[index].state_dict())
    for tail in range(2 + 2 * old_convs, len(old)):
        new[tail - 2 * old_convs + 2 * num_convs].load_state_dict(old[tail].state_dict())
    # Old body conv k goes to slot round(k * num_convs / old_convs): evenly spread, the first one first.
    slots = {round(k * num_convs / old_convs): k for k in range(old_convs)}
    for slot in range(num_convs):
        conv, prelu = new[2 + 2 * slot], new[3 + 2 * slot]
        if slot in slots:
            conv.load_state_dict(old[2 + 2 * slots[slot]].state_dict())
            prelu.load_state_dict(old[3 + 2 * slots[slot]].state_dict())
        else:
            _make_identity(conv, prelu)
    return deeper


def deepen_checked(model: FastGenerator, num_convs: int, *, tolerance: float = 1e-5) -> FastGenerator:
    """``deepen``, refusing a result whose output differs from ``model``'s on a fixed probe by more than ``tolerance``."""
    model = model.float().eval()
    deeper = deepen(model, num_convs).eval()
    probe = torch.rand(2, 3, 64, 64, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        gap = (deeper(probe) - model(probe)).abs().max().item()
    if gap > tolerance:  # the whole point is an unchanged function: refuse anything else
        raise ValueError(f"the deepened model differs from the original by {gap:.2e}")
    return deeper
