"""The time-budget probe (``planning.seconds_per_step``) on steps that really take time: a slow first call (what
``torch.compile`` does on a GPU) must not become the plan, and slow steps (big models on a CPU) keep the probe short."""

from __future__ import annotations

import time

import torch

from facesr_hub.training.planning import seconds_per_step

CPU = torch.device("cpu")


class SleepingStep:
    """A step that sleeps ``first_s`` on its first call and ``then_s`` on every later one; counts its calls."""

    def __init__(self, first_s: float, then_s: float) -> None:
        self.first_s, self.then_s, self.calls = first_s, then_s, 0

    def __call__(self, i: int) -> None:
        time.sleep(self.first_s if self.calls == 0 else self.then_s)
        self.calls += 1


def test_a_slow_first_call_is_not_the_answer():
    """A GPU run's 19.6 s compiling first step, taken as the step time, once planned 15 steps for 5.6 minutes."""
    step = SleepingStep(first_s=0.6, then_s=0.01)
    measured = seconds_per_step(step, CPU, min_seconds=0.5)
    assert measured < 0.1
    assert step.calls == 2  # the slow path times one more call, not a whole probe


def test_slow_steps_are_timed_on_two_calls_only():
    step = SleepingStep(first_s=0.3, then_s=0.3)
    start = time.perf_counter()
    measured = seconds_per_step(step, CPU, min_seconds=0.25)
    assert 0.25 <= measured < 0.6
    assert step.calls == 2
    assert time.perf_counter() - start < 1.5


def test_fast_steps_average_over_the_probe_time_without_the_first_call():
    step = SleepingStep(first_s=0.2, then_s=0.005)
    measured = seconds_per_step(step, CPU, min_seconds=0.25, max_steps=1000)
    assert 0.004 <= measured < 0.05
    assert step.calls > 10
