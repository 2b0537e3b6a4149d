"""The fidelity slider: blend a model with its PSNR-stage checkpoint, ``out = a * psnr + (1 - a) * gan``.

A model ``X`` whose PSNR-stage checkpoint ``X-psnr`` is also available can be blended with it:
``out = a * psnr + (1 - a) * gan``. When both checkpoints share one config (same class, same hyper-parameters) the
blend is done on the *weights* (ESRGAN's network interpolation, Wang et al. 2018): the GAN stage is fine-tuned from
the PSNR stage, so the two weight sets lie in one basin and interpolating them gives a smooth detail/fidelity dial
with fewer ghosting artefacts than mixing pixels, at the cost of one forward pass instead of two. When the configs
differ, weights cannot be mixed and the outputs are blended instead (``OutputBlend``).
"""

from __future__ import annotations

import torch
from torch import nn

from ..generators import ARCHITECTURE_KEY, Generator


class OutputBlend(nn.Module):
    """``alpha * psnr(x) + (1 - alpha) * gan(x)``: the fidelity blend for two checkpoints that differ in config."""

    def __init__(self, psnr: nn.Module, gan: nn.Module, *, alpha: float) -> None:
        super().__init__()
        if not 0.0 <= alpha <= 1.0:
            raise ValueError(f"alpha must be in [0, 1], got {alpha}")
        if getattr(psnr, "scale", 4) != getattr(gan, "scale", 4):
            raise ValueError("cannot blend models with different scales")
        self.psnr, self.gan, self.alpha = psnr, gan, float(alpha)
        self.scale = getattr(gan, "scale", 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.lerp(self.gan(x), self.psnr(x), self.alpha)


def interpolate_weights(psnr: Generator, gan: Generator, *, alpha: float) -> Generator:
    """A new generator whose weights are ``alpha * psnr + (1 - alpha) * gan`` (both must share one config)."""
    if psnr.config != gan.config:
        raise ValueError("weight interpolation needs two checkpoints with the same config")
    parameter = next(gan.parameters())
    blended = type(gan)(**{k: v for k, v in gan.config.items() if k != ARCHITECTURE_KEY})
    psnr_state, gan_state = psnr.state_dict(), gan.state_dict()
    state = {}
    for key, value in gan_state.items():
        # Lerp in float32 (fp16 weights would round twice); integer buffers such as counters are taken as is.
        state[key] = (torch.lerp(value.float(), psnr_state[key].float(), alpha).to(value.dtype)
                      if value.is_floating_point() else value)
    blended.load_state_dict(state, strict=True)
    return blended.to(device=parameter.device, dtype=parameter.dtype).eval()
