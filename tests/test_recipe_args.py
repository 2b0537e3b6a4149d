"""The argument helpers the CPU recipe scripts share (tools/background_run.sh) parse into the configs the README states.

A typo there costs an 80-minute background run, so each helper's output goes through train.py's own parser here.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from facesr_hub.training.config import TrainConfig, config_from_args

REPO_ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.skipif(shutil.which("bash") is None, reason="the recipe scripts are bash")


def _helper_args(*calls: str) -> list[str]:
    """The arguments printed (one per line) by the named helpers of tools/background_run.sh, in order."""
    script = "source tools/background_run.sh\n" + "\n".join(calls)
    out = subprocess.run(["bash", "-c", script], cwd=REPO_ROOT, capture_output=True, text=True, check=True)
    return out.stdout.splitlines()


def _config(*calls: str, extra: tuple[str, ...] = ()) -> TrainConfig:
    return config_from_args([*_helper_args(*calls), "--output-dir", "unused", *extra])


def _true_256_share(config: TrainConfig) -> float:
    weights = dict(zip((Path(d).name for d in config.data), config.source_weights or [], strict=True))
    return weights["celeba-hq-256"] + weights["celebamask-hq-256"]


def test_recipe_args_draw_80_percent_of_batches_from_the_true_256_faces() -> None:
    config = _config('recipe_args "$PWD/data"')
    assert [Path(d).name for d in config.data] == ["celeba", "utkface", "celeba-hq-256", "celebamask-hq-256"]
    assert _true_256_share(config) == pytest.approx(0.80)
    assert config.hr_source == "native" and config.degradation == "bicubic"
    assert config.ema_decay > 0 and config.val_images > 0


def test_fast_gan_args_are_fasts_gan_stage() -> None:
    config = _config('recipe_args "$PWD/data"', "fast_gan_args", extra=("--init-from", "fast-psnr"))
    assert config.arch == "fast" and config.arch_kwargs == {"num_convs": 16}
    assert config.pixel_fraction == 0 and config.uses_gan
    assert config.stage_batch("gan") == (8, 96)
    assert config.perceptual_layers == ["conv5_3"] and config.perceptual_weight == 1
    assert config.gan_weight == pytest.approx(0.05) and config.gan_loss == "relativistic"


def test_blind_helpers_give_realistic_inputs_and_a_five_layer_perceptual_loss() -> None:
    config = _config('blind_recipe_args "$PWD/data"', "blind_gan_args")
    assert config.degradation == "realistic" and config.uses_gan
    assert len(config.perceptual_layers) == 5 and config.perceptual_weight == pytest.approx(0.5)
    assert _true_256_share(config) == pytest.approx(0.80)
