"""``WeightEMA`` against diffusers' ``EMAModel`` (the reference it replaces): the same numbers step by step, the same
swap for validation, and checkpoints written by either one resume in ours."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from accelerate import PartialState
from accelerate.checkpointing import load_custom_state, save_custom_state
from diffusers.training_utils import EMAModel
from torch import nn

from facesr_hub.training.ema import WeightEMA, ema_weights, make_ema, restart_ema_from_average

STEPS = 30


def small_model() -> nn.Module:
    """Conv + linear weights, plus two frozen parameters (float and integer) that diffusers copies, not averages."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.Flatten(), nn.Linear(4, 2))
    model.frozen_scale = nn.Parameter(torch.randn(3), requires_grad=False)
    model.frozen_index = nn.Parameter(torch.arange(5), requires_grad=False)
    return model


def perturb(model: nn.Module, generator: torch.Generator) -> None:
    """A fake optimiser step: random changes to every parameter, the frozen ones included (e.g. set by hand)."""
    with torch.no_grad():
        for p in model.parameters():
            if p.is_floating_point():
                p.add_((torch.randn(p.shape, generator=generator) * 0.1).to(p.device))
            else:
                p.add_(torch.randint(0, 3, p.shape, generator=generator).to(p.device))


def shadow_by_name(ema: WeightEMA, model: nn.Module) -> dict[str, torch.Tensor]:
    return {name: shadow for (name, _), shadow in zip(model.named_parameters(), ema.shadow_params, strict=True)}


def assert_same_tensors(ours: list[torch.Tensor], reference: list[torch.Tensor]) -> None:
    assert len(ours) == len(reference)
    for a, b in zip(ours, reference):
        assert a.dtype == b.dtype and a.device == b.device
        assert torch.equal(a, b)  # bit-identical: same ops in the same order


def run_pair(ours: WeightEMA, ours_model: nn.Module, reference: EMAModel, reference_model: nn.Module, steps: int,
             generator: torch.Generator) -> None:
    """``steps`` identical updates of both models, each followed by an EMA step; compared after every step."""
    for _ in range(steps):
        perturb(ours_model, generator)
        with torch.no_grad():
            for a, b in zip(reference_model.parameters(), ours_model.parameters()):
                a.copy_(b)
        ours.step(ours_model.parameters())
        reference.step(reference_model.parameters())
        assert ours.optimization_step == reference.optimization_step
        assert ours.cur_decay_value == reference.cur_decay_value
        assert_same_tensors(ours.shadow_params, reference.shadow_params)


@pytest.mark.parametrize("settings", [
    {"decay": 0.5},  # the cap is reached at n = 8
    {"decay": 0.999},  # still ramping after 30 steps: (1 + n) / (10 + n)
    {"decay": 0.9, "min_decay": 0.3, "update_after_step": 4},
    {"decay": 0.99, "use_ema_warmup": True, "inv_gamma": 2.0, "power": 0.75},
], ids=["capped", "ramping", "min-decay-and-delay", "ema-warmup"])
def test_steps_match_diffusers(settings):
    model = small_model()
    reference_model = copy.deepcopy(model)
    ours = WeightEMA(model.parameters(), **settings)
    reference = EMAModel(reference_model.parameters(), foreach=True, **settings)
    run_pair(ours, model, reference, reference_model, STEPS, torch.Generator().manual_seed(1))
    assert [ours.get_decay(t) for t in range(200)] == [reference.get_decay(t) for t in range(200)]


def test_decay_ramp_and_frozen_parameters_are_copied():
    model = small_model()
    ema = WeightEMA(model.parameters(), decay=0.95)
    # First step: decay 0 (the shadow becomes the weights); then (1 + n) / (10 + n) with n = step - 1, capped.
    assert [ema.get_decay(t) for t in (0, 1, 2, 3)] == [0.0, 0.0, 2 / 11, 3 / 12]
    assert ema.get_decay(10_000) == 0.95
    perturb(model, torch.Generator().manual_seed(2))
    ema.step(model.parameters())
    ema.step(model.parameters())
    perturb(model, torch.Generator().manual_seed(3))
    ema.step(model.parameters())
    shadow = shadow_by_name(ema, model)
    assert torch.equal(shadow["frozen_scale"], model.frozen_scale)  # copied, never averaged
    assert torch.equal(shadow["frozen_index"], model.frozen_index)
    assert not torch.equal(shadow["0.weight"], model[0].weight)  # averaged


