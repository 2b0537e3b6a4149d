"""Every registered generator: shape contract, size, config/weights round trip, and how bad checkpoints fail."""

import json

import pytest
import torch
from safetensors.torch import save_file

from facesr_hub import (GENERATORS, CheckpointError, FastGenerator, PixelShuffleV1, PixelShuffleV2, QualityGenerator,
                        ResidualAttentionGenerator, UpsampleGenerator, count_gmacs, count_parameters, load_generator)

# Small configs for the round-trip tests, each with options away from their defaults so that the round trip has
# something to keep. An architecture missing here is still tested, with its defaults.
SMALL_CONFIGS = {
    "upsample": dict(num_features=8, norm="none", output_activation="none", bicubic_skip=True),
    "pixelshuffle-v1": dict(norm="none", bicubic_skip=True),
    "pixelshuffle-v2": dict(norm="none", output_activation="none", bicubic_skip=True),
    "residual-attention": dict(num_features=16, num_groups=2, blocks_per_group=1, reduction=4, attention_heads=2,
                               norm="instance", activation="prelu", bicubic_skip=False),
    "fast": dict(num_features=8, num_convs=2, activation="silu"),
    "quality": dict(num_features=16, num_blocks=2, growth_channels=8, bicubic_skip=False),
}
# Instance norm needs more than one pixel per channel, so these cannot take a 1x1 input.
INSTANCE_NORM_BY_DEFAULT = {"upsample", "pixelshuffle-v1", "pixelshuffle-v2"}


@pytest.fixture(autouse=True)
def _seeded():
    torch.manual_seed(0)


def _perturbed(model):
    """Random weights everywhere: FastGenerator zero-inits its last conv, which would make comparisons vacuous."""
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.add_(torch.randn_like(parameter) * 0.05)
    return model.eval()


@pytest.mark.parametrize("name", sorted(GENERATORS))
@pytest.mark.parametrize("size", [(11, 7), (1, 1)])  # odd and small: the default quality model is slow on CPU
def test_output_is_exactly_four_times_larger(name, size):
    model = GENERATORS[name]().eval()
    x = torch.rand(1, 3, *size)
    if name in INSTANCE_NORM_BY_DEFAULT and size == (1, 1):
        with pytest.raises(ValueError, match="spatial element"):
            model(x)
        model = GENERATORS[name](norm="none").eval()
    with torch.no_grad():
        out = model(x)
    assert out.shape == (1, 3, 4 * size[0], 4 * size[1])
    assert out.dtype == torch.float32
    assert model.scale == 4 and model.architecture == name


def test_seed_parameter_counts():
    assert count_parameters(PixelShuffleV1()) == 1_849_987
    assert count_parameters(PixelShuffleV2()) == 2_254_851


def test_fast_costs_at_most_3_gmacs_per_64px_face():
    with torch.device("meta"):  # the FLOP counter needs shapes only
        model = FastGenerator()
    assert 1.0 <= count_gmacs(model, size=64) <= 3.0


def test_quality_has_10_to_20_million_parameters():
    assert 10_000_000 <= count_parameters(QualityGenerator()) <= 20_000_000


@pytest.mark.parametrize("name", sorted(GENERATORS))
def test_save_pretrained_round_trip(name, tmp_path):
    model = _perturbed(GENERATORS[name](**SMALL_CONFIGS.get(name, {})))
    model.save_pretrained(tmp_path)
    config = json.loads((tmp_path / "config.json").read_text())
    assert config == {**SMALL_CONFIGS.get(name, {}), **config} and config["architecture"] == name
    x = torch.rand(2, 3, 9, 11)
    with torch.no_grad():
        expected = model(x)
        for loaded in (load_generator(tmp_path, device="cpu"), GENERATORS[name].from_pretrained(tmp_path)):
            assert type(loaded) is type(model) and not loaded.training
            assert loaded.config == model.config
            assert torch.equal(loaded(x), expected)


