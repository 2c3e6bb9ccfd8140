"""``/static/…``: the dashboard's own CSS and JS, and plotly.js from the installed plotly."""

from __future__ import annotations

import importlib.util
from functools import cache
from pathlib import Path

from fastapi import APIRouter
from starlette.responses import FileResponse, PlainTextResponse, Response

__all__ = ["assets_router", "plotly_js"]

STATIC = Path(__file__).parent / "static"
_OWN = {"dashboard.css": "text/css", "dashboard.js": "text/javascript"}


@cache
def plotly_js() -> Path | None:
    """``plotly/package_data/plotly.min.js`` of the installed plotly (not imported)."""
    spec = importlib.util.find_spec("plotly")
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        path = Path(folder) / "package_data" / "plotly.min.js"
        if path.is_file():
            return path
    return None


def assets_router() -> APIRouter:
    router = APIRouter(prefix="/static", include_in_schema=False)

    @router.get("/plotly.min.js")
    def plotly() -> Response:
        path = plotly_js()
        if path is None:
            return PlainTextResponse(
                "plotly is not installed: pip install 'pomona[server]'", status_code=404
            )
        return FileResponse(
            path,
            media_type="text/javascript; charset=utf-8",
            headers={"Cache-Control": "public, max-age=86400"},
        )

    @router.get("/{name}")
    def own(name: str) -> Response:
        media_type = _OWN.get(name)
        if media_type is None:
            return PlainTextResponse(f"No static file '{name}'.", status_code=404)
        return FileResponse(
            STATIC / name,
            media_type=f"{media_type}; charset=utf-8",
            headers={"Cache-Control": "no-cache"},
        )

    return router
