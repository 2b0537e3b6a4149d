"""tools/ship_weights.py bundle --interpolate: the shipped weights are the network interpolation, and the card says so."""

from __future__ import annotations

import hashlib
import importlib.util
import shutil
from pathlib import Path

import pytest
import torch
from paths import CELEBA_HQ, REPO

from facesr_hub import bundled_weights_dir, load_generator
from facesr_hub.hub import card_with_section
from facesr_hub.training.recipe_card import card_recipe

spec = importlib.util.spec_from_file_location("ship_weights", REPO / "tools" / "ship_weights.py")
ship_weights = importlib.util.module_from_spec(spec)
spec.loader.exec_module(ship_weights)


def _gan_run_and_bundle(tmp_path: Path) -> tuple[Path, Path]:
    """A runs folder whose ``fast-real`` run holds the bundled ``fast`` (with its card), and an output folder holding
    ``fast-psnr`` as ``fast-real-psnr``: one network config, two different weight sets."""
    runs, out = tmp_path / "runs", tmp_path / "weights"
    shutil.copytree(bundled_weights_dir() / "fast", runs / "fast-real" / "model")
    shutil.copytree(bundled_weights_dir() / "fast-psnr", out / "fast-real-psnr")
    return runs, out


def test_interpolated_bundle_ships_the_weight_blend_and_says_so(tmp_path):
    runs, out = _gan_run_and_bundle(tmp_path)
    ship_weights.bundle(runs, ["fast-real"], out, CELEBA_HQ, interpolate={"fast-real": 0.25})
    shipped = load_generator(out / "fast-real", device="cpu").state_dict()
    gan, psnr = (load_generator(name, device="cpu").state_dict() for name in ("fast", "fast-psnr"))
    moved = False
    for key, value in shipped.items():
        expected = torch.lerp(gan[key].float(), psnr[key].float(), 0.25)
        assert torch.allclose(value.float(), expected, atol=2e-3, rtol=2e-3), key  # float16 storage
        moved |= not torch.allclose(value.float(), gan[key].float(), atol=2e-3, rtol=2e-3)
    assert moved
    card = (out / "fast-real" / "README.md").read_text(encoding="utf-8")
    assert "# fast-real\n" in card and "## Network interpolation" in card
    assert "0.75 x the GAN stage trained above + 0.25 x its PSNR stage `fast-real-psnr`" in card


@pytest.mark.parametrize("fidelity, partner, message", [
    (1.0, True, "strictly between 0 and 1"),
    (0.0, True, "strictly between 0 and 1"),
    (0.3, False, "is not bundled"),
])
def test_interpolation_refuses_bad_fidelity_or_missing_partner_before_writing(tmp_path, fidelity, partner, message):
    runs, out = _gan_run_and_bundle(tmp_path)
    if not partner:
        shutil.rmtree(out / "fast-real-psnr")
    with pytest.raises(ValueError, match=message):
        ship_weights.bundle(runs, ["fast-real"], out, CELEBA_HQ, interpolate={"fast-real": fidelity})
    assert not (out / "fast-real").exists()


@pytest.mark.parametrize("item", ["fast-real=abc", "fast-real", "fast=0.3"])
def test_cli_refuses_malformed_interpolation(tmp_path, item, capsys):
    runs, out = _gan_run_and_bundle(tmp_path)
    with pytest.raises(SystemExit):
        ship_weights.main(["bundle", "--runs", str(runs), "--names", "fast-real", "--interpolate", item,
                           "--out", str(out)])
    assert "--interpolate" in capsys.readouterr().err
    assert not (out / "fast-real").exists()


