"""EMA of the generator weights: the average itself (``WeightEMA``), construction, the swap used to save/validate,
and the reset at the PSNR -> GAN switch.

``WeightEMA`` reproduces diffusers' ``training_utils.EMAModel`` (``foreach=True``) for the way the trainer uses it:
the same decay ramp, the same update arithmetic and the same ``state_dict`` keys and meaning, so a checkpoint written
while the trainer still used ``EMAModel`` resumes unchanged. It lives here so that training does not import diffusers
(the GPU machines we deploy to do not have it).
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import torch
from torch import nn


class WeightEMA:
    """Exponential moving average of a list of parameters (diffusers' ``EMAModel`` without the model-saving extras).

    After optimisation step ``t`` (counted by :meth:`step`), the shadow weights move towards the parameters with decay
    ``d(t)``: ``0`` at the first step (the shadow becomes the weights), then ``(1 + n) / (10 + n)`` with
    ``n = t - update_after_step - 1``, capped at ``decay`` and floored at ``min_decay``; with ``use_ema_warmup`` the
    ramp is ``1 - (1 + n / inv_gamma) ** -power`` instead. Parameters that do not require grad (frozen ones) are
    copied, not averaged. The hyper-parameters are attributes and part of the state, as in diffusers.
    """

    def __init__(self, parameters: Iterable[torch.Tensor], decay: float = 0.9999, *, min_decay: float = 0.0,
                 update_after_step: int = 0, use_ema_warmup: bool = False, inv_gamma: float = 1.0,
                 power: float = 2 / 3) -> None:
        self.shadow_params: list[torch.Tensor] = [p.clone().detach() for p in parameters]
        self.temp_stored_params: list[torch.Tensor] | None = None
        self.decay = decay
        self.min_decay = min_decay
        self.update_after_step = update_after_step
        self.use_ema_warmup = use_ema_warmup
        self.inv_gamma = inv_gamma
        self.power = power
        self.optimization_step = 0
        self.cur_decay_value: float | None = None  # the decay the last step() used

    def get_decay(self, optimization_step: int) -> float:
        """Decay applied at optimisation step ``optimization_step`` (1 for the first :meth:`step` call)."""
        n = max(0, optimization_step - self.update_after_step - 1)
        if n <= 0:  # the first update (and any before update_after_step) replaces the shadow by the weights
            return 0.0
        if self.use_ema_warmup:
            value = 1 - (1 + n / self.inv_gamma) ** -self.power
        else:
            value = (1 + n) / (10 + n)
        return max(min(value, self.decay), self.min_decay)

    @torch.no_grad()
    def step(self, parameters: Iterable[torch.Tensor]) -> None:
        """Move the average one step towards ``parameters`` (the same tensors, in the same order, as at creation)."""
        parameters = list(parameters)
        self.optimization_step += 1
        decay = self.get_decay(self.optimization_step)
        self.cur_decay_value = decay
        frozen = [(s, p) for s, p in zip(self.shadow_params, parameters) if not p.requires_grad]
        if frozen:
            torch._foreach_copy_([s for s, _ in frozen], [p for _, p in frozen], non_blocking=True)
        trained = [(s, p) for s, p in zip(self.shadow_params, parameters) if p.requires_grad]
        if trained:
            shadows, params = [s for s, _ in trained], [p for _, p in trained]
            # shadow -= (1 - decay) * (shadow - param), written exactly as diffusers' foreach path so that the
            # result is bit-identical to it (a lerp would round differently).
            torch._foreach_sub_(shadows, torch._foreach_sub(shadows, params), alpha=1 - decay)

    def copy_to(self, parameters: Iterable[torch.Tensor]) -> None:
        """Write the averaged weights into ``parameters``."""
        parameters = list(parameters)
        torch._foreach_copy_([p.data for p in parameters],
                             [s.to(p.device).data for s, p in zip(self.shadow_params, parameters)])

    def store(self, parameters: Iterable[torch.Tensor]) -> None:
        """Keep a copy of ``parameters`` for :meth:`restore`. On the CPU, as diffusers does, so that swapping in the
        EMA weights for validation costs no accelerator memory."""
        self.temp_stored_params = [p.detach().cpu().clone() for p in parameters]

    def restore(self, parameters: Iterable[torch.Tensor]) -> None:
        """Put back the weights saved by :meth:`store` (and drop the saved copy)."""
        if self.temp_stored_params is None:
            raise RuntimeError("WeightEMA.restore() without a store() before it")
        parameters = list(parameters)
        torch._foreach_copy_([p.data for p in parameters], [c.data for c in self.temp_stored_params])
        self.temp_stored_params = None

    def restart(self, parameters: Iterable[torch.Tensor]) -> None:
        """Start the average again from ``parameters``: the state of a new ``WeightEMA`` with these hyper-parameters."""
        self.shadow_params = [p.clone().detach() for p in parameters]
        self.optimization_step = 0
        self.cur_decay_value = None

    def to(self, device: torch.device | str | None = None, dtype: torch.dtype | None = None,
           non_blocking: bool = False) -> None:
        """Move the shadow weights to ``device`` (and floating-point ones to ``dtype``), in place of the old ones."""
        self.shadow_params = [
            p.to(device=device, dtype=dtype, non_blocking=non_blocking) if p.is_floating_point()
            else p.to(device=device, non_blocking=non_blocking)
            for p in self.shadow_params
        ]

    def state_dict(self) -> dict[str, Any]:
        """The state, with diffusers' ``EMAModel`` keys and meaning (accelerate pickles it into checkpoints).

        As in PyTorch and diffusers, ``shadow_params`` holds references to the live tensors, not copies.
        """
        return {"decay": self.decay, "min_decay": self.min_decay, "optimization_step": self.optimization_step,
                "update_after_step": self.update_after_step, "use_ema_warmup": self.use_ema_warmup,
                "inv_gamma": self.inv_gamma, "power": self.power, "shadow_params": self.shadow_params}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Load a state from :meth:`state_dict`, or from diffusers' ``EMAModel.state_dict()`` (older checkpoints).

        Missing keys keep their current values; wrong types are refused with diffusers' checks.
        """
        state = copy.deepcopy(state_dict)  # like nn.Module: later edits of the caller's dict do not reach us
        decay = state.get("decay", self.decay)
        if not 0.0 <= decay <= 1.0:
            raise ValueError("Decay must be between 0 and 1")
        checks: dict[str, tuple[type, ...]] = {"min_decay": (float,), "optimization_step": (int,),
                                               "update_after_step": (int,), "use_ema_warmup": (bool,),
                                               "inv_gamma": (float, int), "power": (float, int)}
        values = {name: state.get(name, getattr(self, name)) for name in checks}
        for name, types in checks.items():
            if not isinstance(values[name], types):
                raise ValueError(f"Invalid {name}")
        shadow = state.get("shadow_params")
        if shadow is not None:
            if not isinstance(shadow, list):
                raise ValueError("shadow_params must be a list")
            if not all(isinstance(p, torch.Tensor) for p in shadow):
                raise ValueError("shadow_params must all be Tensors")
        # Assigned only once everything is checked, so a refused state leaves this object as it was.
        self.decay = decay
        for name, value in values.items():
            setattr(self, name, value)
        if shadow is not None:
            self.shadow_params = shadow


def make_ema(model: nn.Module, decay: float) -> WeightEMA:
    """EMA of ``model``'s parameters. The decay ramps up as (1 + n) / (10 + n), capped at ``decay``, so early
    checkpoints are not dominated by the random initialisation."""
    return WeightEMA(model.parameters(), decay=decay)


@contextmanager
def ema_weights(ema: WeightEMA, model: nn.Module) -> Iterator[nn.Module]:
    """``model`` holding the EMA weights inside the block; its own weights come back afterwards."""
    params = list(model.parameters())
    ema.store(params)
    ema.copy_to(params)
    try:
        yield model
    finally:
        ema.restore(params)


def restart_ema_from_average(ema: WeightEMA, model: nn.Module) -> None:
    """Copy the EMA weights into ``model`` and restart the average from them (the PSNR -> GAN switch).

    The EMA object itself is kept (it is registered for checkpointing); only its state is replaced.
    """
    params = list(model.parameters())
    ema.copy_to(params)
    ema.restart(params)
