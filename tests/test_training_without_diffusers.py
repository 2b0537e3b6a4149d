"""Training needs no diffusers (the GPU machines we deploy to lack it): importing ``train.py`` and
``facesr_hub.training`` does not load it, a whole run works with it blocked, and that run resumes a checkpoint
written when the trainer still used diffusers' ``EMAModel`` and cosine schedule, ending where the old code ends."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file
from training_fixtures import make_celeba, tiny_args

REPO_ROOT = Path(__file__).resolve().parent.parent
# One thread per process: deterministic kernels, so runs can be compared (as in test_train_cli.py).
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}

NO_DIFFUSERS_IMPORTED = "assert not any(m == 'diffusers' or m.startswith('diffusers.') for m in sys.modules)"

# train.main with diffusers made unimportable (a None entry in sys.modules makes `import diffusers` raise).
BLOCKED_RUN = """
import sys
sys.modules["diffusers"] = None
import train
code = train.main(sys.argv[1:])
assert not any(m.startswith("diffusers.") for m in sys.modules), "a diffusers submodule was imported"
sys.exit(code)
"""

# train.main as it was before WeightEMA: diffusers' EMAModel, reset at the PSNR -> GAN switch as the old code did.
DIFFUSERS_EMA_RUN = """
import sys
import train
import facesr_hub.training.trainer as trainer
from diffusers.training_utils import EMAModel

def make_ema(model, decay):
    return EMAModel(model.parameters(), decay=decay, foreach=True)

def restart_ema_from_average(ema, model):
    params = list(model.parameters())
    ema.copy_to(params)
    ema.load_state_dict(EMAModel(params, decay=ema.decay, foreach=True).state_dict())

trainer.make_ema, trainer.restart_ema_from_average = make_ema, restart_ema_from_average
sys.exit(train.main(sys.argv[1:]))
"""


def run_python(code: str, *args: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([sys.executable, "-c", code, *args], cwd=REPO_ROOT, env=ENV, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    return done


def test_imports_do_not_load_diffusers():
    """``train`` is importable as a module (its work is under a main guard), and neither it nor the package
    imports diffusers."""
    run_python(f"import sys, facesr_hub.training; import train; {NO_DIFFUSERS_IMPORTED}")


@pytest.mark.slow
def test_runs_without_diffusers_and_resumes_a_diffusers_era_checkpoint(tmp_path):
    data = make_celeba(tmp_path / "celeba")
    # 3 PSNR + 3 GAN steps, a checkpoint every 2: step 2 is mid-ramp, before the PSNR -> GAN EMA restart.
    args = ("--pixel-steps", "3", "--gan-steps", "3", "--save-every", "2", "--keep-checkpoints", "5")
    reference, old = tmp_path / "reference", tmp_path / "old"
    run_python(BLOCKED_RUN, *tiny_args(data, reference, *args))
    run_python(DIFFUSERS_EMA_RUN, *tiny_args(data, old, *args))

    model_file = Path("model") / "model.safetensors"
    ours = load_file(reference / model_file)
    theirs = load_file(old / model_file)
    assert ours.keys() == theirs.keys()
    for name, tensor in theirs.items():  # the same run with either EMA: the same final (EMA) weights
        torch.testing.assert_close(ours[name], tensor, rtol=0, atol=0, msg=name)

    # Rewind the diffusers-era run to its step-2 checkpoint and finish it with the new code, diffusers blocked.
    checkpoints = old / "checkpoints"
    for folder in checkpoints.glob("checkpoint-*"):
        if folder.name != "checkpoint-00000002":
            shutil.rmtree(folder)
    (checkpoints / "latest").write_text("checkpoint-00000002\n")
    shutil.rmtree(old / "model")
    resumed = run_python(BLOCKED_RUN, *tiny_args(data, old, *args, "--resume"))
    assert "resumed from" in resumed.stderr and "checkpoint-00000002" in resumed.stderr
    finished = load_file(old / model_file)
    for name, tensor in ours.items():  # same batches, same optimiser and EMA state: the same weights
        torch.testing.assert_close(finished[name], tensor, rtol=1e-5, atol=1e-6, msg=name)