def test_swap_for_validation_matches_diffusers():
    model = small_model()
    reference_model = copy.deepcopy(model)
    ours = make_ema(model, 0.9)
    reference = EMAModel(reference_model.parameters(), decay=0.9, foreach=True)
    generator = torch.Generator().manual_seed(4)
    for _ in range(3):
        run_pair(ours, model, reference, reference_model, 7, generator)
        raw = [p.detach().clone() for p in model.parameters()]
        with ema_weights(ours, model) as swapped:
            reference.store(reference_model.parameters())
            reference.copy_to(reference_model.parameters())
            assert swapped is model
            assert_same_tensors([p.detach() for p in model.parameters()],
                                [p.detach() for p in reference_model.parameters()])
            assert_same_tensors([p.detach() for p in model.parameters()], ours.shadow_params)
            reference.restore(reference_model.parameters())
        assert_same_tensors([p.detach() for p in model.parameters()], raw)
        assert ours.temp_stored_params is None
    with pytest.raises(RuntimeError, match="store"):
        ours.restore(model.parameters())


def test_swap_restores_the_weights_after_an_error():
    model = small_model()
    ema = make_ema(model, 0.9)
    perturb(model, torch.Generator().manual_seed(5))
    raw = [p.detach().clone() for p in model.parameters()]
    with pytest.raises(ValueError, match="boom"), ema_weights(ema, model):
        raise ValueError("boom")
    assert_same_tensors([p.detach() for p in model.parameters()], raw)


def test_restart_from_average_matches_the_diffusers_version():
    """The PSNR -> GAN switch: what the trainer did with diffusers (copy_to, then load a fresh EMAModel's state)."""
    model = small_model()
    reference_model = copy.deepcopy(model)
    ours = make_ema(model, 0.99)
    reference = EMAModel(reference_model.parameters(), decay=0.99, foreach=True)
    generator = torch.Generator().manual_seed(6)
    run_pair(ours, model, reference, reference_model, 12, generator)
    restart_ema_from_average(ours, model)
    params = list(reference_model.parameters())
    reference.copy_to(params)
    reference.load_state_dict(EMAModel(params, decay=reference.decay, foreach=True).state_dict())
    assert_same_tensors([p.detach() for p in model.parameters()], [p.detach() for p in params])
    assert ours.optimization_step == reference.optimization_step == 0
    assert_same_tensors(ours.shadow_params, reference.shadow_params)
    run_pair(ours, model, reference, reference_model, 12, generator)  # the ramp starts again


def saved_and_loaded(save: object, load: object, folder: Path) -> None:
    """accelerate's own custom-object checkpoint path (``register_for_checkpointing``): pickle, reload on the CPU."""
    folder.mkdir(parents=True, exist_ok=True)
    PartialState()  # accelerate's logging, used by the two functions, wants its state initialised (CPU here)
    save_custom_state(save, str(folder))
    load_custom_state(load, str(folder))


@pytest.mark.parametrize("checkpoint", [saved_and_loaded, None], ids=["accelerate-file", "in-memory"])
def test_diffusers_checkpoint_resumes_in_ours(checkpoint: Callable | None, tmp_path):
    model = small_model()
    reference_model = copy.deepcopy(model)
    reference = EMAModel(reference_model.parameters(), decay=0.97, foreach=True)
    generator = torch.Generator().manual_seed(7)
    for _ in range(10):
        perturb(reference_model, generator)
        reference.step(reference_model.parameters())
    # A resumed run: a new EMA built from the (freshly initialised) model, then the checkpoint loaded into it.
    resumed = WeightEMA(small_model().parameters(), decay=0.5)
    if checkpoint is None:
        resumed.load_state_dict(reference.state_dict())
    else:
        checkpoint(reference, resumed, tmp_path)
    assert resumed.decay == 0.97 and resumed.optimization_step == 10
    assert set(resumed.state_dict()) == set(reference.state_dict())
    assert_same_tensors(resumed.shadow_params, reference.shadow_params)
    with torch.no_grad():
        for a, b in zip(model.parameters(), reference_model.parameters()):
            a.copy_(b)
    run_pair(resumed, model, reference, reference_model, 20, generator)


def stepped_ema(seed: int):
    """A small model, its EMA (decay 0.97) after 10 perturbed steps, and the generator to go on perturbing with."""
    model = small_model()
    ours = make_ema(model, 0.97)
    generator = torch.Generator().manual_seed(seed)
    for _ in range(10):
        perturb(model, generator)
        ours.step(model.parameters())
    return model, ours, generator