def test_load_generator_casts_dtype(tmp_path):
    FastGenerator(num_features=4, num_convs=1).save_pretrained(tmp_path)
    model = load_generator(tmp_path, device="cpu", dtype="bf16")
    assert {p.dtype for p in model.parameters()} == {torch.bfloat16}


@pytest.fixture
def fast_folder(tmp_path):
    folder = tmp_path / "fast"
    FastGenerator(num_features=4, num_convs=1).save_pretrained(folder)
    return folder


def _edit_config(folder, **changes):
    config = json.loads((folder / "config.json").read_text())
    for key, value in changes.items():
        if value is None:
            del config[key]
        else:
            config[key] = value
    (folder / "config.json").write_text(json.dumps(config))


def test_config_of_another_architecture_is_refused(fast_folder):
    with pytest.raises(CheckpointError, match="architecture='fast'"):
        QualityGenerator.from_pretrained(fast_folder)
    _edit_config(fast_folder, architecture="quality")  # keys then do not fit QualityGenerator
    with pytest.raises(CheckpointError, match="unknown config keys"):
        load_generator(fast_folder, device="cpu")
    _edit_config(fast_folder, architecture="no-such-net")
    with pytest.raises(CheckpointError, match="'no-such-net' is not one of"):
        load_generator(fast_folder, device="cpu")


def test_unknown_config_key_is_refused(fast_folder):
    _edit_config(fast_folder, dropout=0.1)
    with pytest.raises(CheckpointError, match=r"unknown config keys \['dropout'\]"):
        load_generator(fast_folder, device="cpu")


def test_missing_config_key_is_refused(fast_folder):
    _edit_config(fast_folder, num_convs=None)
    with pytest.raises(CheckpointError, match=r"lacks keys \['num_convs'\]"):
        load_generator(fast_folder, device="cpu")


def test_truncated_weights_are_refused(fast_folder):
    weights = fast_folder / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])
    with pytest.raises(CheckpointError, match="truncated or corrupt"):
        load_generator(fast_folder, device="cpu")


def test_weights_of_another_shape_are_refused(fast_folder):
    save_file(FastGenerator(num_features=8, num_convs=1).state_dict(), str(fast_folder / "model.safetensors"))
    with pytest.raises(CheckpointError, match="(?s)does not fit FastGenerator.*size mismatch"):
        load_generator(fast_folder, device="cpu")


def test_missing_weights_file_is_refused(fast_folder):
    (fast_folder / "model.safetensors").unlink()
    with pytest.raises(CheckpointError, match="no model.safetensors"):
        load_generator(fast_folder, device="cpu")


def test_non_json_config_is_refused(fast_folder):
    (fast_folder / "config.json").write_text("num_convs: 1\n")
    with pytest.raises(CheckpointError, match="not valid JSON"):
        load_generator(fast_folder, device="cpu")


def test_unknown_bare_name_is_refused():
    with pytest.raises(CheckpointError, match="'no-such-model' is neither a bundled model"):
        load_generator("no-such-model")


def test_architecture_name_without_bundled_weights_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("FACESR_WEIGHTS_DIR", str(tmp_path))  # an empty weights folder
    with pytest.raises(CheckpointError, match="'fast' is an architecture without bundled weights"):
        load_generator("fast")


@pytest.mark.parametrize("make", [
    lambda: UpsampleGenerator(norm="batchy"),
    lambda: PixelShuffleV1(norm="batchy"),
    lambda: PixelShuffleV2(output_activation="sigmoid"),
    lambda: ResidualAttentionGenerator(norm="batchy"),
    lambda: ResidualAttentionGenerator(num_groups=0),
    lambda: FastGenerator(num_convs=0),
    lambda: FastGenerator(activation="swish"),
    lambda: QualityGenerator(num_blocks=0),
], ids=["upsample-norm", "v1-norm", "v2-output", "ra-norm", "ra-groups", "fast-convs", "fast-act", "quality-blocks"])
def test_invalid_constructor_options_raise_value_error(make):
    with pytest.raises(ValueError):
        make()
