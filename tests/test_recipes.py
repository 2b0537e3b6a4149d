"""Recipes: every shipped model's recipe parses and its card names it; the runner runs, records and resumes stages."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from paths import REPO
from training_fixtures import make_celeba, make_face_like

from facesr_hub import load_generator
from facesr_hub.loading import bundled_model_names, bundled_weights_dir
from facesr_hub.training.recipe import Recipe, RecipeError, load_recipe
from facesr_hub.training.recipe_card import card_recipe
from facesr_hub.training.recipe_runner import RUN_FILE, RecipeOptions, run_recipe

RECIPES = REPO / "recipes"
RECIPE_FILES = sorted(RECIPES.glob("*.toml"))
#: What a reduced-scale run changes on every training stage: tiny batches and patches, two validation faces.
TINY = {"batch_size": 2, "patch_size": 32, "gan_batch_size": 2, "gan_patch_size": 32, "val_images": 2,
        "val_every": 1000, "save_every": 1000, "num_workers": 1, "warmup_steps": 1, "grid_images": 1}


def make_folder(root: Path, count: int = 24, size: int = 96, seed: int = 1) -> Path:
    rng = np.random.default_rng(seed)
    root.mkdir(parents=True)
    for i in range(count):
        make_face_like(rng, size, size).save(root / f"face_{i:03d}.jpg", quality=95)
    return root


@pytest.fixture(scope="module")
def data_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The four dataset folders the recipes name, tiny: a CelebA layout and three plain folders."""
    root = tmp_path_factory.mktemp("data")
    make_celeba(root / "celeba", n_train=6, n_val=2)
    for seed, name in enumerate(("utkface", "celeba-hq-256", "celebamask-hq-256"), start=2):
        make_folder(root / name, seed=seed)
    return root


def test_there_is_one_recipe_per_bundled_model():
    assert [load_recipe(path).model for path in RECIPE_FILES] == [path.stem for path in RECIPE_FILES]
    assert sorted(path.stem for path in RECIPE_FILES) == bundled_model_names()


@pytest.mark.parametrize("path", RECIPE_FILES, ids=lambda p: p.stem)
def test_every_recipe_parses_and_its_init_recipes_exist(path):
    recipe = load_recipe(path)
    assert recipe.stages[-1].kind in {"psnr", "gan", "blend"}, "the last stage makes the model"
    for stage in recipe.stages:
        if stage.recipe:
            assert load_recipe(recipe.sibling(stage.recipe)).model == stage.recipe
        if stage.bundled:
            assert stage.bundled in bundled_model_names()


@pytest.mark.parametrize("name", bundled_model_names())
def test_every_bundled_card_names_its_recipe_and_the_hash_matches(name):
    card = (bundled_weights_dir() / name / "README.md").read_text(encoding="utf-8")
    named = card_recipe(card)
    assert named is not None, f"{name}'s card names no recipe"
    path, short_hash = named
    assert (REPO / path).is_file(), f"{name}'s card names {path}, which does not exist"
    recipe = load_recipe(REPO / path)
    assert recipe.model == name
    assert recipe.sha256.startswith(short_hash), f"{path} changed since {name}'s card was written"
    for stage in recipe.stages:  # the card lists every stage with its real length
        assert f"`{stage.name}`" in card
        if stage.trains:
            assert f"{stage.steps:,} steps" in card


