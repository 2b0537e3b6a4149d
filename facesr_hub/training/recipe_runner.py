"""Run a recipe end to end (``train.py --recipe recipes/fast.toml --output-dir runs/fast``), resumable at any stage.

Layout of a run: ``OUTPUT/stages/NN-<stage>/`` per stage (a training stage's whole ``train.py`` output, with its
checkpoints; every stage's result in ``model/``), ``OUTPUT/recipe-run.json`` (the recipe's hash and each finished
stage's real length, written after every stage), and ``OUTPUT/model/``: the last stage's Hub folder, whose card names
the recipe. With ``accelerate launch`` every process runs the training stages; weight surgery (deepen, blend, copies)
happens on the main process while the others wait.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from accelerate import PartialState
from huggingface_hub import ModelCard

from ..fileio import atomic_write_text, replace_dir
from ..generators import ARCHITECTURE_KEY, Generator
from ..hub import card_with_section, push_generator_folder, save_generator_folder
from ..loading import bundled_weights_dir, load_generator
from .deepen import deepen_checked
from .recipe import Recipe, RecipeError, Stage, load_recipe, stage_config
from .recipe_card import HEADING, recipe_section
from .trainer import train

STAGES_DIR = "stages"
FINAL_DIR = "model"
RUN_FILE = "recipe-run.json"


@dataclass
class RecipeOptions:
    """How to run a recipe (none of it changes what the recipe says; a card records what was shortened)."""

    data_root: Path
    max_minutes: float | None = None  # the whole run's budget, shared by the training stages by their step costs
    bundled_inits: bool = False  # init stages take the bundled model instead of running its recipe
    resume: bool = False
    stage_steps: int | None = None  # each training stage at most this many steps (a reduced-scale check)
    overrides: dict[str, Any] = field(default_factory=dict)  # TrainConfig fields set on every training stage
    push_to_hub: str | None = None

    def __post_init__(self) -> None:
        if self.max_minutes is not None and self.stage_steps is not None:
            raise ValueError("--max-minutes and --stage-steps are two ways to shorten a recipe: pick one")
        if self.max_minutes is not None and not self.max_minutes > 0:
            raise ValueError(f"--max-minutes must be > 0, got {self.max_minutes}")
        if self.stage_steps is not None and self.stage_steps < 1:
            raise ValueError(f"--stage-steps must be >= 1, got {self.stage_steps}")

    def note(self) -> str:
        """What the card says when the run was shortened or changed, else ""."""
        parts = []
        if self.max_minutes is not None:
            parts.append(f"a time budget of {self.max_minutes:g} min shared by the training stages")
        if self.stage_steps is not None:
            parts.append(f"each training stage capped at {self.stage_steps} steps")
        if self.overrides:
            parts.append("settings changed on every training stage: " + json.dumps(self.overrides, sort_keys=True))
        if self.bundled_inits:
            parts.append("init stages from the bundled models")
        return ("**Not the recipe as written**: " + "; ".join(parts) + ".") if parts else ""


def recipe_cost(recipe: Recipe, options: RecipeOptions) -> float:
    """The recipe's time in PSNR-step units, nested init recipes included (unless the bundled models stand in)."""
    return sum(_stage_cost(recipe, stage, options) for stage in recipe.stages)


def run_recipe(recipe: Recipe, output_dir: str | Path, options: RecipeOptions) -> Path:
    """Run (or, with ``options.resume``, continue) every stage of ``recipe``; returns the final model folder."""
    output_dir = Path(output_dir)
    state = PartialState()
    run_file = output_dir / RUN_FILE
    record: dict[str, Any] = {"recipe": str(recipe.path), "sha256": recipe.sha256, "stages": {}}
    if run_file.is_file():
        if not options.resume:
            raise RecipeError(f"{output_dir} already holds a run of a recipe; pass --resume to continue it, or "
                              "choose another --output-dir")
        record = json.loads(run_file.read_text(encoding="utf-8"))
        if record.get("sha256") != recipe.sha256:
            raise RecipeError(f"{recipe.path} changed since the run in {output_dir} started (hash "
                              f"{record.get('sha256', '?')[:16]} there); resume with that file or start a new run")
    _check_data(recipe, options)
    remaining = [s for s in recipe.stages if s.name not in record["stages"]]
    budget_cost = sum(_stage_cost(recipe, s, options) for s in remaining) or 1.0
    outputs: dict[str, Path] = {}
    previous: Path | None = None
    for index, stage in enumerate(recipe.stages):
        stage_dir = output_dir / STAGES_DIR / f"{index + 1:02d}-{stage.name}"
        if stage.name not in record["stages"]:
            minutes = (None if options.max_minutes is None
                       else options.max_minutes * _stage_cost(recipe, stage, options) / budget_cost)
            result = _run_stage(recipe, stage, stage_dir, previous, outputs, options, minutes)
            if state.is_main_process:
                record["stages"][stage.name] = result
                output_dir.mkdir(parents=True, exist_ok=True)
                atomic_write_text(run_file, json.dumps(record, indent=2))
            state.wait_for_everyone()
            if not state.is_main_process:
                record = json.loads(run_file.read_text(encoding="utf-8"))
        outputs[stage.name] = previous = stage_dir / FINAL_DIR
    final_dir = output_dir / FINAL_DIR
    if state.is_main_process:
        _write_final(recipe, record, previous, final_dir, options)
        if options.push_to_hub:
            push_generator_folder(final_dir, options.push_to_hub,
                                  commit_message=f"FaceSR-Hub recipe {recipe.model} ({recipe.short_hash})")
    state.wait_for_everyone()
    return final_dir


