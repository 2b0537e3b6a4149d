"""Stage lengths and learning-rate schedules: fixed step counts, or step counts planned from a time budget.

A time budget (``--max-minutes``) is turned into step counts at the start, from a short probe that times the real
step functions on throwaway copies of the models, and re-planned at every log step from the measured speed (the
schedule of the running stage is stretched or shortened so that its cosine still ends at the end of its time
share; warm-up lengths stay fixed). The current plan is stored in the checkpoint, so a resumed run continues the
same schedule; but the plan follows the machine's speed, so two runs with the same time budget are not
bit-identical (step budgets are).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

import torch
from torch.optim import Optimizer
from torch.optim.lr_scheduler import LambdaLR

#: Share of the remaining time a plan fills; the rest absorbs validation, checkpoints and speed noise.
PLAN_SAFETY = 0.95
#: Warm-up never takes more than this share of a stage.
MAX_WARMUP_FRACTION = 0.1


def warmup_steps(requested: int, stage_steps: int) -> int:
    return min(requested, int(stage_steps * MAX_WARMUP_FRACTION))


def cosine_with_warmup(warmup: int, stage_steps: int) -> Callable[[int], float]:
    """lr multiplier at scheduler step ``t``: ``t / warmup`` during the warm-up, then a half cosine from 1 to 0 at
    ``stage_steps``. Past ``stage_steps`` the cosine climbs again, as diffusers' does (the trainer stops first).

    The arithmetic is diffusers' ``get_cosine_schedule_with_warmup`` with ``num_cycles=0.5``, so schedules (and
    resumed runs) are unchanged from when the trainer used it. A plain function, not a callable object, on purpose:
    ``LambdaLR.state_dict()`` stores ``None`` for functions, so checkpoints keep the same content and a resumed run
    takes its schedule from the saved plan, never from the pickle.
    """
    def lr_lambda(current_step: int) -> float:
        if current_step < warmup:
            return float(current_step) / float(max(1, warmup))
        progress = float(current_step - warmup) / float(max(1, stage_steps - warmup))
        # cos(pi * 0.5 * 2 * progress) as diffusers writes it; the factor 0.5 * 2 is exact, so this is bit-identical.
        return max(0.0, 0.5 * (1.0 + math.cos(math.pi * progress)))

    return lr_lambda


def make_scheduler(optimizer: Optimizer, *, warmup: int, stage_steps: int) -> LambdaLR:
    """Linear warm-up over ``warmup`` steps, then cosine decay to 0 at ``stage_steps`` (see ``cosine_with_warmup``)."""
    return LambdaLR(optimizer, cosine_with_warmup(warmup, max(stage_steps, 1)))


def retarget(scheduler: LambdaLR, *, warmup: int, stage_steps: int) -> None:
    """Make ``scheduler`` end at ``stage_steps`` from its current step on (same warm-up, same shape).

    Only the lr function is swapped; the step counter and the optimiser's lr are untouched until the next
    ``scheduler.step()``, which reads the new function.
    """
    lr_lambda = cosine_with_warmup(warmup, max(stage_steps, 1))
    scheduler.lr_lambdas = [lr_lambda] * len(scheduler.optimizer.param_groups)


def replan_stage(*, done_in_stage: int, seconds_left: float, seconds_per_step: float) -> int:
    """New length of the running stage: the steps done plus those that fit in ``seconds_left``."""
    return done_in_stage + max(0, math.floor(seconds_left * PLAN_SAFETY / max(seconds_per_step, 1e-9)))


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def seconds_per_step(run_step: Callable[[int], None], device: torch.device, *, warmup: int = 1, min_steps: int = 2,
                     min_seconds: float = 1.0, max_steps: int = 50) -> float:
    """Mean wall time of ``run_step(i)``: ``warmup`` untimed calls, then at least ``min_steps`` timed calls and
    more until ``min_seconds`` have passed.

    When the first call takes ``min_seconds`` or more, one more call is timed and taken as the answer: that keeps
    the probe short for big models on a CPU (probing longer would eat the budget it is meant to plan), and the
    first call is never the answer, because it pays the one-off costs (``torch.compile`` compiling for tens of
    seconds, cuDNN autotuning), which once planned 15 steps for a 5.6-minute GPU run.
    """
    start = time.perf_counter()
    run_step(0)
    synchronize(device)
    if time.perf_counter() - start >= min_seconds:
        start = time.perf_counter()
        run_step(1)
        synchronize(device)
        return time.perf_counter() - start
    for i in range(1, warmup):
        run_step(i)
    synchronize(device)
    start, count = time.perf_counter(), 0
    while count < min_steps or (time.perf_counter() - start < min_seconds and count < max_steps):
        run_step(max(warmup, 1) + count)
        count += 1
    synchronize(device)
    return (time.perf_counter() - start) / count


def plan_time_budget(budget_s: float, spent_s: float, pixel_fraction: float, psnr_step_s: float,
                     gan_step_s: float | None) -> tuple[int, int]:
    """(PSNR steps, GAN steps) that fill ``budget_s`` minus what is already spent, split by ``pixel_fraction``."""
    available = max(budget_s - spent_s, 0.0) * PLAN_SAFETY
    pixel = math.floor(available * pixel_fraction / psnr_step_s) if pixel_fraction > 0 else 0
    gan = 0
    if pixel_fraction < 1 and gan_step_s is not None:
        gan = math.floor(available * (1 - pixel_fraction) / gan_step_s)
    # At least one step in every stage the user asked for, even when the budget is absurdly small.
    return max(pixel, 1 if pixel_fraction > 0 else 0), max(gan, 1 if pixel_fraction < 1 else 0)
