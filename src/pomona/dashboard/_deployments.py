"""``/deployments``: every deployment across environments and regions, what it serves, and
each rollout decision with its evidence."""

from __future__ import annotations

import json

from fastapi import APIRouter, Request
from starlette.responses import HTMLResponse

from pomona.client.workspace import Workspace
from pomona.dashboard._render import error_page, render
from pomona.errors import ConfigError, PomonaError
from pomona.serving.base import DeploymentsAPI

__all__ = ["deployments_pages"]


def _status(request: Request) -> dict[str, object]:
    host = getattr(request.app.state, "serving", None)
    return {} if host is None else dict(host.status())


def deployments_pages(ws: Workspace) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    def service() -> DeploymentsAPI:
        found = getattr(ws, "deployments", None)
        if not isinstance(found, DeploymentsAPI):
            raise ConfigError("This workspace has no deployments service.")
        return found

    @router.get("/deployments")
    def deployments(request: Request) -> HTMLResponse:
        try:
            items = list(service().list(limit=1000))
        except PomonaError as exc:
            return error_page(exc)
        places = sorted({(d.environment, d.region) for d in items})
        return render(
            "deployments.html",
            title="Deployments",
            active="deployments",
            deployments=items,
            places=places,
            health=_status(request),
        )

    @router.get("/deployments/{name}")
    def deployment(name: str, request: Request) -> HTMLResponse:
        try:
            dep = service().get(name)
            decisions = list(service().decisions(name, limit=200))
        except PomonaError as exc:
            return error_page(exc)
        evidence = [json.dumps(d.evidence, indent=2, default=str) for d in decisions]
        return render(
            "deployment.html",
            title=name,
            active="deployments",
            dep=dep,
            decisions=list(zip(decisions, evidence, strict=True)),
            health=_status(request).get(name),
        )

    return router
