"""Optional parts and the extras that install them: a clear error when a part is used without its extra.

``pip install facesr-hub`` brings only what ``load_generator`` / ``upscale`` / ``facesr upscale`` need. The rest
comes with extras (``pyproject.toml``): ``[app]`` (the Gradio app and its whole-photo face detection), ``[train]``
(training, evaluation, metrics), ``[onnx]`` (ONNX export and ONNX Runtime), ``[baselines]`` (Real-ESRGAN), ``[mcp]``.
Each entry point calls ``require`` before importing what its extra installs, so a missing extra reads as

    ImportError: facesr_hub.app needs the [app] extra: pip install "facesr-hub[app]" (gradio is not installed)

rather than a bare ``No module named 'gradio'``. ``require`` only looks the modules up (nothing is imported), so a
guard costs nothing when the extra is installed.
"""

from __future__ import annotations

import importlib.util
import os
import sys

__all__ = ["MissingExtraError", "install_command", "missing", "require"]


class MissingExtraError(ModuleNotFoundError):
    """A module that an optional part of facesr_hub needs is not installed; the message names the extra.

    A ``ModuleNotFoundError`` (so an ``ImportError``): code that already catches those, or ``pytest.importorskip``,
    keeps working. ``extra`` is the extra's name and ``name`` the first missing module.
    """

    def __init__(self, message: str, *, extra: str, name: str) -> None:
        super().__init__(message, name=name)
        self.extra = extra


def install_command(extra: str) -> str:
    """The pip command that installs ``extra``, e.g. ``pip install "facesr-hub[app]"``."""
    return f'pip install "facesr-hub[{extra}]"'


def missing(*modules: str) -> list[str]:
    """The modules among ``modules`` that cannot be found (looked up, not imported)."""
    absent = []
    for module in modules:
        if module in sys.modules and sys.modules[module] is not None:
            continue
        try:
            found = importlib.util.find_spec(module) is not None
        except (ImportError, ValueError):  # a missing parent package, or a module whose __spec__ is None
            found = False
        if not found:
            absent.append(module)
    return absent


def require(extra: str, *modules: str, feature: str | None = None) -> None:
    """Raise ``MissingExtraError`` naming ``extra`` unless every one of ``modules`` is installed.

    ``feature`` is what needs them, for the message (default: the calling module's name, e.g. ``facesr_hub.app``).
    Call it before the imports it guards::

        require("app", "gradio")
        import gradio as gr
    """
    if not modules:
        raise ValueError("require() needs at least one module name")
    absent = missing(*modules)
    if not absent:
        return
    if feature is None:
        feature = _caller_name(sys._getframe(1).f_globals)
    which = ", ".join(absent)
    verb = "is" if len(absent) == 1 else "are"
    raise MissingExtraError(f"{feature} needs the [{extra}] extra: {install_command(extra)} ({which} {verb} not "
                            f"installed; in a checkout of the repository, `uv sync` installs every extra)",
                            extra=extra, name=absent[0])


def _caller_name(caller: dict) -> str:
    """``facesr_hub.app`` for a module, ``facesr_hub.evaluate`` under ``python -m``, ``train.py`` for a script."""
    name = caller.get("__name__")
    if name == "__main__":
        spec = caller.get("__spec__")
        name = spec.name if spec is not None else os.path.basename(caller.get("__file__") or "") or None
    return name or "this part of facesr_hub"
