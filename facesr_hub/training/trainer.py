"""The training loop: a PSNR stage (pixel L1), then a GAN stage, with EMA, checkpoints, validation and logging.

Runs the same on one CPU, one GPU or many (``accelerate launch train.py ...``): accelerate owns devices, DDP,
bf16 autocast (CUDA only) and the state saved for resume.
"""

from __future__ import annotations

import copy
import json
import logging
import time
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from accelerate import Accelerator
from accelerate.utils import broadcast_object_list, parse_flag_from_env, set_seed
from huggingface_hub import ModelCard
from torch import nn

from ..data import degrade_all
from ..discriminators import DISCRIMINATORS
from ..generators import GENERATORS, Generator
from ..loading import load_generator
from ..hub import push_generator_folder, render_model_card, save_generator_folder
from .card import BETAS, training_card_info
from .checkpoint import atomic_write_text, latest_checkpoint, save_checkpoint
from .config import TrainConfig
from .data import TrainData, load_train_data, place_cache, training_batch
from .discriminator_folder import DISCRIMINATOR_DIR, init_discriminator, save_discriminator_folder
from .ema import ema_weights, make_ema, restart_ema_from_average
from .planning import make_scheduler, plan_time_budget, replan_stage, retarget, seconds_per_step, warmup_steps
from .state import TrainState, batch_seed
from .steps import Objectives, StepParts, gan_step, pixel_step
from .tracking import RunTracker
from .validation import make_metric_suite, save_grid, validate

logger = logging.getLogger(__name__)

CONFIG_FILE = "train_config.json"
FINAL_DIR = "model"
PSNR_DIR = "psnr-stage"


class NonFiniteLossError(RuntimeError):
    """A loss became NaN or infinite; training stopped without saving the broken weights."""


@dataclass(frozen=True)
class TrainResult:
    """What ``Trainer.run`` leaves behind."""

    output_dir: Path
    final_dir: Path
    steps: int
    metrics: dict[str, float] | None


def make_accelerator(*, compile: bool = False) -> Accelerator:
    """bf16 autocast on CUDA, none on CPU; one scheduler step per optimiser step whatever the process count.

    Without a GPU (or with ``ACCELERATE_USE_CPU``) the run is a CPU run, so that several launched processes
    (``accelerate launch --multi_gpu --num_processes 2`` or ``torchrun`` on a CPU machine) join one gloo group.
    """
    cpu = parse_flag_from_env("ACCELERATE_USE_CPU") or not torch.cuda.is_available()
    return Accelerator(cpu=cpu, mixed_precision="no" if cpu else "bf16", step_scheduler_with_optimizer=False,
                       dynamo_backend="inductor" if compile and not cpu else "no")


def _optimizer(config: TrainConfig, params: Any, lr: float) -> torch.optim.Optimizer:
    cls = torch.optim.AdamW if config.optimizer == "adamw" else torch.optim.Adam
    return cls(params, lr=lr, betas=BETAS, weight_decay=config.weight_decay)


def discriminator_kwargs(config: TrainConfig) -> dict[str, Any]:
    """The constructor keywords of the run's discriminator (``DISCRIMINATORS[config.discriminator]``)."""
    kwargs: dict[str, Any] = {} if config.discriminator == "seed" else {"conditional": config.conditional_d}
    if config.d_channels is not None:
        kwargs["base_channels"] = config.d_channels
    return kwargs


def build_discriminator(config: TrainConfig) -> nn.Module:
    return DISCRIMINATORS[config.discriminator](**discriminator_kwargs(config))


