"""The in-browser page (``web/``, built into ``web/dist/`` by ``web/build.sh``), served by the app at ``/web/``.

The page runs ``fast`` and ``fast-real`` with onnxruntime-web in the visitor's browser; the app only serves its
static files. When the page is not built (no npm on this machine, or a Space deployed without it), there is no route
and the header carries no link.
"""

from __future__ import annotations

from pathlib import Path

from starlette.routing import Mount
from starlette.staticfiles import StaticFiles

#: Where ``web/build.sh`` writes the page: beside the package in a checkout of the repository.
WEB_DIST = Path(__file__).resolve().parents[2] / "web" / "dist"
#: The route, and the header's link to it (relative, so it also works under a proxy's root path).
WEB_ROUTE = "/web"
WEB_LINK = "web/"


def web_page_built(folder: Path = WEB_DIST) -> bool:
    """True when ``folder`` holds a built page (its index and the list of models it offers)."""
    return (folder / "index.html").is_file() and (folder / "models.json").is_file()


def web_routes(folder: Path = WEB_DIST) -> list[Mount]:
    """The page's route for the app's FastAPI (``launch(app_kwargs={"routes": ...})``); none when not built."""
    if not web_page_built(folder):
        return []
    return [Mount(WEB_ROUTE, app=StaticFiles(directory=folder, html=True), name="web")]
