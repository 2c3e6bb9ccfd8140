"""Run the server with uvicorn: one process, or ``server.workers`` worker processes.

With several workers uvicorn starts each one from an import string, so each builds its own
app (``worker_app``) from the workspace folder and the parent's settings, handed over in
the environment (``_POMONA_SERVER_WORKER``, outside the ``POMONA_`` settings). Each worker
has its own serving host (models, batchers, prediction-log writer, analysis loop) and says
which process answered in the ``X-Pomona-Worker`` header (its pid).
"""

from __future__ import annotations

import ipaddress
import json
import os
import socket
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pomona.client.workspace import Workspace
from pomona.errors import ConfigError

if TYPE_CHECKING:
    from fastapi import FastAPI

__all__ = ["WORKER_ENV", "check_bind", "is_loopback", "serve", "worker_app"]

WORKER_ENV = "_POMONA_SERVER_WORKER"
"""The environment variable that hands a worker its workspace, token and settings."""


def is_loopback(host: str) -> bool:
    """Whether ``host`` only accepts connections from this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        try:
            return ipaddress.ip_address(socket.gethostbyname(host)).is_loopback
        except (OSError, ValueError):
            return False


def _loopback_name(name: str) -> bool:
    """Whether an allowed host name only ever means this machine (no DNS lookup)."""
    name = name.strip().strip("[]").lower()
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def check_bind(host: str, token: str | None, allowed_hosts: list[str]) -> None:
    """Refuse settings that would serve beyond this machine unsafely or uselessly.

    Raises:
        ConfigError: a token shorter than 32 characters; a bind beyond loopback without a
            token, or with a Host allow-list that names only loopback (every request from
            another machine would get 400).
    """
    from pomona.server._auth import check_token

    check_token(token)
    if is_loopback(host):
        return
    if not token:
        raise ConfigError(
            f"Binding {host} exposes the server beyond this machine, and no token is set.",
            hint="Set POMONA_TOKEN (every request must then carry it, or log in to the "
            "dashboard), or bind 127.0.0.1.",
        )
    if all(_loopback_name(name) for name in allowed_hosts):
        raise ConfigError(
            f"Binding {host} serves other machines, but server.allowed_hosts names only "
            f"this one ({', '.join(allowed_hosts) or 'nothing'}): it would answer 400 to them.",
            hint="List the names clients use, e.g. POMONA_SERVER_ALLOWED_HOSTS="
            "'[\"ml.example.com\"]' (or '[\"*\"]' behind a proxy that checks Host).",
            details={"field": "server.allowed_hosts"},
        )


def serve(
    ws: Workspace,
    *,
    host: str,
    port: int,
    token: str | None,
    log_level: str = "info",
    dashboard: bool = True,
) -> None:
    """Serve the workspace until interrupted.

    Raises:
        ConfigError: see ``check_bind``.
    """
    import uvicorn

    from pomona.server.app import create_app

    check_bind(host, token, ws.settings.server.allowed_hosts)
    workers = ws.settings.server.workers
    if workers <= 1:
        app = create_app(ws, token=token, dashboard=dashboard, settle_gc=True)
        uvicorn.run(app, host=host, port=port, log_level=log_level, access_log=False)
        return
    os.environ[WORKER_ENV] = json.dumps(_worker_spec(ws, token, dashboard))
    uvicorn.run(
        "pomona.server.main:worker_app",
        factory=True,
        workers=workers,
        host=host,
        port=port,
        log_level=log_level,
        access_log=False,
    )


_SKIP = object()


def _plain(value: Any) -> Any:
    """A setting's value as JSON (secrets revealed, paths as text), or ``_SKIP`` for values
    that are not plain data (nested sections)."""
    from pydantic import SecretStr

    if isinstance(value, SecretStr):
        return value.get_secret_value()
    if isinstance(value, Path):
        return str(value)
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, list | tuple):
        items = [_plain(v) for v in value]
        return _SKIP if any(v is _SKIP for v in items) else items
    if isinstance(value, dict):
        pairs = {str(k): _plain(v) for k, v in value.items()}
        return _SKIP if any(v is _SKIP for v in pairs.values()) else pairs
    return _SKIP


def _worker_spec(ws: Workspace, token: str | None, dashboard: bool) -> dict[str, Any]:
    """What a worker needs to open the same workspace with the same settings: every
    setting of each section that is plain data (scalars, and lists and tables of them such
    as ``server.allowed_hosts`` or ``datasets.allowed_roots``), as dotted overrides."""
    from pydantic import BaseModel

    settings = ws.settings
    overrides: dict[str, Any] = {}
    for name in type(settings).model_fields:
        section = getattr(settings, name)
        if not isinstance(section, BaseModel):
            continue
        for field in type(section).model_fields:
            value = _plain(getattr(section, field))
            if value is not _SKIP:
                overrides[f"{name}.{field}"] = value
    return {
        "home": str(Path(settings.home).resolve()),
        "token": token,
        "dashboard": dashboard,
        "overrides": overrides,
    }


def worker_app() -> FastAPI:
    """The app of one worker process (uvicorn's factory; see the module docstring)."""
    import atexit

    import pomona
    from pomona.server.app import create_app

    spec = json.loads(os.environ[WORKER_ENV])
    ws = pomona.connect(spec["home"], **spec["overrides"])
    atexit.register(ws.close)
    app = create_app(ws, token=spec["token"], dashboard=spec["dashboard"], settle_gc=True)
    app.add_middleware(_SayWhichWorker)
    return app


class _SayWhichWorker:
    """Pure ASGI middleware adding ``X-Pomona-Worker: <pid>`` to every HTTP response."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.header = (b"x-pomona-worker", str(os.getpid()).encode())

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_pid(message: Any) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), self.header]
            await send(message)

        await self.app(scope, receive, send_with_pid)
