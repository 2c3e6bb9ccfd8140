"""One request-body limit for every route, enforced before the route reads anything.

``Content-Length`` over the limit is answered 413 before a byte of the body is read; a body
without one (``Transfer-Encoding: chunked``) is counted as the route reads it and cut off at
the limit, answered 413 as well. Two limits: ``server.max_body_mb`` for every route, and
``server.max_upload_mb`` for the routes that stream an upload to disk in chunks (run
artifacts, model files, pipeline blobs, dataset upload batches), never into memory.
"""

from __future__ import annotations

import re

import orjson
from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pomona.config import ServerSettings

__all__ = ["UPLOAD_ROUTES", "BodyLimits", "install_body_limits"]

MIB = 1024 * 1024

UPLOAD_ROUTES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("PUT", re.compile(r"^/api/v1/runs/[^/]+/artifacts/.+$")),
    ("POST", re.compile(r"^/api/v1/model-blobs/?$")),
    ("PUT", re.compile(r"^/api/v1/pipelines/blobs/?$")),
    ("POST", re.compile(r"^/api/v1/datasets/uploads/blobs/?$")),
)
"""Method and path of the routes that spool their body to disk (``server.max_upload_mb``)."""


class _TooLarge(Exception):
    """Raised into the route when a streamed body passes the limit."""


class BodyLimits:
    """Pure ASGI middleware: 413 for a body over its route's limit, read or not.

    A declared ``Content-Length`` within the limit needs no counting (the HTTP server
    delivers no more than it declares); a body without one is counted chunk by chunk.
    Whatever the route makes of the cut-off stream (a parse error, a 400), the client gets
    the 413.
    """

    def __init__(self, app: ASGIApp, max_body: int, max_upload: int) -> None:
        self.app = app
        self.max_body = max_body
        self.max_upload = max_upload

    def limit(self, method: str, path: str) -> tuple[int, str]:
        """The byte limit of a request, and the setting that sets it."""
        for upload_method, pattern in UPLOAD_ROUTES:
            if method == upload_method and pattern.match(path):
                return self.max_upload, "server.max_upload_mb"
        return self.max_body, "server.max_body_mb"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit, setting = self.limit(scope["method"], scope["path"])
        declared = _content_length(scope)
        if declared is not None:
            if declared > limit:
                await _refuse(send, limit, setting, declared)
                return
            await self.app(scope, receive, send)
            return
        await _counted(self.app, scope, receive, send, limit, setting)


async def _counted(
    app: ASGIApp, scope: Scope, receive: Receive, send: Send, limit: int, setting: str
) -> None:
    """Run ``app`` with a ``receive`` that stops at ``limit`` bytes of body."""
    received = 0
    exceeded = started = replaced = False

    async def limited_receive() -> Message:
        nonlocal received, exceeded
        if exceeded:
            raise _TooLarge
        message = await receive()
        if message["type"] == "http.request":
            received += len(message.get("body", b""))
            if received > limit:
                exceeded = True
                raise _TooLarge
        return message

    async def guarded_send(message: Message) -> None:
        nonlocal started, replaced
        if replaced:
            return
        if message["type"] == "http.response.start":
            if exceeded:  # the route answered its own error about the cut-off body
                replaced = True
                await _refuse(send, limit, setting, None)
                return
            started = True
        await send(message)

    try:
        await app(scope, limited_receive, guarded_send)
    except _TooLarge:
        if not started and not replaced:
            await _refuse(send, limit, setting, None)
    except Exception:
        if not exceeded or started or replaced:
            raise
        await _refuse(send, limit, setting, None)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            return int(value) if value.isdigit() else None
    return None


async def _refuse(send: Send, limit: int, setting: str, declared: int | None) -> None:
    message = (
        f"The request body has {declared} bytes; this route takes at most {limit} ({setting})."
        if declared is not None
        else f"The request body is over {limit} bytes, the most this route takes ({setting})."
    )
    body = orjson.dumps(
        {
            "error": {
                "code": "invalid_input",
                "message": message,
                "hint": f"Send a smaller body, or raise {setting} in the server's settings.",
                "details": {"field": "body", "limit": limit, "setting": setting},
            }
        }
    )
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def install_body_limits(app: FastAPI, settings: ServerSettings) -> None:
    """Add the body-limit middleware with the limits of ``settings``."""
    app.add_middleware(
        BodyLimits,
        max_body=int(settings.max_body_mb * MIB),
        max_upload=int(settings.max_upload_mb * MIB),
    )
