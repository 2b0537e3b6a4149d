"""facesr_hub.training.deepen (a recipe's deepen stage): a deeper `fast` generator that computes exactly what the trained one did, and still trains."""

from __future__ import annotations

import pytest
import torch

from facesr_hub import load_generator
from facesr_hub.generators.fast import FastGenerator
from facesr_hub.training.deepen import deepen, deepen_checked


def _trained_like(num_convs: int, activation: str = "prelu") -> FastGenerator:
    """A `fast` generator with every weight random, the last conv and the PReLU slopes included (as after training)."""
    torch.manual_seed(0)
    model = FastGenerator(num_features=8, num_convs=num_convs, activation=activation)
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.copy_(torch.randn_like(parameter) * 0.2)
    return model.eval()


@pytest.mark.parametrize("old, new", [(2, 4), (3, 7), (8, 16)])
def test_deepened_model_computes_the_same_output(old, new):
    model = _trained_like(old)
    deeper = deepen(model, new).eval()
    assert deeper.config["num_convs"] == new
    assert sum(isinstance(m, torch.nn.Conv2d) for m in deeper.body) == new + 2
    x = torch.rand(2, 3, 16, 16)
    with torch.no_grad():
        reference = model(x)
        assert not torch.allclose(reference, torch.nn.functional.interpolate(x, scale_factor=4, mode="bicubic"))
        assert torch.allclose(deeper(x), reference, atol=1e-6)


def test_old_layers_keep_their_weights_in_order_and_new_ones_are_identities():
    model = _trained_like(2)
    deeper = deepen(model, 4)
    convs_old = [m for m in model.body if isinstance(m, torch.nn.Conv2d)]
    convs_new = [m for m in deeper.body if isinstance(m, torch.nn.Conv2d)]
    # head, body 0 -> slot 0, body 1 -> slot 2, tail
    for old_index, new_index in [(0, 0), (1, 1), (2, 3), (3, 5)]:
        assert torch.equal(convs_old[old_index].weight, convs_new[new_index].weight)
    for new_index in (2, 4):
        identity = convs_new[new_index]
        assert identity.weight.abs().sum() == identity.out_channels
        assert torch.all(identity.weight[:, :, 1, 1].diag() == 1)


def test_added_layers_receive_gradients():
    deeper = deepen(_trained_like(2), 4).train()
    loss = deeper(torch.rand(2, 3, 16, 16)).square().mean()
    loss.backward()
    identity = [m for m in deeper.body if isinstance(m, torch.nn.Conv2d)][2]
    assert identity.weight.grad.abs().sum() > 0


@pytest.mark.parametrize("model, num_convs, message", [
    (_trained_like(4), 4, "must exceed"),
    (_trained_like(4), 2, "must exceed"),
    (_trained_like(2, activation="relu"), 4, "PReLU"),
])
def test_refuses_what_it_cannot_deepen_exactly(model, num_convs, message):
    with pytest.raises(ValueError, match=message):
        deepen(model, num_convs)


def test_checked_deepening_saves_a_folder_that_loads_strictly_and_matches(tmp_path):
    source = tmp_path / "source"
    _trained_like(2).save_pretrained(source)
    out = tmp_path / "deeper"
    deepen_checked(load_generator(source, device="cpu"), 5).save_pretrained(out)
    deeper = load_generator(out, device="cpu").eval()
    assert deeper.config["num_convs"] == 5
    x = torch.rand(1, 3, 16, 16)
    with torch.no_grad():
        assert torch.allclose(deeper(x), load_generator(source, device="cpu").eval()(x), atol=1e-6)
