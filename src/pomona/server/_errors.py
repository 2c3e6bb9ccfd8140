"""Errors rendered in one place: ``{"error": {"code", "message", "hint", "details"}}``."""

from __future__ import annotations

import logging
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.responses import Response

from pomona.errors import PomonaError
from pomona.server._responses import new_request_id

__all__ = ["error_response", "install_error_handlers"]

log = logging.getLogger("pomona.server")


def error_response(
    status: int,
    code: str,
    message: str,
    hint: str | None = None,
    details: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    body = {"error": {"code": code, "message": message, "hint": hint, "details": details or {}}}
    return Response(
        orjson.dumps(body), status_code=status, media_type="application/json", headers=headers
    )


async def _pomona_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, PomonaError)
    if exc.http_status >= 500:
        log.warning("%s %s failed: %s", request.method, request.url.path, exc.message)
    return error_response(exc.http_status, exc.code, exc.message, exc.hint, exc.details)


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors = exc.errors()
    first = errors[0] if errors else {"loc": (), "msg": "invalid request"}
    loc = [str(p) for p in first.get("loc", ()) if p not in ("body", "query", "path")]
    field = ".".join(loc) or "body"
    return error_response(
        422,
        "invalid_input",
        f"Invalid request: '{field}': {first.get('msg', 'invalid')}.",
        hint="See the OpenAPI document at /docs for the expected shape.",
        details={"field": field, "errors": [_plain(e) for e in errors[:20]]},
    )


def _plain(error: Any) -> dict[str, Any]:
    return {"loc": [str(p) for p in error.get("loc", ())], "msg": str(error.get("msg", ""))}


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    code = {404: "not_found", 405: "method_not_allowed", 401: "unauthorized"}.get(
        exc.status_code, "http_error"
    )
    return error_response(exc.status_code, code, str(exc.detail), headers=dict(exc.headers or {}))


async def _unexpected(request: Request, exc: Exception) -> Response:
    request_id = getattr(request.state, "request_id", None) or new_request_id()
    log.error("request %s failed", request_id, exc_info=exc)
    return error_response(
        500,
        "internal_error",
        f"Internal error (request id {request_id}).",
        hint="The server log has the details under this request id.",
        details={"request_id": request_id},
    )


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(PomonaError, _pomona_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
