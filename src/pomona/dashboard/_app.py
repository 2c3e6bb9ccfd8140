"""``/app/{deployment}``: the upload page — drop a photo, see the grade, send the true one.

The page calls the inference API itself (``/v1/deployments/{name}/predict`` with the photo
as multipart, then ``/v1/deployments/{name}/feedback``) from ``/static/serving/upload.js``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import FileResponse, HTMLResponse, Response

from pomona.dashboard._render import error_page, render
from pomona.errors import NotFoundError, PomonaError

__all__ = ["app_pages"]

UPLOAD_JS = Path(__file__).parent / "static" / "serving" / "upload.js"


def _model_info(request: Request, name: str) -> dict[str, Any]:
    host = getattr(request.app.state, "serving", None)
    if host is None:
        raise NotFoundError("This server does not serve predictions.")
    route = host.route(name)
    runtime = route.primary.runtime
    return {"model": runtime.ref, "classes": runtime.classes or [], "spec": runtime.spec}


def app_pages() -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.get("/app/{name}")
    def upload_page(name: str, request: Request) -> HTMLResponse:
        try:
            info = _model_info(request, name)
        except PomonaError as exc:
            return error_page(exc)
        return render(
            "app.html",
            title=f"{name} · grade a photo",
            active="deployments",
            name=name,
            model=info["model"],
            classes=info["classes"],
            is_image=info["spec"].is_image,
        )

    @router.get("/static/serving/upload.js")
    def upload_js() -> Response:
        return FileResponse(
            UPLOAD_JS,
            media_type="text/javascript; charset=utf-8",
            headers={"Cache-Control": "no-cache"},
        )

    return router
