"""The trainer in-process on a tiny generated CelebA-layout dataset: every loss setting, validation, EMA, the NaN
guard, time budgets, data errors and --push-to-hub through the local test Hub."""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import math
import shutil
from pathlib import Path

import pytest
import torch
from hub_server import card_metadata
from PIL import Image
from safetensors.torch import load_file
from training_fixtures import TINY_ARCH_KWARGS, make_celeba, tiny_args

from facesr_hub import load_generator
from facesr_hub.hub import NON_COMMERCIAL
from facesr_hub.training import (
    NonFiniteLossError,
    TrainConfig,
    Trainer,
    build_parser,
    config_from_args,
    load_train_data,
    train,
)

REPO_ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def celeba(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_celeba(tmp_path_factory.mktemp("celeba"))


def tiny_config(data: Path, output: Path, **overrides) -> TrainConfig:
    values = {"data": [str(data)], "output_dir": str(output), "arch": "fast", "arch_kwargs": dict(TINY_ARCH_KWARGS),
              "batch_size": 2, "patch_size": 32, "pixel_steps": 1, "gan_steps": 2, "warmup_steps": 2,
              "val_images": 0, "log_every": 1, "save_every": 1000}
    return TrainConfig(**{**values, **overrides})


# ----- configuration ------------------------------------------------------------------------------------------
def test_cli_maps_onto_config_with_sensible_defaults(tmp_path):
    config = config_from_args(["--data", "a", "--data", "b", "--output-dir", str(tmp_path)])
    assert config.data == ["a", "b"] and config.arch == "fast"
    assert config.stage_steps() == (30_000, 20_000)  # 50k steps, 60% PSNR stage
    assert (config.pixel_weight, config.perceptual_weight, config.gan_weight) == (1.0, 1.0, 0.05)
    assert config_from_args(["--data", "a", "--output-dir", "o", "--max-steps", "10"]).stage_steps() == (6, 4)
    assert config_from_args(["--data", "a", "--output-dir", "o", "--max-minutes", "3"]).stage_steps() is None
    every_field = {a.dest for a in build_parser()._actions} - {"help"}
    assert every_field == set(TrainConfig.__dataclass_fields__)


@pytest.mark.parametrize("argv, message", [
    (["--arch-kwargs", '{"num_blocks": 3}'], "takes no ['num_blocks']; it accepts"),
    (["--arch-kwargs", '{"num_convs": 0}'], "invalid for 'fast': num_convs must be >= 1"),
    (["--arch-kwargs", "{not json"], "not valid JSON"),
    (["--arch-kwargs", "[1, 2]"], "must be a JSON object"),
    (["--discriminator", "seed", "--conditional-d"], "--conditional-d needs --discriminator patchgan or unet"),
    (["--d-channels", "0"], "--d-channels must be >= 1"),
    (["--max-minutes", "5", "--max-steps", "10"], "--max-minutes excludes"),
    (["--pixel-steps", "5", "--gan-steps", "5", "--max-steps", "11"], "do not fit"),
    (["--patch-size", "30"], "--patch-size must be a multiple of 4"),
    (["--push-to-hub", "no-owner"], "owner/name"),
])
def test_invalid_options_are_clear_usage_errors(argv, message, capsys):
    with pytest.raises(SystemExit) as exit_info:
        config_from_args(["--data", "d", "--output-dir", "o", *argv])
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


# ----- training runs ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("gan_loss, perceptual, discriminator, conditional", [
    ("vanilla", 1.0, "patchgan", False),
    ("hinge", 0.0, "seed", False),
    ("relativistic", 1.0, "patchgan", True),
    ("relativistic", 1.0, "unet", True),
])
def test_each_loss_setting_trains(celeba, tmp_path, gan_loss, perceptual, discriminator, conditional):
    config = tiny_config(celeba, tmp_path, gan_loss=gan_loss, perceptual_weight=perceptual,
                         discriminator=discriminator, conditional_d=conditional, d_channels=8)
    result = train(config)
    assert result.steps == 3
    state = json.loads((tmp_path / "checkpoints" / "checkpoint-00000003" / "trainer_state.json").read_text())
    assert state == {**state, "step": 3, "pixel_steps": 1, "gan_steps": 2, "switched": True}
    for folder in ("model", "psnr-stage", "checkpoints/checkpoint-00000003/generator"):
        model = load_generator(tmp_path / folder, device="cpu")
        assert model.config == {"architecture": "fast", "activation": "prelu", **TINY_ARCH_KWARGS}
        assert torch.isfinite(model(torch.rand(1, 3, 8, 8))).all()
    # The GAN stage really ran: both adversarial losses were logged, finite, and it moved the generator.
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(tmp_path / "logs")).Reload()
    for tag in ("loss/d_loss", "loss/g_adv"):
        values = [e.value for e in events.Scalars(tag)]
        assert values and all(math.isfinite(v) for v in values), tag
    psnr_stage = load_generator(tmp_path / "psnr-stage", device="cpu").state_dict()
    final = load_generator(tmp_path / "model", device="cpu").state_dict()
    assert any(not torch.equal(psnr_stage[k], final[k]) for k in final)


