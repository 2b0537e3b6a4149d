"""The learning-rate schedule against diffusers' ``get_cosine_schedule_with_warmup`` (the reference it replaces):
the same lr at every step, the same retargeting, the same scheduler checkpoints."""

from __future__ import annotations

import pytest
import torch
from diffusers.optimization import get_cosine_schedule_with_warmup
from torch.optim.lr_scheduler import LambdaLR

from facesr_hub.training.planning import cosine_with_warmup, make_scheduler, retarget

SETTINGS = [(0, 1), (0, 10), (1, 1), (2, 10), (3, 7), (10, 10), (5, 100), (100, 1000), (250, 5000)]


def optimizer(lr: float = 2e-4) -> torch.optim.Optimizer:
    return torch.optim.Adam([torch.zeros(2, requires_grad=True)], lr=lr)


def lr_sequence(scheduler: LambdaLR, steps: int) -> list[float]:
    """The optimiser's lr after construction and after each of ``steps`` scheduler steps."""
    lrs = [scheduler.optimizer.param_groups[0]["lr"]]
    for _ in range(steps):
        scheduler.optimizer.step()
        scheduler.step()
        lrs.append(scheduler.optimizer.param_groups[0]["lr"])
    return lrs


@pytest.mark.parametrize("warmup, total", SETTINGS)
def test_lr_sequence_equals_diffusers(warmup, total):
    ours = make_scheduler(optimizer(), warmup=warmup, stage_steps=total)
    reference = get_cosine_schedule_with_warmup(optimizer(), num_warmup_steps=warmup, num_training_steps=total)
    steps = total + 5  # past the end too: diffusers clamps at 0
    assert lr_sequence(ours, steps) == lr_sequence(reference, steps)  # exact, not approximate
    fn, reference_fn = cosine_with_warmup(warmup, total), reference.lr_lambdas[0]
    assert [fn(t) for t in range(steps)] == [reference_fn(t) for t in range(steps)]


def test_shape_warmup_then_half_cosine_to_zero():
    fn = cosine_with_warmup(4, 12)
    assert [fn(t) for t in range(5)] == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert fn(8) == pytest.approx(0.5) and fn(12) == pytest.approx(0.0, abs=1e-15)
    assert fn(20) == 1.0  # diffusers does not clamp past the end: the cosine climbs again (the trainer stops first)


def test_empty_stage_is_one_step_as_before():
    """A stage of 0 steps gets a schedule of length 1 (what make_scheduler asked diffusers for)."""
    ours = make_scheduler(optimizer(), warmup=0, stage_steps=0)
    reference = get_cosine_schedule_with_warmup(optimizer(), num_warmup_steps=0, num_training_steps=1)
    assert lr_sequence(ours, 3) == lr_sequence(reference, 3)


def diffusers_retarget(scheduler: LambdaLR, *, warmup: int, stage_steps: int) -> None:
    """``retarget`` as it was written on top of diffusers."""
    dummy = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
    scheduler.lr_lambdas = get_cosine_schedule_with_warmup(dummy, num_warmup_steps=warmup,
                                                           num_training_steps=max(stage_steps, 1)).lr_lambdas


@pytest.mark.parametrize("warmup, first, at, second", [(2, 100, 10, 20), (5, 50, 3, 400), (0, 30, 30, 60),
                                                       (10, 1000, 500, 501)])
def test_retarget_equals_the_diffusers_version(warmup, first, at, second):
    ours = make_scheduler(optimizer(), warmup=warmup, stage_steps=first)
    reference = get_cosine_schedule_with_warmup(optimizer(), num_warmup_steps=warmup, num_training_steps=first)
    assert lr_sequence(ours, at) == lr_sequence(reference, at)
    retarget(ours, warmup=warmup, stage_steps=second)
    diffusers_retarget(reference, warmup=warmup, stage_steps=second)
    assert ours.last_epoch == reference.last_epoch == at  # the step counter is kept
    lrs = lr_sequence(ours, second - at + 3)
    assert lrs == lr_sequence(reference, second - at + 3)
    assert lrs[second - at] == pytest.approx(0.0, abs=1e-15)  # the schedule now ends at the new length


def test_retarget_covers_every_param_group():
    params = [torch.zeros(1, requires_grad=True), torch.zeros(1, requires_grad=True)]
    opt = torch.optim.Adam([{"params": [params[0]], "lr": 1.0}, {"params": [params[1]], "lr": 0.5}])
    scheduler = make_scheduler(opt, warmup=0, stage_steps=100)
    lr_sequence(scheduler, 10)
    retarget(scheduler, warmup=0, stage_steps=11)
    lr_sequence(scheduler, 1)
    assert [group["lr"] for group in opt.param_groups] == pytest.approx([0.0, 0.0], abs=1e-15)


def test_scheduler_checkpoints_are_interchangeable_with_diffusers():
    """accelerate saves ``scheduler.state_dict()``; ours must read diffusers' (and hold no pickled function)."""
    reference = get_cosine_schedule_with_warmup(optimizer(), num_warmup_steps=3, num_training_steps=40)
    lr_sequence(reference, 17)
    ours = make_scheduler(optimizer(), warmup=3, stage_steps=40)
    assert ours.state_dict().keys() == reference.state_dict().keys()
    assert ours.state_dict()["lr_lambdas"] == reference.state_dict()["lr_lambdas"] == [None]
    ours.load_state_dict(reference.state_dict())
    ours.optimizer.param_groups[0]["lr"] = reference.optimizer.param_groups[0]["lr"]  # accelerate restores it too
    assert lr_sequence(ours, 30) == lr_sequence(reference, 30)