def _stage_cost(recipe: Recipe, stage: Stage, options: RecipeOptions) -> float:
    if stage.recipe and not options.bundled_inits:
        return recipe_cost(load_recipe(recipe.sibling(stage.recipe)), options)
    return stage.cost


def _check_data(recipe: Recipe, options: RecipeOptions) -> None:
    """Every data folder of every training stage exists, checked before hours of earlier stages run."""
    for stage in recipe.stages:
        for name in stage.train.get("data", []):
            if not (options.data_root / name).is_dir():
                raise RecipeError(f"stage {stage.name!r} of {recipe.path} trains on {name!r}, but "
                                  f"{options.data_root / name} is not a folder (give --data-root, the folder that "
                                  "holds the datasets)")


def _run_stage(recipe: Recipe, stage: Stage, stage_dir: Path, previous: Path | None, outputs: dict[str, Path],
               options: RecipeOptions, minutes: float | None) -> dict[str, Any]:
    """Run one stage into ``stage_dir``; returns what the run record keeps of it."""
    state = PartialState()
    model_dir = stage_dir / FINAL_DIR
    if stage.trains:
        start = previous if stage.init is None else None if stage.init == "none" else outputs[stage.init]
        disc = None if stage.init_discriminator is None else outputs[stage.init_discriminator].parent
        steps = None if options.stage_steps is None else min(stage.steps, options.stage_steps)
        config = stage_config(stage, data_root=options.data_root, output_dir=stage_dir,
                              init_from=None if start is None else str(start), init_discriminator_from=
                              None if disc is None else str(disc), max_minutes=minutes, steps=steps,
                              resume=options.resume, overrides=options.overrides)
        result = train(config)
        return {"kind": stage.kind, "steps": result.steps}
    if stage.recipe and not options.bundled_inits:
        nested = load_recipe(recipe.sibling(stage.recipe))
        nested_options = RecipeOptions(**{**options.__dict__, "push_to_hub": None,
                                          "max_minutes": minutes if options.max_minutes is not None else None})
        nested_final = run_recipe(nested, stage_dir / "recipe", nested_options)
        if state.is_main_process:
            _copy_folder(nested_final, model_dir)
        nested_record = json.loads((stage_dir / "recipe" / RUN_FILE).read_text(encoding="utf-8"))
        return {"kind": stage.kind, "recipe": nested_record}
    if state.is_main_process:
        if stage.kind == "init":
            source = bundled_weights_dir() / (stage.bundled or stage.recipe)
            if not (source / "model.safetensors").is_file():
                raise RecipeError(f"stage {stage.name!r}: no bundled model {source.name!r}")
            _copy_folder(source, model_dir)
        elif stage.kind == "deepen":
            model = load_generator(str(previous), device="cpu")
            try:
                deeper = deepen_checked(model, stage.num_convs)
            except ValueError as error:
                raise RecipeError(f"stage {stage.name!r}: {error}") from error
            card = _card_text(previous) + (f"\n\n## Deepened\n\nThese weights are the ones above deepened to "
                                           f"{stage.num_convs} body convs (Net2DeeperNet: the same output).\n")
            save_generator_folder(deeper, model_dir, ModelCard(card))
        else:
            _blend(stage, outputs, model_dir)
    state.wait_for_everyone()
    return {"kind": stage.kind, **({"bundled": True} if stage.kind == "init" else {})}


def _blend(stage: Stage, outputs: dict[str, Path], model_dir: Path) -> None:
    """ESRGAN network interpolation of several stages' weights (one architecture and config), in float32."""
    models: list[Generator] = [load_generator(str(outputs[name]), device="cpu").float() for name in stage.weights]
    if any(m.config != models[0].config for m in models):
        raise RecipeError(f"stage {stage.name!r}: blended stages must share one architecture and config")
    states = [m.state_dict() for m in models]
    blended = {key: (sum(w * s[key] for w, s in zip(stage.weights.values(), states)) if value.is_floating_point()
                     else value) for key, value in states[0].items()}
    model = type(models[0])(**{k: v for k, v in models[0].config.items() if k != ARCHITECTURE_KEY})
    model.load_state_dict(blended, strict=True)
    heaviest = max(stage.weights, key=stage.weights.get)
    parts = " + ".join(f"{w:.2f} x `{name}`" for name, w in stage.weights.items())
    card = _card_text(outputs[heaviest]) + (
        f"\n\n## Network interpolation\n\nThe weights are {parts} (ESRGAN's network interpolation, Wang et al. 2018: "
        "stages fine-tuned from one another lie in one basin, so their weights blend smoothly). The validation "
        f"figures above are those of `{heaviest}` before blending.\n")
    save_generator_folder(model, model_dir, ModelCard(card))


def _card_text(folder: Path) -> str:
    card = folder / "README.md"
    return card.read_text(encoding="utf-8").rstrip() if card.is_file() else f"# {folder.name}"


def _copy_folder(source: Path, target: Path) -> None:
    tmp = target.with_name(f".tmp-{target.name}")
    shutil.rmtree(tmp, ignore_errors=True)
    shutil.copytree(source, tmp)
    replace_dir(tmp, target)


def _write_final(recipe: Recipe, record: dict[str, Any], last: Path, final_dir: Path, options: RecipeOptions) -> None:
    """The last stage's folder as the run's model, its card naming the recipe and the stages as run."""
    _copy_folder(last, final_dir)
    card = card_with_section(_card_text(final_dir), HEADING, recipe_section(recipe, record, options.note()))
    atomic_write_text(final_dir / "README.md", card)
    load_generator(str(final_dir), device="cpu")  # strict: a run never ends on a folder that does not load