def test_our_checkpoint_round_trips_and_loads_into_diffusers(tmp_path):
    model, ours, generator = stepped_ema(8)
    resumed = make_ema(small_model(), 0.5)
    saved_and_loaded(ours, resumed, tmp_path)
    state, reference_state = resumed.state_dict(), ours.state_dict()
    assert {k: v for k, v in state.items() if k != "shadow_params"} == \
        {k: v for k, v in reference_state.items() if k != "shadow_params"}
    assert_same_tensors(state["shadow_params"], reference_state["shadow_params"])
    # Same keys and meaning as diffusers': its EMAModel takes our state and continues exactly like ours.
    reference_model = copy.deepcopy(model)
    reference = EMAModel(small_model().parameters(), foreach=True)
    saved_and_loaded(ours, reference, tmp_path / "to-diffusers")
    assert reference.decay == 0.97 and reference.optimization_step == 10
    run_pair(ours, model, reference, reference_model, 10, generator)


def test_round_trip_continues_identically(tmp_path):
    model, ours, generator = stepped_ema(9)
    resumed = make_ema(small_model(), 0.5)
    saved_and_loaded(ours, resumed, tmp_path)
    for _ in range(15):
        perturb(model, generator)
        ours.step(model.parameters())
        resumed.step(model.parameters())
        assert_same_tensors(resumed.shadow_params, ours.shadow_params)


def test_load_state_dict_copies_and_refuses_bad_states():
    model = small_model()
    ema = make_ema(model, 0.9)
    state = ema.state_dict()
    other = make_ema(small_model(), 0.5)
    other.load_state_dict(state)
    state["shadow_params"][0].add_(1.0)  # our live tensors; the loaded copy must not follow
    assert not torch.equal(other.shadow_params[0], state["shadow_params"][0])
    before = copy.deepcopy(other.state_dict())
    for bad, message in [({"decay": 1.5}, "Decay"), ({"min_decay": 0}, "min_decay"),
                         ({"optimization_step": 1.0}, "optimization_step"), ({"use_ema_warmup": 1}, "use_ema_warmup"),
                         ({"shadow_params": (torch.zeros(1),)}, "list"), ({"shadow_params": [1.0]}, "Tensors")]:
        with pytest.raises(ValueError, match=message):
            other.load_state_dict({**ema.state_dict(), **bad})
        # A refused state changes nothing (diffusers would have half-applied it).
        assert {k: v for k, v in other.state_dict().items() if k != "shadow_params"} == \
            {k: v for k, v in before.items() if k != "shadow_params"}
    partial = make_ema(small_model(), 0.5)
    partial.load_state_dict({"optimization_step": 3})  # missing keys keep their values, as in diffusers
    assert (partial.decay, partial.optimization_step) == (0.5, 3)


def test_to_moves_and_casts_only_floating_point_shadows():
    model = small_model()
    ema = make_ema(model, 0.9)
    reference = EMAModel(copy.deepcopy(model).parameters(), decay=0.9, foreach=True)
    ema.to("cpu", dtype=torch.float64)
    reference.to("cpu", dtype=torch.float64)
    assert [p.dtype for p in ema.shadow_params] == [p.dtype for p in reference.shadow_params]
    shadow = shadow_by_name(ema, model)
    assert shadow["frozen_index"].dtype == torch.int64 and shadow["0.weight"].dtype == torch.float64


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_matches_diffusers_on_cuda():
    """The trainer keeps the EMA on the accelerator (``ema.to(device)`` after a resume): multi-tensor kernels there."""
    model = small_model().cuda()
    reference_model = copy.deepcopy(model)
    ours = make_ema(model, 0.99)
    reference = EMAModel(reference_model.parameters(), decay=0.99, foreach=True)
    ours.to("cuda")
    reference.to("cuda")
    generator = torch.Generator().manual_seed(10)
    run_pair(ours, model, reference, reference_model, STEPS, generator)
    with ema_weights(ours, model):
        reference.store(reference_model.parameters())
        reference.copy_to(reference_model.parameters())
        assert_same_tensors([p.detach() for p in model.parameters()],
                            [p.detach() for p in reference_model.parameters()])
        reference.restore(reference_model.parameters())
    assert_same_tensors([p.detach() for p in model.parameters()], [p.detach() for p in reference_model.parameters()])
