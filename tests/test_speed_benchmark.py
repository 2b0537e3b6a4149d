"""benchmarks/speed.py: each model's figures come out as soon as they are measured, and bad options stop it first."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

REPO = Path(__file__).resolve().parents[1]


def load_speed() -> ModuleType:
    spec = importlib.util.spec_from_file_location("speed_benchmark", REPO / "benchmarks" / "speed.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_each_model_is_reported_before_the_table(capsys: pytest.CaptureFixture[str]):
    """A run stopped at a time limit on the GPU keeps what it measured: the per-model lines precede the table."""
    load_speed().main(["--models", "fast", "--repeats", "1", "--warmup", "0", "--no-cuda"])
    out = capsys.readouterr().out
    measured = out.index("measured fast: ")
    assert out.index("measured bicubic (F.interpolate): ") < measured < out.index("| model |")
    assert "| fast |" in out


@pytest.mark.parametrize("dtypes", ["fp32", "", "fp16,int8"])
def test_unknown_cuda_dtypes_are_refused(dtypes: str, capsys: pytest.CaptureFixture[str]):
    with pytest.raises(SystemExit) as stopped:
        load_speed().main(["--models", "fast", "--cuda-dtypes", dtypes])
    assert stopped.value.code == 2
    assert "--cuda-dtypes" in capsys.readouterr().err
