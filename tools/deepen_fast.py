"""Deepen a trained `fast` generator without changing what it computes (Net2DeeperNet), to train on from there.

    uv run python tools/deepen_fast.py fast-real-psnr --num-convs 16 --out runs/deepened/fast-real-psnr-16

The `fast` body is a plain chain of 3x3 conv + PReLU. A conv whose kernel is the identity, followed by a PReLU with
slope 1, passes its input through unchanged, so inserting such pairs gives a deeper network with exactly the old
output (Chen et al., "Net2Net", 2016). Training it with ``train.py --init-from OUT --arch-kwargs
'{"num_convs": N}'`` then spends the added capacity from the old model's quality instead of from bicubic.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch
from torch import nn

from facesr_hub import load_generator
from facesr_hub.generators.fast import FastGenerator


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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("model", help="a bundled name, folder or repo id of a `fast` generator")
    parser.add_argument("--num-convs", type=int, default=16)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    model = load_generator(args.model).float().eval()
    try:
        deeper = deepen(model, args.num_convs).eval()
    except ValueError as error:
        parser.error(str(error))
    probe = torch.rand(2, 3, 64, 64, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        gap = (deeper(probe) - model(probe)).abs().max().item()
    if gap > 1e-5:  # the whole point is an unchanged function: refuse to save anything else
        raise SystemExit(f"deepened model differs from the original by {gap:.2e}; nothing saved")
    deeper.save_pretrained(args.out)
    print(f"{args.out}: `fast` {model.config['num_convs']} -> {args.num_convs} body convs, max output change {gap:.1e}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