def test_validation_writes_metrics_grid_and_tensorboard(celeba, tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    result = train(tiny_config(celeba, tmp_path, val_images=2, grid_images=2, val_every=2, gan_steps=1))
    assert set(result.metrics) == {"psnr", "ssim", "psnr_y", "ssim_y", "lpips_alex"}
    assert 15 < result.metrics["psnr"] < 60 and 0 <= result.metrics["lpips_alex"] < 1
    assert json.loads((tmp_path / "metrics.json").read_text()) == pytest.approx(result.metrics)
    with Image.open(tmp_path / "samples" / "final.png") as grid:  # 2 rows x (LR-bicubic | output | HR)
        assert grid.size == (3 * 256 + 4 * 2, 2 * 256 + 3 * 2)
    assert {p.name for p in (tmp_path / "samples").iterdir()} == {"psnr-stage.png", "final.png"}
    events = EventAccumulator(str(tmp_path / "logs")).Reload()
    assert {"val/psnr", "val/ssim", "val/lpips_alex", "lr/generator", "loss/pixel"} <= set(events.Tags()["scalars"])
    assert events.Tags()["images"]
    card = (tmp_path / "model" / "README.md").read_text()
    assert f"{result.metrics['psnr']:.4f}" in card


def test_ema_weights_differ_from_raw_weights(celeba, tmp_path):
    trainer = Trainer(tiny_config(celeba, tmp_path, pixel_steps=5, gan_steps=0, warmup_steps=0, lr=1e-2),
                      load_train_data(tiny_config(celeba, tmp_path)))
    for _ in range(5):
        trainer.train_step()
    raw = [p.detach().clone() for p in trainer.bare_generator.parameters()]
    assert any(not torch.equal(e, r) for e, r in zip(trainer.ema.shadow_params, raw))
    with trainer._ema_weights() as model:  # the swap used for validation and saving restores the raw weights
        assert all(torch.equal(p, e) for p, e in zip(model.parameters(), trainer.ema.shadow_params))
    assert all(torch.equal(p, r) for p, r in zip(trainer.bare_generator.parameters(), raw))


def test_non_finite_loss_stops_naming_the_step(celeba, tmp_path):
    trainer = Trainer(tiny_config(celeba, tmp_path, pixel_steps=3, gan_steps=0),
                      load_train_data(tiny_config(celeba, tmp_path)))
    with torch.no_grad():
        trainer.bare_generator.body[0].weight.fill_(math.nan)
    with pytest.raises(NonFiniteLossError, match=r"psnr-stage loss became NaN/inf at step 1; stopped without saving"):
        trainer.run()
    assert not (tmp_path / "checkpoints").exists() and not (tmp_path / "model").exists()


def test_retargeted_schedule_keeps_its_step_and_ends_at_the_new_length():
    from facesr_hub.training.planning import make_scheduler, retarget

    optimizer = torch.optim.Adam([torch.zeros(1, requires_grad=True)], lr=1.0)
    scheduler = make_scheduler(optimizer, warmup=2, stage_steps=100)
    lrs = []
    for _ in range(10):
        optimizer.step()
        scheduler.step()
        lrs.append(optimizer.param_groups[0]["lr"])
    assert lrs[1] == 1.0 and lrs[9] == pytest.approx(0.5 * (1 + math.cos(math.pi * 8 / 98)))
    retarget(scheduler, warmup=2, stage_steps=20)  # time budget: the stage turned out shorter
    for _ in range(10):
        optimizer.step()
        scheduler.step()
    assert scheduler.last_epoch == 20 and optimizer.param_groups[0]["lr"] == pytest.approx(0.0, abs=1e-12)


def test_time_budget_plans_steps_and_finishes(celeba, tmp_path):
    result = train(tiny_config(celeba, tmp_path, pixel_steps=None, gan_steps=None, max_minutes=0.2,
                               perceptual_weight=0.0, discriminator="seed"))
    latest = tmp_path / "checkpoints" / (tmp_path / "checkpoints" / "latest").read_text().strip()
    state = json.loads((latest / "trainer_state.json").read_text())
    # How many steps fit depends on the machine's speed now (not reproducible by design), so only the
    # bookkeeping is checked: a planned run that ends where its (possibly cut) plan says.
    assert state["planned_by_time"] and state["pixel_steps"] >= 1 and state["gan_steps"] >= 0
    assert result.steps == state["step"] == state["pixel_steps"] + state["gan_steps"]
    assert 0 < state["elapsed_s"] < 120
    assert (tmp_path / "psnr-stage" / "model.safetensors").is_file()


# ----- data errors ----------------------------------------------------------------------------------------------
def _train_main(argv: list[str]) -> int:
    spec = importlib.util.spec_from_file_location("train_script", REPO_ROOT / "train.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.main(argv)


def test_bad_data_folders_fail_before_any_model_is_built(tmp_path, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    (tmp_path / "few").mkdir()
    Image.new("RGB", (64, 64)).save(tmp_path / "few" / "only.png")  # hash split: train, so no val images
    cases = [(tmp_path / "missing", "data folder not found"), (empty, "no images found in"),
             (tmp_path / "few", "no validation images (val split)")]
    for folder, message in cases:
        assert _train_main(tiny_args(folder, tmp_path / "out")) == 2
        assert message in capsys.readouterr().err
    assert not (tmp_path / "out").exists()  # nothing written: it stopped before building anything


# ----- the Hub ----------------------------------------------------------------------------------------------------
def test_push_to_hub_then_load_by_repo_id(celeba, tmp_path, hub_server, hub_repo_id, hub_cache):
    result = train(tiny_config(celeba, tmp_path, push_to_hub=hub_repo_id, val_images=2, gan_steps=1))
    files = hub_server.files(hub_repo_id)
    assert {"config.json", "model.safetensors", "README.md", "onnx/model.onnx"} <= set(files)  # ONNX: tests/test_onnx.py
    meta = card_metadata(files["README.md"])
    assert meta["library_name"] == "facesr-hub" and meta["pipeline_tag"] == "image-to-image"
    assert meta["datasets"] == ["celeba"] and meta["license"] == "other"
    assert {"super-resolution", "fast"} <= set(meta["tags"])
    psnr = next(m for m in meta["model-index"][0]["results"][0]["metrics"] if m["type"] == "psnr")
    assert psnr["value"] == pytest.approx(result.metrics["psnr"], abs=1e-4)
    card = files["README.md"].decode()
    for needle in (NON_COMMERCIAL, "CelebA", "parameters", "GMACs", "PSNR stage 1 steps", "GAN stage 1 steps",
                   "antialiased bicubic"):
        assert needle in card
    pushed = load_generator(hub_repo_id, device="cpu")
    local = load_generator(tmp_path / "model", device="cpu")
    for (name, a), (_, b) in zip(pushed.state_dict().items(), local.state_dict().items()):
        assert torch.equal(a, b), name


# ----- native patches, realistic degradations, GAN-stage batches, fine-tuning ---------------------------------
def test_native_training_cache_keeps_celeba_at_178px_and_validation_at_256(celeba, tmp_path):
    data = load_train_data(tiny_config(celeba, tmp_path, val_images=2))
    assert data.train_sizes is not None and {tuple(s) for s in data.train_sizes.tolist()} == {(218, 178)}
    assert data.val is not None and data.val.shape[-2:] == (256, 256)  # the evaluation protocol is unchanged
    resized = load_train_data(tiny_config(celeba, tmp_path, hr_source="resized"))
    assert resized.train_sizes is None


def test_source_weights_reach_the_batches_and_the_card(celeba, tmp_path, monkeypatch):
    red = tmp_path / "red"  # a plain folder (hash split) of flat red faces: a crop shows which root it came from
    red.mkdir()
    for i in range(12):
        Image.new("RGB", (200, 200), (250, 10, 10)).save(red / f"red_{i:02d}.png")
    config = dataclasses.replace(tiny_config(celeba, tmp_path / "run"), data=[str(celeba), str(red)],
                                 source_weights=[0, 1])
    data = load_train_data(config)
    assert data.train_weights is not None and data.train_weights.shape == (data.train.shape[0],)
    assert torch.equal(data.train_weights[:6], torch.zeros(6, dtype=torch.float64))  # celeba's 6: never drawn
    import facesr_hub.training.trainer as trainer_module

    seen: list[torch.Tensor] = []
    real_batch = trainer_module.training_batch

    def spy(*args, **kwargs):  # the real batch function, recording what the trainer trains on
        lr, hr = real_batch(*args, **kwargs)
        seen.append(hr)
        return lr, hr

    monkeypatch.setattr(trainer_module, "training_batch", spy)
    result = Trainer(config, data).run()
    assert seen and all(float(hr[:, 0].mean()) > 0.9 and float(hr[:, 1].mean()) < 0.1 for hr in seen)
    card = (result.final_dir / "README.md").read_text()
    assert f"by source, relative weights {celeba.name} 0, red 1" in card
    assert json.loads((tmp_path / "run" / "train_config.json").read_text())["source_weights"] == [0.0, 1.0]
    uniform = Trainer(tiny_config(celeba, tmp_path / "uniform"), load_train_data(tiny_config(celeba, tmp_path)))
    assert uniform.data.train_weights is None


@pytest.mark.parametrize("weights, message", [
    ([1.0], "one weight per --data root"),
    ([1.0, -1.0], "--source-weights must be >= 0"),
])
def test_source_weights_are_checked_against_the_roots(tmp_path, weights, message):
    with pytest.raises(ValueError, match=message):
        TrainConfig(data=["a", "b"], output_dir=str(tmp_path), source_weights=weights)
    with pytest.raises(ValueError, match="distinct --data roots"):
        TrainConfig(data=["a", "./a"], output_dir=str(tmp_path), source_weights=[1, 1])


def test_realistic_fine_tune_from_a_saved_model_uses_gan_stage_batches(celeba, tmp_path):
    base = train(tiny_config(celeba, tmp_path / "base", gan_steps=0))
    config = tiny_config(celeba, tmp_path / "real", init_from=str(base.final_dir), degradation="realistic",
                         pixel_steps=1, gan_steps=2, gan_batch_size=3, gan_patch_size=24, val_images=2,
                         degradation_kwargs={"jpeg_quality": [30, 60]})
    trainer = Trainer(config, load_train_data(config))
    start = load_generator(base.final_dir, device="cpu").state_dict()
    assert all(torch.equal(v, trainer.bare_generator.state_dict()[k]) for k, v in start.items())
    seen = []
    original = trainer._step

    def spy(parts, stage, *, seed):  # records the real batches the real step functions train on
        from facesr_hub.training.data import training_batch
        size = config.stage_batch(stage)
        lr, hr = training_batch(trainer.train_images, *size, seed, trainer.device, sizes=trainer.train_sizes,
                                degradation="realistic", degradation_config=trainer.degradation_config)
        seen.append((stage, tuple(lr.shape), tuple(hr.shape)))
        return original(parts, stage, seed=seed)

    trainer._step = spy
    result = trainer.run()
    assert [s for s, _, _ in seen] == ["psnr", "gan", "gan"]
    assert seen[0][1:] == ((2, 3, 8, 8), (2, 3, 32, 32)) and seen[1][1:] == ((3, 3, 6, 6), (3, 3, 24, 24))
    card = (result.final_dir / "README.md").read_text()
    assert "realistic" in card and "initialised from" in card and "GAN stage: batch 3, patches 24px" in card
    final = load_generator(result.final_dir, device="cpu").state_dict()
    assert any(not torch.equal(start[k], final[k]) for k in final)


def test_multi_layer_perceptual_loss_trains_and_is_stated_in_the_card(celeba, tmp_path):
    argv = ["--data", str(celeba), "--output-dir", str(tmp_path), "--arch-kwargs", json.dumps(TINY_ARCH_KWARGS),
            "--batch-size", "2", "--patch-size", "32", "--pixel-steps", "0", "--gan-steps", "2", "--val-images", "0",
            "--perceptual-layers", "conv1_2", "conv3_3", "--perceptual-layer-weights", "0.5", "2",
            "--perceptual-criterion", "normalized"]
    config = config_from_args(argv)
    trainer = Trainer(config, load_train_data(config))
    perceptual = trainer.objectives.perceptual
    assert perceptual.layers == ("conv1_2", "conv3_3") and perceptual.layer_weights == (0.5, 2.0)
    assert perceptual.criterion == "normalized"
    start = {k: v.clone() for k, v in trainer.bare_generator.state_dict().items()}
    result = trainer.run()
    card = (result.final_dir / "README.md").read_text()
    assert "VGG16 perceptual (0.5 x conv1_2, 2 x conv3_3; normalized distance)" in card
    assert "no PSNR stage in this run (GAN stage only, from random weights); GAN stage 2 steps" in card
    final = load_generator(result.final_dir, device="cpu").state_dict()
    assert any(not torch.equal(start[k], final[k]) for k in final)
    assert TrainConfig.from_dict(json.loads((tmp_path / "train_config.json").read_text())) == config


def test_a_gan_stage_continues_against_the_discriminator_its_source_run_saved(celeba, tmp_path):
    first = train(tiny_config(celeba, tmp_path / "first", conditional_d=True))
    saved = load_file(tmp_path / "first" / "discriminator" / "model.safetensors")
    config = tiny_config(celeba, tmp_path / "second", init_from=str(first.final_dir), pixel_steps=0,
                         conditional_d=True, init_discriminator_from=str(tmp_path / "first"))
    trainer = Trainer(config, load_train_data(config))
    start = trainer.acc.unwrap_model(trainer.discriminator).state_dict()
    assert saved.keys() == start.keys() and all(torch.equal(saved[k], start[k]) for k in saved)
    fresh = Trainer(dataclasses.replace(config, init_discriminator_from=None, output_dir=str(tmp_path / "fresh")),
                    load_train_data(config))
    assert any(not torch.equal(saved[k], v) for k, v in fresh.acc.unwrap_model(fresh.discriminator).state_dict().items())
    result = trainer.run()
    assert "discriminator initialised from" in (result.final_dir / "README.md").read_text()
    moved = load_file(tmp_path / "second" / "discriminator" / "model.safetensors")
    assert any(not torch.equal(saved[k], moved[k]) for k in saved)  # and it trained on from there
    # A resumed run takes its discriminator from its own checkpoint: the source is no longer read.
    shutil.rmtree(tmp_path / "first" / "discriminator")
    resumed = Trainer(dataclasses.replace(config, resume=True), load_train_data(config))
    assert resumed.state.step == result.steps


@pytest.mark.parametrize("overrides, message", [
    ({"conditional_d": False}, "pass the same --discriminator, --conditional-d and --d-channels"),
    ({"discriminator": "unet"}, "it is patchgan .* but this run trains unet"),
    ({"d_channels": 16}, "'base_channels': 16"),
])
def test_a_saved_discriminator_of_another_kind_is_refused(celeba, tmp_path, overrides, message):
    train(tiny_config(celeba, tmp_path / "first", conditional_d=True))
    config = tiny_config(celeba, tmp_path / "second", init_discriminator_from=str(tmp_path / "first"), **overrides)
    with pytest.raises(ValueError, match=message):
        Trainer(config, load_train_data(config))


def test_init_discriminator_from_needs_a_gan_stage_and_a_saved_discriminator(celeba, tmp_path):
    with pytest.raises(ValueError, match="needs a GAN stage"):
        tiny_config(celeba, tmp_path / "a", gan_steps=0, init_discriminator_from=str(tmp_path))
    config = tiny_config(celeba, tmp_path / "b", init_discriminator_from=str(tmp_path / "nothing-here"))
    with pytest.raises(FileNotFoundError, match="GAN runs save their discriminator there"):
        Trainer(config, load_train_data(config))


def test_init_from_another_architecture_is_refused(celeba, tmp_path):
    base = train(tiny_config(celeba, tmp_path / "base", gan_steps=0))
    config = tiny_config(celeba, tmp_path / "other", init_from=str(base.final_dir),
                         arch_kwargs={"num_convs": 3, "num_features": 16})
    with pytest.raises(ValueError, match="pass the same --arch and --arch-kwargs"):
        Trainer(config, load_train_data(config))


@pytest.mark.parametrize("argv, message", [
    (["--degradation", "jpeg"], "invalid choice"),
    (["--degradation-kwargs", '{"blur_prob": 2}'], "only apply to --degradation realistic"),
    (["--degradation", "realistic", "--degradation-kwargs", '{"blur_prob": 2}'], "blur_prob must be in [0, 1]"),
    (["--gan-patch-size", "30"], "--gan-patch-size must be a multiple of 4"),
    (["--gan-batch-size", "0"], "--gan-batch-size must be >= 1"),
    (["--perceptual-layers", "conv9_9"], "invalid choice"),
    (["--perceptual-layers", "conv1_2", "conv1_2"], "--perceptual-layers must be distinct"),
    (["--perceptual-layers", "conv1_2", "conv5_3", "--perceptual-layer-weights", "1"],
     "--perceptual-layer-weights must be 2 numbers"),
    (["--perceptual-layer-weights", "-1"], "--perceptual-layer-weights must be 1 numbers >= 0"),
    (["--perceptual-criterion", "huber"], "invalid choice"),
])
def test_new_options_give_clear_usage_errors(argv, message, capsys):
    with pytest.raises(SystemExit):
        config_from_args(["--data", "d", "--output-dir", "o", *argv])
    assert message in capsys.readouterr().err
