"""The "Recipe" section of a model card: which recipe file made the model (path and hash) and its stages as run."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from .recipe import Recipe, load_recipe

HEADING = "## Recipe"
#: How a card names its recipe; ``card_recipe`` reads it back.
REFERENCE = re.compile(r"Made by `(?P<path>[^`]+\.toml)` \(SHA-256 `(?P<hash>[0-9a-f]+)`\)")


def display_path(path: Path) -> str:
    """``recipes/<name>.toml`` for a file in a ``recipes`` folder (how the repository and the cards name it)."""
    return f"recipes/{path.name}" if path.parent.name == "recipes" else str(path)


def stage_lines(recipe: Recipe, record: dict[str, Any] | None, depth: int = 0) -> list[str]:
    """One list item per stage, nested recipes indented under their init stage. ``record`` is a run's record
    (``{"stages": {name: {"steps": n, "recipe": nested record}}}``); None describes the recipe as written."""
    lines = []
    for stage in recipe.stages:
        ran = (record or {}).get("stages", {}).get(stage.name, {})
        text = stage.summary()
        if stage.trains and record is not None and ran.get("steps") != stage.steps:
            text = f"{stage.kind} `{stage.name}`: {ran.get('steps', 0):,} steps (the recipe: {stage.steps:,})"
        lines.append(f"{'  ' * depth}- {text}")
        if stage.recipe and not ran.get("bundled"):
            nested = load_recipe(recipe.sibling(stage.recipe))
            lines.extend(stage_lines(nested, ran.get("recipe") if record is not None else None, depth + 1))
    return lines


def recipe_section(recipe: Recipe, record: dict[str, Any] | None = None, note: str = "") -> str:
    """The card section for a model made by ``recipe`` (as recorded in ``record``, or as written when None)."""
    lines = [HEADING, "", f"Made by `{display_path(recipe.path)}` (SHA-256 `{recipe.short_hash}`), its stages in order"
             f"{' as run' if record is not None else ''}:", "", *stage_lines(recipe, record)]
    if note:
        lines += ["", note]
    lines += ["", f"Reproduce it with `uv run train.py --recipe {display_path(recipe.path)} --output-dir "
              f"runs/{recipe.model}` (`recipes/README.md`)."]
    return "\n".join(lines) + "\n"


def card_recipe(card: str) -> tuple[str, str] | None:
    """(recipe path, short hash) that a card names, or None."""
    match = REFERENCE.search(card)
    return None if match is None else (match["path"], match["hash"])
