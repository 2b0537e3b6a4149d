"""train.py as a real process: SIGKILL mid-run then --resume, and `accelerate launch` with two CPU processes."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file
from training_fixtures import make_celeba, tiny_args

REPO_ROOT = Path(__file__).resolve().parent.parent
TRAIN = str(REPO_ROOT / "train.py")
# One thread per process: deterministic kernels, so the resumed and the uninterrupted run can be compared exactly.
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}


@pytest.fixture(scope="module")
def celeba(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_celeba(tmp_path_factory.mktemp("celeba"))


def _state(output: Path) -> dict:
    latest = (output / "checkpoints" / "latest").read_text().strip()
    return json.loads((output / "checkpoints" / latest / "trainer_state.json").read_text())


def _lr_by_step(output: Path) -> dict[int, float]:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    # A resumed run appends a second event file; steps logged twice (after the checkpoint, before the kill) are
    # purged from the first segment, as TensorBoard shows them.
    events = EventAccumulator(str(output / "logs")).Reload()
    return {event.step: event.value for event in events.Scalars("lr/generator")}


@pytest.mark.slow
def test_sigkill_then_resume_continues_the_same_schedule(celeba, tmp_path):
    args = ["--pixel-steps", "12", "--gan-steps", "4", "--save-every", "4", "--val-images", "0"]
    reference = subprocess.Popen([sys.executable, TRAIN, *tiny_args(celeba, tmp_path / "ref", *args)], env=ENV,
                                 stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    victim_out = tmp_path / "run"
    victim = subprocess.Popen([sys.executable, TRAIN, *tiny_args(celeba, victim_out, *args)], env=ENV,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 240
    while not (victim_out / "checkpoints" / "latest").exists():
        assert victim.poll() is None, "the run ended before writing its first checkpoint"
        assert time.monotonic() < deadline, "no checkpoint within 240 s"
        time.sleep(0.01)
    os.kill(victim.pid, signal.SIGKILL)
    assert victim.wait(timeout=30) == -signal.SIGKILL
    killed_at = _state(victim_out)["step"]
    assert 4 <= killed_at < 16 and not (victim_out / "model").exists()

    resumed = subprocess.run([sys.executable, TRAIN, *tiny_args(celeba, victim_out, *args, "--resume")], env=ENV,
                             capture_output=True, text=True, timeout=300, check=False)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert f"resumed from {victim_out / 'checkpoints'}" in resumed.stderr
    ref_out, _ = reference.communicate(timeout=300)
    assert reference.returncode == 0, ref_out

    final, expected = _state(victim_out), _state(tmp_path / "ref")
    assert final["step"] == expected["step"] == 16 and final["pixel_steps"] == 12 and final["gan_steps"] == 4
    ref_lr, run_lr = _lr_by_step(tmp_path / "ref"), _lr_by_step(victim_out)
    assert sorted(run_lr) == sorted(ref_lr) == list(range(1, 17))
    assert run_lr == pytest.approx(ref_lr, rel=1e-9)  # warm-up and cosine continue where they were
    ema_ref = load_file(tmp_path / "ref" / "model" / "model.safetensors")
    ema_run = load_file(victim_out / "model" / "model.safetensors")
    for name, tensor in ema_ref.items():  # same batches, same optimiser state: the same weights
        torch.testing.assert_close(ema_run[name], tensor, rtol=1e-5, atol=1e-6, msg=name)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _launch(*launch_args: str, train_args: list[str]) -> subprocess.CompletedProcess:
    accelerate = Path(sys.executable).parent / "accelerate"
    command = [str(accelerate), "launch", *launch_args, "--num_machines", "1", "--mixed_precision", "no",
               "--dynamo_backend", "no", "--main_process_port", str(_free_port()), TRAIN, *train_args]
    done = subprocess.run(command, env=ENV, capture_output=True, text=True, timeout=400, check=False)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done


@pytest.mark.slow
def test_accelerate_launch_cpu_command_completes(celeba, tmp_path):
    # The documented CPU smoke command. (accelerate's simple launcher starts ONE process for --cpu unless an MPI
    # hostfile is given; the next test runs two real processes.)
    done = _launch("--num_processes", "2", "--cpu",
                   train_args=tiny_args(celeba, tmp_path / "out", "--pixel-steps", "1", "--gan-steps", "1",
                                        "--val-images", "0"))
    assert "done: 2 steps" in done.stdout
    assert (tmp_path / "out" / "model" / "model.safetensors").is_file()


@pytest.mark.slow
def test_accelerate_launch_two_cpu_processes_share_one_run(celeba, tmp_path):
    # On a machine without GPUs the trainer asks accelerate for a CPU run, so two launched processes join one
    # gloo DDP group: each writes its own RNG state, the main process alone validates, saves and prints.
    done = _launch("--multi_gpu", "--num_processes", "2",
                   train_args=tiny_args(celeba, tmp_path / "out", "--pixel-steps", "2", "--gan-steps", "2",
                                        "--save-every", "2", "--val-images", "2"))
    assert done.stdout.count("done: 4 steps") == 1
    checkpoint = tmp_path / "out" / "checkpoints" / "checkpoint-00000004"
    assert (checkpoint / "random_states_0.pkl").is_file() and (checkpoint / "random_states_1.pkl").is_file()
    assert _state(tmp_path / "out")["step"] == 4
    assert (tmp_path / "out" / "model" / "model.safetensors").is_file()
    assert (tmp_path / "out" / "psnr-stage" / "model.safetensors").is_file()
    assert (tmp_path / "out" / "samples" / "final.png").is_file()
