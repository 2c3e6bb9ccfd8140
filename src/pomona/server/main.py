"""Run the server with uvicorn."""

from __future__ import annotations

import ipaddress
import socket

from pomona.client.workspace import Workspace
from pomona.errors import ConfigError

__all__ = ["is_loopback", "serve"]


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
        ConfigError: bound beyond loopback without a token.
    """
    import uvicorn

    from pomona.server.app import create_app

    if not is_loopback(host) and not token:
        raise ConfigError(
            f"Binding {host} exposes the server beyond this machine, and no token is set.",
            hint="Set POMONA_TOKEN (every write must then carry it), or bind 127.0.0.1.",
        )
    app = create_app(ws, token=token, dashboard=dashboard)
    uvicorn.run(app, host=host, port=port, log_level=log_level, access_log=False)