def test_a_second_table_gets_its_own_section_and_rerunning_the_first_keeps_it():
    card = "# fast-real\n\nIntro.\n\n## Use\n\nload it\n"
    clean = card_with_section(card, "## Held-out evaluation", "## Held-out evaluation\n\nclean v1\n")
    both = card_with_section(clean, "## Held-out evaluation, realistic inputs",
                                     "## Held-out evaluation, realistic inputs\n\nrealistic v1\n")
    again = card_with_section(both, "## Held-out evaluation", "## Held-out evaluation\n\nclean v2\n")
    assert again == ("# fast-real\n\nIntro.\n\n## Use\n\nload it\n\n## Held-out evaluation\n\nclean v2\n\n"
                     "## Held-out evaluation, realistic inputs\n\nrealistic v1\n")
    assert card_with_section(again, "## Use", "## Use\n\nnew\n").count("## ") == 3


@pytest.mark.parametrize("evaluated_only", [False, True])
def test_add_eval_updates_the_scored_models_cards_and_warns_about_the_others_unless_told(tmp_path, capsys,
                                                                                          evaluated_only):
    out = tmp_path / "weights"
    for name in ("fast", "upsample"):
        (out / name).mkdir(parents=True)
        (out / name / "README.md").write_text(f"# {name}\n\nIntro.\n", encoding="utf-8")
    report = tmp_path / "eval.json"
    report.write_text('{"rows": [{"name": "fast"}, {"name": "bicubic"}]}', encoding="utf-8")
    table = tmp_path / "eval.md"
    table.write_text("| method | PSNR |\n|---|---:|\n| fast | 25.00 |\n\nwrote eval.json\n", encoding="utf-8")
    ship_weights.add_eval(report, table, None, out, "## Held-out evaluation, realistic inputs",
                          evaluated_only=evaluated_only)
    assert "| fast | 25.00 |" in (out / "fast" / "README.md").read_text(encoding="utf-8")
    assert (out / "upsample" / "README.md").read_text(encoding="utf-8") == "# upsample\n\nIntro.\n"
    warned = "upsample is not in" in capsys.readouterr().err
    assert warned is not evaluated_only


@pytest.mark.parametrize("metrics", [None, {"psnr": 30.0}])
def test_renamed_card_names_the_bundled_model_everywhere(metrics):
    """A run that never validated (the GPU runs) names itself in the card's top-level ``model_name``, one that did in
    its model-index; either way the bundled card must carry the bundled name only (cards renamed by the model-index
    alone once kept ``model_name: residual-attention-psnr``)."""
    from facesr_hub import UpsampleGenerator
    from facesr_hub.hub import CardInfo, render_model_card

    info = CardInfo(model_name="upsample-fixed-run", data=[], metrics=metrics, stage="psnr")
    card = str(render_model_card(UpsampleGenerator(), info))
    assert "upsample-fixed-run" in card
    bundled = ship_weights.renamed(card, "upsample-fixed")
    assert "upsample-fixed-run" not in bundled
    assert "# upsample-fixed\n" in bundled and 'load_generator("upsample-fixed")' in bundled


def test_recipe_cards_rewrites_each_card_from_its_recipe_and_refuses_a_model_without_one(tmp_path):
    out = tmp_path / "weights"
    shutil.copytree(bundled_weights_dir() / "fast-psnr", out / "fast-psnr")
    recipes = tmp_path / "recipes"
    recipes.mkdir()
    edited = (REPO / "recipes" / "fast-psnr.toml").read_text() + "\n# an edited comment changes the hash\n"
    (recipes / "fast-psnr.toml").write_text(edited)
    ship_weights.main(["recipe-cards", "--recipes", str(recipes), "--out", str(out)])
    card = (out / "fast-psnr" / "README.md").read_text()
    path, short_hash = card_recipe(card)
    assert path == "recipes/fast-psnr.toml"
    assert short_hash == hashlib.sha256(edited.encode()).hexdigest()[:16]
    assert card.count("## Recipe") == 1 and "## Held-out evaluation" in card  # the other sections stay

    shutil.copytree(bundled_weights_dir() / "fast", out / "fast")
    with pytest.raises(SystemExit):
        ship_weights.main(["recipe-cards", "--recipes", str(recipes), "--out", str(out)])
