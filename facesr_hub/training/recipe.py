"""Recipes: how a shipped model was made, as data. One TOML file per model (``recipes/<model>.toml``).

A recipe is a list of stages run in order, each starting from an earlier one's output:

- ``psnr`` / ``gan``: one ``train.py`` run (L1 only, or L1 + perceptual + adversarial) of ``steps`` steps. Its
  settings are the ``[train]`` table merged with the stage's own keys; every key is a ``TrainConfig`` field.
- ``deepen``: Net2DeeperNet the previous `fast` net to ``num_convs`` body convs (the same function, more capacity).
- ``blend``: ESRGAN network interpolation of earlier stages' weights, ``weights = {stage = w, ...}``.
- ``init``: the output of another recipe (``recipe = "fast-psnr"``) or a bundled model's weights (``bundled``).

A training stage starts from the previous stage's output; ``init = "<stage>"`` names another one and ``init =
"none"`` starts from random weights (the default for a first stage). Data folders are names under a data root given
when the recipe runs, so a recipe holds no machine's paths. ``facesr_hub.training.recipe_runner`` runs them.
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..fileio import file_sha256
from .config import TrainConfig

STAGE_KINDS = ("psnr", "gan", "deepen", "blend", "init")
TRAINING_KINDS = ("psnr", "gan")
#: TrainConfig fields a recipe never sets: the runner derives them from the stage order, its options and its folders.
RUNNER_FIELDS = frozenset({"output_dir", "init_from", "init_discriminator_from", "resume", "push_to_hub", "max_steps",
                           "pixel_steps", "gan_steps", "max_minutes", "pixel_fraction"})
TRAIN_FIELDS = frozenset(TrainConfig.__dataclass_fields__) - RUNNER_FIELDS
#: The keys each stage kind takes besides ``name`` and ``kind``.
STAGE_KEYS = {"psnr": {"steps", "init"} | TRAIN_FIELDS, "gan": {"steps", "init", "init_discriminator"} | TRAIN_FIELDS,
              "deepen": {"num_convs"}, "blend": {"weights"}, "init": {"recipe", "bundled"}}
HASH_CHARS = 16
#: Relative cost of a GAN step against a PSNR step on a CPU (VGG16 + discriminator; measured ~3.5x at the shipped
#: batch and patch sizes), used only to share a ``--max-minutes`` budget between stages.
GAN_STEP_COST = 3.5


class RecipeError(ValueError):
    """A recipe file that cannot be run as written; the message names the file and the stage."""


@dataclass(frozen=True)
class Stage:
    """One step of a recipe. Only the fields of its kind are set."""

    name: str
    kind: str
    steps: int = 0
    train: dict[str, Any] = field(default_factory=dict)  # psnr/gan: TrainConfig fields, [train] merged with its own
    init: str | None = None  # psnr/gan: the stage it starts from; None = the previous one; "none" = random
    init_discriminator: str | None = None  # gan: an earlier GAN stage whose discriminator it continues
    num_convs: int | None = None  # deepen
    weights: dict[str, float] = field(default_factory=dict)  # blend: stage name -> weight
    recipe: str | None = None  # init: another recipe's model name
    bundled: str | None = None  # init: a bundled model's name

    @property
    def trains(self) -> bool:
        return self.kind in TRAINING_KINDS

    @property
    def cost(self) -> float:
        """Relative time of this stage, in PSNR-step units (only training stages cost anything that matters)."""
        return self.steps * (GAN_STEP_COST if self.kind == "gan" else 1.0) if self.trains else 0.0

    def summary(self) -> str:
        """One line for a model card: ``gan "gan-more": 2,760 steps``."""
        if self.trains:
            return f"{self.kind} `{self.name}`: {self.steps:,} steps"
        if self.kind == "deepen":
            return f"deepen `{self.name}`: to {self.num_convs} body convs (Net2DeeperNet, no steps)"
        if self.kind == "blend":
            parts = " + ".join(f"{w:g} x `{name}`" for name, w in self.weights.items())
            return f"blend `{self.name}`: {parts} (network interpolation)"
        source = f"recipe `{self.recipe}`" if self.recipe else f"bundled `{self.bundled}`"
        return f"init `{self.name}`: {source}"


@dataclass(frozen=True)
class Recipe:
    """A parsed, validated recipe file."""

    path: Path
    model: str
    description: str
    stages: tuple[Stage, ...]
    sha256: str  # of the file's bytes: a model card names it, so a card says exactly which file made it

    @property
    def short_hash(self) -> str:
        return self.sha256[:HASH_CHARS]

    def stage(self, name: str) -> Stage:
        for stage in self.stages:
            if stage.name == name:
                return stage
        raise KeyError(name)

    def sibling(self, model: str) -> Path:
        """The file of another recipe named by an ``init`` stage: recipes live side by side."""
        return self.path.with_name(f"{model}.toml")


def load_recipe(path: str | Path) -> Recipe:
    """Read and validate ``path``; raises ``RecipeError`` naming the file and stage of the first problem."""
    path = Path(path)
    if not path.is_file():
        raise RecipeError(f"{path}: no such recipe file")
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as error:
        raise RecipeError(f"{path}: not valid TOML: {error}") from error
    where = str(path)
    if unknown := sorted(set(raw) - {"model", "description", "train", "stages"}):
        raise RecipeError(f"{where}: unknown top-level keys {unknown} (takes model, description, [train], [[stages]])")
    model = raw.get("model")
    if not isinstance(model, str) or not model:
        raise RecipeError(f"{where}: needs `model = \"<name>\"`, the model it makes")
    shared = raw.get("train", {})
    if not isinstance(shared, dict):
        raise RecipeError(f"{where}: [train] must be a table")
    _check_train_keys(shared, f"{where} [train]")
    entries = raw.get("stages")
    if not isinstance(entries, list) or not entries:
        raise RecipeError(f"{where}: needs at least one [[stages]] entry")
    stages: list[Stage] = []
    for index, entry in enumerate(entries):
        stages.append(_parse_stage(entry, shared, stages, f"{where} stage {index + 1}"))
    return Recipe(path=path, model=model, description=str(raw.get("description", "")), stages=tuple(stages),
                  sha256=file_sha256(path))


def _check_train_keys(values: dict[str, Any], where: str) -> None:
    if reserved := sorted(set(values) & RUNNER_FIELDS):
        raise RecipeError(f"{where}: {reserved} are set by the recipe runner, not by a recipe")
    if unknown := sorted(set(values) - TRAIN_FIELDS):
        raise RecipeError(f"{where}: unknown training settings {unknown}")


def _parse_stage(entry: Any, shared: dict[str, Any], earlier: list[Stage], where: str) -> Stage:
    if not isinstance(entry, dict):
        raise RecipeError(f"{where}: must be a table")
    name, kind = entry.get("name"), entry.get("kind")
    if not isinstance(name, str) or not name:
        raise RecipeError(f"{where}: needs a `name`")
    where = f"{where} ({name!r})"
    if kind not in STAGE_KINDS:
        raise RecipeError(f"{where}: kind must be one of {STAGE_KINDS}, got {kind!r}")
    if any(stage.name == name for stage in earlier):
        raise RecipeError(f"{where}: another stage already has this name")
    keys = set(entry) - {"name", "kind"}
    if unknown := sorted(keys - STAGE_KEYS[kind]):
        hint = " (training settings go only on psnr and gan stages)" if set(unknown) & TRAIN_FIELDS else ""
        raise RecipeError(f"{where}: a {kind} stage takes no {unknown}{hint}")
    names = [stage.name for stage in earlier]
    if kind in TRAINING_KINDS:
        return _training_stage(entry, shared, earlier, names, where)
    if kind == "deepen":
        num_convs = entry.get("num_convs")
        if not isinstance(num_convs, int) or num_convs < 1:
            raise RecipeError(f"{where}: needs `num_convs`, a positive integer")
        if not earlier:
            raise RecipeError(f"{where}: a deepen stage needs an earlier stage to deepen")
        return Stage(name=name, kind=kind, num_convs=num_convs)
    if kind == "blend":
        weights = entry.get("weights")
        if not isinstance(weights, dict) or len(weights) < 2:
            raise RecipeError(f"{where}: needs `weights = {{stage = w, ...}}` naming at least two earlier stages")
        if missing := sorted(set(weights) - set(names)):
            raise RecipeError(f"{where}: blends stages that do not come before it: {missing}")
        if any(not isinstance(w, int | float) or w < 0 for w in weights.values()) or \
                not math.isclose(sum(weights.values()), 1.0, abs_tol=1e-6):
            raise RecipeError(f"{where}: blend weights must be >= 0 and sum to 1, got {weights}")
        return Stage(name=name, kind=kind, weights={k: float(v) for k, v in weights.items()})
    if ("recipe" in entry) == ("bundled" in entry):
        raise RecipeError(f"{where}: an init stage takes exactly one of `recipe` or `bundled`")
    return Stage(name=name, kind=kind, recipe=entry.get("recipe"), bundled=entry.get("bundled"))


def _training_stage(entry: dict[str, Any], shared: dict[str, Any], earlier: list[Stage], names: list[str],
                    where: str) -> Stage:
    steps = entry.get("steps")
    if not isinstance(steps, int) or isinstance(steps, bool) or steps < 1:
        raise RecipeError(f"{where}: needs `steps`, a positive integer (the steps it ran)")
    init = entry.get("init")
    if init is not None and init != "none" and init not in names:
        raise RecipeError(f"{where}: init {init!r} is not an earlier stage (or \"none\")")
    init_d = entry.get("init_discriminator")
    if init_d is not None and (init_d not in names or next(s for s in earlier if s.name == init_d).kind != "gan"):
        raise RecipeError(f"{where}: init_discriminator {init_d!r} is not an earlier gan stage")
    own = {k: v for k, v in entry.items() if k not in {"name", "kind", "steps", "init", "init_discriminator"}}
    train = {**shared, **own}
    if "data" not in train:
        raise RecipeError(f"{where}: no `data` folders (in [train] or the stage)")
    if isinstance(train["data"], str):  # one folder may be written without a list
        train["data"] = [train["data"]]
    stage = Stage(name=entry["name"], kind=entry["kind"], steps=steps, train=train, init=init,
                  init_discriminator=init_d)
    try:  # every value checked now, with TrainConfig's own messages, not after hours of earlier stages
        stage_config(stage, data_root=Path("."), output_dir=Path("."))
    except (TypeError, ValueError) as error:
        raise RecipeError(f"{where}: {error}") from error
    return stage


def stage_config(stage: Stage, *, data_root: Path, output_dir: Path, init_from: str | None = None,
                 init_discriminator_from: str | None = None, max_minutes: float | None = None,
                 steps: int | None = None, resume: bool = False, overrides: dict[str, Any] | None = None
                 ) -> TrainConfig:
    """The ``TrainConfig`` of a training stage: data names resolved under ``data_root``, length in steps (or
    ``max_minutes``), the start point, and ``overrides`` (a reduced-scale run's batch or patch) on top."""
    values = {**stage.train, **(overrides or {})}
    data = values.pop("data")
    data = [data] if isinstance(data, str) else data  # an override (--set data=NAME) may be one name
    length: dict[str, Any] = ({"max_minutes": max_minutes, "pixel_fraction": 1.0 if stage.kind == "psnr" else 0.0}
                              if max_minutes is not None else
                              {"pixel_steps": steps or stage.steps, "gan_steps": 0} if stage.kind == "psnr" else
                              {"pixel_steps": 0, "gan_steps": steps or stage.steps})
    return TrainConfig(data=[str(data_root / name) for name in data], output_dir=str(output_dir),
                       init_from=init_from, init_discriminator_from=init_discriminator_from, resume=resume,
                       **length, **values)