class Trainer:
    """Owns the models, optimisers, schedules and EMA of one run. ``run()`` trains to the end."""

    def __init__(self, config: TrainConfig, data: TrainData, *, accelerator: Accelerator | None = None) -> None:
        self.config = config
        self.acc = accelerator or make_accelerator(compile=config.compile)
        self.device = self.acc.device
        self.output = Path(config.output_dir)
        self.data = data
        self.train_images = place_cache(data.train, self.device)
        self.train_sizes = data.train_sizes
        self.degradation_config = config.degradation_config()
        self.resume_from = self._find_resume_checkpoint()
        # 1. Models, identical on every process.
        set_seed(config.seed)
        generator = GENERATORS[config.arch](**config.arch_kwargs)
        if config.init_from and self.resume_from is None:  # a resumed run's checkpoint already holds newer weights
            init_weights(generator, config.init_from)
        generator = generator.to(self.device)
        self.uses_gan = config.uses_gan
        discriminator = None
        if self.uses_gan:
            discriminator = build_discriminator(config)
            if config.init_discriminator_from and self.resume_from is None:  # as --init-from above
                init_discriminator(discriminator, config.init_discriminator_from, name=config.discriminator,
                                   kwargs=discriminator_kwargs(config))
            discriminator.to(self.device)
        self.objectives = Objectives(config, self.device)
        # 2. Optimisers: a fresh generator Adam for the GAN stage, as in ESRGAN (its moments differ).
        opt_psnr = _optimizer(config, generator.parameters(), config.lr)
        models: list[Any] = [generator, opt_psnr]
        if discriminator is not None:
            models += [discriminator, _optimizer(config, generator.parameters(), config.gan_lr),
                       _optimizer(config, discriminator.parameters(), config.d_lr)]
        prepared = self.acc.prepare(*models)
        self.generator, self.opt_psnr = prepared[0], prepared[1]
        self.discriminator, self.opt_gan, self.opt_d = prepared[2:] if discriminator is not None else (None,) * 3
        # 3. Stage lengths (planned from speed under a time budget) and their schedules.
        self.state = TrainState.read_json(self.resume_from) if self.resume_from else self._plan()
        state = self.state
        self.sched_psnr = self.acc.prepare(
            make_scheduler(self.opt_psnr, warmup=state.warmup_psnr, stage_steps=state.pixel_steps))
        self.sched_gan = self.sched_d = None
        if discriminator is not None:
            self.sched_gan, self.sched_d = self.acc.prepare(
                make_scheduler(self.opt_gan, warmup=state.warmup_gan, stage_steps=state.gan_steps),
                make_scheduler(self.opt_d, warmup=state.warmup_gan, stage_steps=state.gan_steps))
        # 4. EMA and the trainer state travel with accelerate's checkpoint (registration order is part of it).
        self.ema = make_ema(self.bare_generator, config.ema_decay)
        self.acc.register_for_checkpointing(self.ema)
        self.acc.register_for_checkpointing(self.state)
        if self.resume_from is not None:
            self.acc.load_state(str(self.resume_from))
            self.ema.to(self.device)
            self._log(f"resumed from {self.resume_from} at step {self.state.step}/{self.state.total_steps}")
        self.metrics: dict[str, float] | None = None
        self.psnr_metrics: dict[str, float] | None = None
        validating = data.val is not None and self.acc.is_main_process
        self.suite = make_metric_suite(self.device, lpips=config.val_lpips) if validating else None
        # Realistic runs validate on realistic inputs, degraded once with a fixed seed so every validation compares.
        self.val_lr = None
        if data.val is not None and config.degradation != "bicubic":
            self.val_lr = degrade_all(data.val, config.degradation, seed=config.seed, config=self.degradation_config)

    # ----- set-up helpers -------------------------------------------------------------------------------------
    @property
    def bare_generator(self) -> Generator:
        return self.acc.unwrap_model(self.generator)

    def _log(self, message: str) -> None:
        if self.acc.is_main_process:
            logger.info(message)

    def _find_resume_checkpoint(self) -> Path | None:
        if not self.config.resume:
            return None
        folder = latest_checkpoint(self.output)
        if folder is None:
            self._log(f"--resume: no checkpoint in {self.output}, starting from scratch")
            return None
        saved = TrainConfig.from_dict(json.loads((folder / CONFIG_FILE).read_text(encoding="utf-8")))
        if changes := self.config.changes_from(saved):
            detail = ", ".join(f"{k}: {old!r} -> {new!r}" for k, (old, new) in changes.items())
            raise ValueError(f"--resume: these settings differ from the run in {self.output}: {detail}. Resume with "
                             "the same settings, or use a new --output-dir")
        return folder

    def _plan(self) -> TrainState:
        requested = self.config.warmup_steps
        steps = self.config.stage_steps()
        if steps is not None:
            return TrainState(pixel_steps=steps[0], gan_steps=steps[1], warmup_psnr=warmup_steps(requested, steps[0]),
                              warmup_gan=warmup_steps(requested, steps[1]))
        start = time.perf_counter()
        psnr_s = self._probe("psnr") if self.config.pixel_fraction > 0 else 1.0
        gan_s = self._probe("gan") if self.uses_gan else None
        spent = time.perf_counter() - start
        plan = plan_time_budget(self.config.time_budget_s, spent, self.config.pixel_fraction, psnr_s, gan_s)
        psnr_s, gan_s, *plan = broadcast_object_list([psnr_s, gan_s, *plan])  # every rank runs the same plan
        self._log(f"time budget {self.config.max_minutes} min: probe {spent:.1f} s, {psnr_s:.3f} s/step PSNR, "
                  f"{gan_s or 0:.3f} s/step GAN -> {plan[0]} PSNR + {plan[1]} GAN steps (re-planned as it runs)")
        return TrainState(pixel_steps=plan[0], gan_steps=plan[1], warmup_psnr=warmup_steps(requested, plan[0]),
                          warmup_gan=warmup_steps(requested, plan[1]), elapsed_s=spent, planned_by_time=True,
                          gan_step_s=gan_s or 0.0)

    def _probe(self, stage: str) -> float:
        """Seconds per step of ``stage`` measured on throwaway copies (the real models stay untouched)."""
        generator = copy.deepcopy(self.bare_generator)
        parts = StepParts(generator=generator, optimizer=_optimizer(self.config, generator.parameters(), 1e-6))
        if stage == "gan":
            d = copy.deepcopy(self.acc.unwrap_model(self.discriminator))
            parts.discriminator = d
            parts.d_optimizer = _optimizer(self.config, d.parameters(), 1e-6)
        ema = make_ema(generator, self.config.ema_decay)

        def run(i: int) -> None:
            self._step(parts, stage, seed=batch_seed(self.config.seed, 10**6 + self.acc.process_index, i))
            ema.step(generator.parameters())

        return seconds_per_step(run, self.device)

    def _parts(self, stage: str) -> StepParts:
        if stage == "psnr":
            return StepParts(self.generator, self.opt_psnr, self.sched_psnr)
        return StepParts(self.generator, self.opt_gan, self.sched_gan, self.discriminator,
                         self.acc.unwrap_model(self.discriminator), self.opt_d, self.sched_d)

    def _step(self, parts: StepParts, stage: str, *, seed: int) -> dict[str, torch.Tensor]:
        batch_size, patch_size = self.config.stage_batch(stage)
        lr, hr = training_batch(self.train_images, batch_size, patch_size, seed, self.device, sizes=self.train_sizes,
                                image_weights=self.data.train_weights, degradation=self.config.degradation,
                                degradation_config=self.degradation_config)
        if stage == "psnr":
            return pixel_step(self.acc, parts, lr, hr, grad_clip=self.config.grad_clip)
        return gan_step(self.acc, parts, self.objectives, lr, hr, grad_clip=self.config.grad_clip)

    # ----- the loop -------------------------------------------------------------------------------------------
    def train_step(self) -> dict[str, torch.Tensor]:
        """One step of the current stage (batch, update, EMA); advances ``state.step``."""
        stage = self.state.stage
        losses = self._step(self._parts(stage), stage,
                            seed=batch_seed(self.config.seed, self.acc.process_index, self.state.step))
        self.ema.step(self.bare_generator.parameters())
        self.state.step += 1
        return losses

    def run(self) -> TrainResult:
        """Train to the planned end (or the end of the time budget), then validate, save and optionally push."""
        config, state = self.config, self.state
        if self.acc.is_main_process:
            self.output.mkdir(parents=True, exist_ok=True)
            atomic_write_text(self.output / CONFIG_FILE, json.dumps(config.to_dict(), indent=2))
        tracker = RunTracker(self.output / "logs", total_steps=state.total_steps, initial_step=state.step,
                             enabled=self.acc.is_main_process)
        self.tracker = tracker
        segment_start, elapsed_before = time.perf_counter(), state.elapsed_s
        bad_step = torch.full((), -1, dtype=torch.long, device=self.device)  # first non-finite step (1-based), no sync
        sums: dict[str, torch.Tensor] = {}
        count, overhead, interval_start = 0, 0.0, time.perf_counter()
        try:
            while state.step < state.total_steps:
                if state.step == state.pixel_steps and not state.switched:
                    switch_start = time.perf_counter()
                    self._check_finite(bad_step, "psnr")  # never save a PSNR-stage model that went non-finite
                    self._end_psnr_stage()
                    overhead += time.perf_counter() - switch_start
                stage = state.stage
                losses = self.train_step()
                total = sum(losses.values())
                bad_step = torch.where((bad_step < 0) & ~torch.isfinite(total), state.step, bad_step)
                for name, value in losses.items():
                    sums[name] = sums.get(name, 0.0) + value
                count += 1
                tracker.step()
                state.elapsed_s = elapsed_before + time.perf_counter() - segment_start
                if state.step % config.log_every == 0 or state.step == state.total_steps:
                    self._check_finite(bad_step, stage)
                    values = {k: float(v) / count for k, v in sums.items()}
                    images_per_step = config.stage_batch(stage)[0] * self.acc.num_processes
                    values["img_per_s"] = tracker.images_per_second(state.step, images_per_step)
                    tracker.show(stage, values)
                    tracker.log_scalars({f"loss/{k}": v for k, v in values.items() if k != "img_per_s"}, state.step)
                    tracker.log_scalars({"speed/img_per_s": values["img_per_s"],
                                         "lr/generator": self._parts(stage).optimizer.param_groups[0]["lr"]},
                                        state.step)
                    if state.planned_by_time:  # speed of training steps alone: validation/saving time excluded
                        interval = time.perf_counter() - interval_start - overhead
                        self._replan(interval / count)
                    sums, count, overhead, interval_start = {}, 0, 0.0, time.perf_counter()
                extra_start = time.perf_counter()
                if state.step % config.val_every == 0 and state.step < state.total_steps:
                    self._validate(tracker)
                if state.step % config.save_every == 0 and state.step < state.total_steps:
                    self._check_finite(bad_step, stage)
                    self._save_checkpoint()
                overhead += time.perf_counter() - extra_start
            self._check_finite(bad_step, state.stage)
            if not state.switched:  # a PSNR-only run: its final model is the PSNR-stage model, just validated
                self._end_psnr_stage()
                self.metrics = self.psnr_metrics
            else:
                self._validate(tracker, final=True)
            self._save_checkpoint()
            final_dir = self._save_final()
        finally:
            tracker.close()
        return TrainResult(self.output, final_dir, state.step, self.metrics)

    def _check_finite(self, bad_step: torch.Tensor, stage: str) -> None:
        worst = int(self.acc.reduce(bad_step.clone(), reduction="max"))
        if worst >= 0:
            last = latest_checkpoint(self.output)
            raise NonFiniteLossError(
                f"a {stage}-stage loss became NaN/inf at step {worst}; stopped without saving. Last good "
                f"checkpoint: {last or 'none'}. Try a lower --lr/--gan-lr/--d-lr or --gan-weight, then --resume")

    def _replan(self, seconds_per_step: float) -> None:
        """Time budgets: re-fit the running stage's length (and its lr schedule) to the time left in its share.

        The main process decides and broadcasts, so every rank runs the same number of steps.
        """
        state, config = self.state, self.config
        if not state.switched:
            if state.step >= state.pixel_steps:
                return  # the PSNR stage has just ended; the switch plans the GAN stage
            length = replan_stage(done_in_stage=state.step,
                                  seconds_left=config.time_budget_s * config.pixel_fraction - state.elapsed_s,
                                  seconds_per_step=seconds_per_step)
            length = broadcast_object_list([length])[0]
            if length != state.pixel_steps:
                state.pixel_steps = length
                retarget(self.sched_psnr.scheduler, warmup=state.warmup_psnr, stage_steps=length)
        else:
            length = replan_stage(done_in_stage=state.step - state.pixel_steps,
                                  seconds_left=config.time_budget_s - state.elapsed_s, seconds_per_step=seconds_per_step)
            state.gan_step_s, length = broadcast_object_list([seconds_per_step, length])
            if length != state.gan_steps:
                self._set_gan_steps(length)
        self.tracker.set_total(state.total_steps)

    def _set_gan_steps(self, length: int) -> None:
        self.state.gan_steps = length
        for scheduler in (self.sched_gan, self.sched_d):
            if scheduler is not None:
                retarget(scheduler.scheduler, warmup=self.state.warmup_gan, stage_steps=length)

    # ----- stage switch, validation, saving -------------------------------------------------------------------
    def _end_psnr_stage(self) -> None:
        """Save the PSNR-stage EMA model; the GAN stage then starts from those EMA weights with a fresh EMA."""
        state = self.state
        if state.pixel_steps > 0:
            self._validate(self.tracker, psnr_stage=True)
            if self.acc.is_main_process:
                with self._ema_weights() as model:
                    save_generator_folder(model, self.output / PSNR_DIR, self._card(model, "psnr"))
                self._log(f"saved the PSNR-stage model to {self.output / PSNR_DIR}")
        if state.gan_steps > 0 and state.pixel_steps > 0:
            restart_ema_from_average(self.ema, self.bare_generator)
        if state.planned_by_time and state.gan_steps > 0:  # the GAN stage gets whatever the PSNR stage left
            length = replan_stage(done_in_stage=0, seconds_left=self.config.time_budget_s - state.elapsed_s,
                                  seconds_per_step=state.gan_step_s)
            self._set_gan_steps(max(1, broadcast_object_list([length])[0]))
            self.tracker.set_total(state.total_steps)
        state.switched = True
        self.acc.wait_for_everyone()

    def _ema_weights(self) -> AbstractContextManager[nn.Module]:
        return ema_weights(self.ema, self.bare_generator)

    def _validate(self, tracker: RunTracker, *, final: bool = False, psnr_stage: bool = False) -> None:
        if self.suite is not None and self.data.val is not None:
            with self._ema_weights() as model:
                metrics, grid = validate(model, self.data.val, self.suite, device=self.device,
                                         grid_images=self.config.grid_images, lr_images=self.val_lr)
            step = self.state.step
            tracker.log_scalars(metrics, step, prefix="val/")
            tracker.write(f"step {step} validation (EMA): " + ", ".join(f"{k}={v:.4f}" for k, v in metrics.items()))
            if grid is not None:
                tag = "psnr-stage" if psnr_stage else "final" if final else f"step-{step:08d}"
                save_grid(grid, self.output / "samples" / f"{tag}.png")
                tracker.log_image("val/lr-bicubic|output|hr", grid, step)
            if psnr_stage:
                self.psnr_metrics = metrics
            else:
                self.metrics = metrics
        self.acc.wait_for_everyone()

    def _card(self, model: Generator, stage: str) -> ModelCard:
        psnr_only = stage == "psnr"
        if self.config.push_to_hub and not psnr_only:
            name = self.config.push_to_hub
        else:
            name = self.output.name + ("-psnr" if psnr_only else "")
        info = training_card_info(self.config, self.state, self.data, stage=stage, name=name,
                                  metrics=self.psnr_metrics if psnr_only else self.metrics,
                                  num_processes=self.acc.num_processes)
        return render_model_card(model, info)

    def _save_checkpoint(self) -> None:
        def write_extra(folder: Path) -> None:
            with self._ema_weights() as model:
                stage = "gan" if self.state.switched and self.state.gan_steps > 0 else "psnr"
                # No ONNX export per checkpoint (seconds each, 47 MB for quality): the final folder carries one.
                save_generator_folder(model, folder / "generator", self._card(model, stage), onnx=False)
            (folder / CONFIG_FILE).write_text(json.dumps(self.config.to_dict(), indent=2))
            self.state.write_json(folder)

        save_checkpoint(self.acc, self.output, self.state.step, write_extra=write_extra,
                        keep=self.config.keep_checkpoints)

    def _final_stage(self) -> str:
        return "gan" if self.state.gan_steps > 0 else "psnr"

    def _save_final(self) -> Path:
        final_dir = self.output / FINAL_DIR
        if self.acc.is_main_process:
            with self._ema_weights() as model:
                save_generator_folder(model, final_dir, self._card(model, self._final_stage()))
            if self.discriminator is not None:
                save_discriminator_folder(self.acc.unwrap_model(self.discriminator), self.output / DISCRIMINATOR_DIR,
                                          name=self.config.discriminator, kwargs=discriminator_kwargs(self.config))
            if self.metrics is not None:
                atomic_write_text(self.output / "metrics.json", json.dumps(self.metrics, indent=2))
            self._log(f"saved the final EMA generator to {final_dir}")
            if self.config.push_to_hub:
                url = push_generator_folder(final_dir, self.config.push_to_hub,
                                            commit_message=f"FaceSR-Hub training: step {self.state.step}")
                self._log(f"pushed to {self.config.push_to_hub}: {url}")
        self.acc.wait_for_everyone()
        return final_dir


def init_weights(generator: Generator, source: str) -> None:
    """Copy the weights of ``source`` (bundled name, folder or Hub repo) into ``generator``: same class and config.

    Raises ValueError naming both configs when they differ (a fine-tune must not silently drop or reshape layers).
    """
    loaded = load_generator(source, device="cpu")
    if type(loaded) is not type(generator) or loaded.config != generator.config:
        raise ValueError(f"--init-from {source}: it is {type(loaded).__name__} {loaded.config}, but this run trains "
                         f"{type(generator).__name__} {generator.config}; pass the same --arch and --arch-kwargs")
    generator.load_state_dict(loaded.state_dict(), strict=True)


def train(config: TrainConfig, data: TrainData | None = None) -> TrainResult:
    """Load the data (unless given), build a ``Trainer`` and run it."""
    if data is None:
        data = load_train_data(config)
    return Trainer(config, data).run()