BAD_RECIPES = [
    ('model = "x"\n', "at least one"),
    ('model = "x"\n[[stages]]\nname = "a"\nkind = "train"\n', "kind must be one of"),
    ('model = "x"\n[[stages]]\nname = "a"\nkind = "psnr"\ndata = ["d"]\n', "needs `steps`"),
    ('model = "x"\n[[stages]]\nname = "a"\nkind = "psnr"\nsteps = 2\n', "no `data`"),
    ('model = "x"\n[train]\ndata = ["d"]\nmax_steps = 4\n[[stages]]\nname = "a"\nkind = "psnr"\nsteps = 2\n',
     "set by the recipe runner"),
    ('model = "x"\n[train]\ndata = ["d"]\nlearning_rate = 1\n[[stages]]\nname = "a"\nkind = "psnr"\nsteps = 2\n',
     "unknown training settings"),
    ('model = "x"\n[train]\ndata = ["d"]\n[[stages]]\nname = "a"\nkind = "psnr"\nsteps = 2\nlr = -1\n', "--lr"),
    ('model = "x"\n[train]\ndata = ["d"]\n[[stages]]\nname = "a"\nkind = "psnr"\nsteps = 2\ninit = "b"\n',
     "not an earlier stage"),
    ('model = "x"\n[train]\ndata = ["d"]\n[[stages]]\nname = "a"\nkind = "psnr"\nsteps = 2\n'
     '[[stages]]\nname = "b"\nkind = "blend"\nweights = { a = 0.5, c = 0.5 }\n', "do not come before"),
    ('model = "x"\n[train]\ndata = ["d"]\n[[stages]]\nname = "a"\nkind = "psnr"\nsteps = 2\n[[stages]]\nname = "b"\n'
     'kind = "psnr"\nsteps = 2\n[[stages]]\nname = "c"\nkind = "blend"\nweights = { a = 0.5, b = 0.6 }\n', "sum to 1"),
    ('model = "x"\n[[stages]]\nname = "a"\nkind = "init"\n', "exactly one of"),
    ('model = "x"\n[[stages]]\nname = "a"\nkind = "deepen"\nnum_convs = 8\nlr = 1e-4\n', "training settings go"),
    ('model = "x"\n[[stages]]\nname = "a"\nkind = "init"\nbundled = "fast"\n[[stages]]\nname = "a"\nkind = "init"\n'
     'bundled = "fast"\n', "already has this name"),
    ('model = "x"\n[[stages]\n', "not valid TOML"),
]


@pytest.mark.parametrize("text, message", BAD_RECIPES)
def test_a_bad_recipe_is_refused_naming_the_problem(tmp_path, text, message):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(RecipeError, match=message) as error:
        load_recipe(path)
    assert str(path) in str(error.value)


CHAIN = """
model = "chain"
[train]
data = ["celeba", "utkface"]
arch = "fast"
arch_kwargs = { num_features = 16, num_convs = 2 }
seed = 3
[[stages]]
name = "psnr"
kind = "psnr"
steps = 3
[[stages]]
name = "deeper"
kind = "deepen"
num_convs = 4
[[stages]]
name = "psnr-deep"
kind = "psnr"
steps = 2
arch_kwargs = { num_features = 16, num_convs = 4 }
[[stages]]
name = "gan"
kind = "gan"
steps = 2
arch_kwargs = { num_features = 16, num_convs = 4 }
perceptual_layers = ["conv1_2"]
[[stages]]
name = "shipped"
kind = "blend"
weights = { gan = 0.75, psnr-deep = 0.25 }
"""


def run_chain(data_root: Path, tmp_path: Path) -> tuple[Path, Recipe, Path, Path]:
    """CHAIN written to ``tmp_path/recipes/chain.toml`` and run at a tiny scale: (file, recipe, run folder, model)."""
    path = tmp_path / "recipes" / "chain.toml"
    path.parent.mkdir()
    path.write_text(CHAIN)
    recipe = load_recipe(path)
    out = tmp_path / "run"
    return path, recipe, out, run_recipe(recipe, out, RecipeOptions(data_root=data_root, overrides=TINY))


def test_a_recipe_runs_every_kind_of_stage_records_them_and_resumes(data_root, tmp_path):
    path, recipe, out, final = run_chain(data_root, tmp_path)

    record = json.loads((out / RUN_FILE).read_text())
    assert record["sha256"] == recipe.sha256
    assert {name: stage.get("steps") for name, stage in record["stages"].items()} == \
        {"psnr": 3, "deeper": None, "psnr-deep": 2, "gan": 2, "shipped": None}
    model = load_generator(str(final), device="cpu").eval()
    assert model.config["num_convs"] == 4
    card = (final / "README.md").read_text()
    assert card_recipe(card) == ("recipes/chain.toml", recipe.short_hash)
    assert "gan `gan`: 2 steps" in card and "0.75 x `gan`" in card
    assert "Not the recipe as written" in card  # the tiny settings are on record

    # The blend is exactly the weighted mean of its stages' weights.
    stages = {p.name.split("-", 1)[1]: p / "model" for p in (out / "stages").iterdir()}
    gan, psnr = (load_generator(str(stages[n]), device="cpu").state_dict() for n in ("gan", "psnr-deep"))
    for key, value in model.state_dict().items():
        torch.testing.assert_close(value, 0.75 * gan[key] + 0.25 * psnr[key])

    with pytest.raises(RecipeError, match="--resume"):  # an existing run is never overwritten by accident
        run_recipe(recipe, out, RecipeOptions(data_root=data_root, overrides=TINY))
    before = {p: p.stat().st_mtime_ns for p in (out / "stages").rglob("model.safetensors")}
    run_recipe(recipe, out, RecipeOptions(data_root=data_root, overrides=TINY, resume=True))
    assert {p: p.stat().st_mtime_ns for p in (out / "stages").rglob("model.safetensors")} == before

    path.write_text(CHAIN.replace("steps = 3", "steps = 4"))  # a changed recipe cannot continue an old run
    with pytest.raises(RecipeError, match="changed since"):
        run_recipe(load_recipe(path), out, RecipeOptions(data_root=data_root, overrides=TINY, resume=True))


