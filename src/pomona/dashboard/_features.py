"""``/features``: feature views, entities and services; a view's per-feature statistics."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.responses import HTMLResponse, Response

from pomona.client.workspace import Workspace
from pomona.dashboard._render import error_page, render
from pomona.errors import InvalidInputError, PomonaError
from pomona.features.base import FeaturesAPI
from pomona.types import parse_version_number

__all__ = ["features_pages"]


def features_page(api: FeaturesAPI) -> HTMLResponse:
    return render(
        "features.html",
        title="Features",
        active="features",
        views=list(api.list_feature_views(limit=1000)),
        entities=list(api.list_entities(limit=1000)),
        services=list(api.list_feature_services(limit=1000)),
    )


def view_page(api: FeaturesAPI, name: str, version: int | None) -> HTMLResponse:
    info = api.get_feature_view(name, version=version)
    return render("feature_view.html", title=name, active="features", info=info)


def features_pages(ws: Workspace) -> APIRouter:
    """The pages over ``ws.features``; errors render as pages."""
    router = APIRouter(include_in_schema=False)

    @router.get("/features")
    def features() -> Response:
        try:
            return features_page(ws.features)
        except PomonaError as exc:
            return error_page(exc)

    @router.get("/features/{name}")
    def view(name: str, version: str | None = None) -> Response:
        try:
            number = None if version is None else parse_version_number(version)
            if version is not None and number is None:
                raise InvalidInputError(f"'{version}' is not a version number (1, 2, …).")
            return view_page(ws.features, name, number)
        except PomonaError as exc:
            return error_page(exc)

    return router
