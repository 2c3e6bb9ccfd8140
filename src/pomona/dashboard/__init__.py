"""Server-rendered dashboard pages: runs list, run detail, run comparison."""

from __future__ import annotations

from fastapi import APIRouter, Depends, FastAPI, Request
from starlette.responses import RedirectResponse, Response

from pomona.client.workspace import Workspace
from pomona.dashboard._app import app_pages
from pomona.dashboard._assets import assets_router
from pomona.dashboard._compare import compare_page
from pomona.dashboard._datasets import datasets_pages
from pomona.dashboard._deployments import deployments_pages
from pomona.dashboard._detail import run_page
from pomona.dashboard._features import features_pages
from pomona.dashboard._models import models_pages
from pomona.dashboard._monitoring import monitoring_pages
from pomona.dashboard._pipelines import pipelines_pages
from pomona.dashboard._render import error_page, login_page, note_viewer
from pomona.dashboard._runs import runs_page
from pomona.dashboard._studies import training_pages
from pomona.errors import PomonaError

__all__ = ["login_page", "mount_dashboard"]


def mount_dashboard(app: FastAPI, ws: Workspace) -> None:
    """Mount the dashboard pages on ``app``: ``/``, ``/runs``, ``/runs/{run_id}``, ``/compare``.

    Errors render as pages (404 for an unknown run), not as the API's JSON.
    """
    service = ws.runs
    router = APIRouter(include_in_schema=False)

    @router.get("/")
    def home() -> Response:
        return RedirectResponse("/runs", status_code=307)

    @router.get("/runs")
    def runs(request: Request) -> Response:
        try:
            return runs_page(service, request.query_params)
        except PomonaError as exc:
            return error_page(exc)

    @router.get("/runs/{run_id}")
    def run(run_id: str) -> Response:
        try:
            return run_page(service, run_id)
        except PomonaError as exc:
            return error_page(exc)

    @router.get("/compare")
    def compare(request: Request) -> Response:
        try:
            return compare_page(service, request.query_params.getlist("run_id"))
        except PomonaError as exc:
            return error_page(exc)

    pages = [
        router,
        datasets_pages(ws),
        features_pages(ws),
        pipelines_pages(ws),
        models_pages(ws),
        training_pages(ws),
        deployments_pages(ws),
        monitoring_pages(ws),
        app_pages(),
    ]
    for page in pages:
        app.include_router(page, dependencies=[Depends(note_viewer)])
    app.include_router(assets_router())