def test_resume_continues_at_the_first_unfinished_stage(data_root, tmp_path):
    _, recipe, out, _ = run_chain(data_root, tmp_path)
    # As if the run had stopped during the GAN stage: its record and its folder gone, the earlier stages kept.
    record = json.loads((out / RUN_FILE).read_text())
    for name in ("gan", "shipped"):
        del record["stages"][name]
    (out / RUN_FILE).write_text(json.dumps(record))
    shutil.rmtree(out / "stages" / "04-gan")
    shutil.rmtree(out / "stages" / "05-shipped")
    first = (out / "stages" / "01-psnr" / "model" / "model.safetensors").stat().st_mtime_ns
    run_recipe(recipe, out, RecipeOptions(data_root=data_root, overrides=TINY, resume=True))
    assert (out / "stages" / "01-psnr" / "model" / "model.safetensors").stat().st_mtime_ns == first
    assert set(json.loads((out / RUN_FILE).read_text())["stages"]) == {"psnr", "deeper", "psnr-deep", "gan", "shipped"}
    load_generator(str(out / "model"), device="cpu")


def test_an_init_stage_runs_its_recipe_or_takes_the_bundled_model(data_root, tmp_path):
    folder = tmp_path / "recipes"
    folder.mkdir()
    (folder / "base.toml").write_text(CHAIN.split("[[stages]]\nname = \"deeper\"")[0].replace('"chain"', '"base"'))
    (folder / "top.toml").write_text('model = "top"\n[[stages]]\nname = "start"\nkind = "init"\nrecipe = "base"\n'
                                     '[[stages]]\nname = "more"\nkind = "psnr"\nsteps = 1\ndata = ["utkface"]\n'
                                     'arch = "fast"\narch_kwargs = { num_features = 16, num_convs = 2 }\n')
    final = run_recipe(load_recipe(folder / "top.toml"), tmp_path / "run", RecipeOptions(data_root=data_root,
                                                                                          overrides=TINY))
    card = (final / "README.md").read_text()
    assert "init `start`: recipe `base`" in card and "  - psnr `psnr`: 3 steps" in card  # nested stages, indented
    assert (tmp_path / "run" / "stages" / "01-start" / "recipe" / "model" / "model.safetensors").is_file()

    (folder / "top2.toml").write_text('model = "top2"\n[[stages]]\nname = "start"\nkind = "init"\nbundled = "fast"\n'
                                      '[[stages]]\nname = "more"\nkind = "gan"\nsteps = 1\ndata = ["utkface"]\n'
                                      'arch = "fast"\narch_kwargs = { num_convs = 16 }\n'
                                      'perceptual_layers = ["conv1_2"]\n')
    final = run_recipe(load_recipe(folder / "top2.toml"), tmp_path / "run2", RecipeOptions(data_root=data_root,
                                                                                            overrides=TINY))
    assert load_generator(str(final), device="cpu").config["num_convs"] == 16


def test_missing_data_is_refused_before_any_stage_runs(tmp_path):
    path = tmp_path / "chain.toml"
    path.write_text(CHAIN)
    with pytest.raises(RecipeError, match="--data-root"):
        run_recipe(load_recipe(path), tmp_path / "run", RecipeOptions(data_root=tmp_path / "nowhere"))
    assert not (tmp_path / "run").exists()


@pytest.mark.slow
@pytest.mark.parametrize("path", RECIPE_FILES, ids=lambda p: p.stem)
def test_every_recipe_runs_end_to_end_at_a_tiny_scale(path, data_root, tmp_path):
    recipe = load_recipe(path)
    final = run_recipe(recipe, tmp_path / "run", RecipeOptions(data_root=data_root, stage_steps=2, overrides=TINY))
    model = load_generator(str(final), device="cpu").eval()
    shipped = load_generator(recipe.model, device="cpu")
    assert model.config == shipped.config  # the recipe makes the shipped architecture
    with torch.no_grad():
        assert model(torch.rand(1, 3, 16, 16)).shape == (1, 3, 64, 64)
    assert card_recipe((final / "README.md").read_text()) == (f"recipes/{path.name}", recipe.short_hash)
