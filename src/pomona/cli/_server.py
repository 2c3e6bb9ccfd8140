"""``pomona server``: serve a workspace over HTTP."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from pomona.cli._render import out
from pomona.cli._shared import WorkspaceOption, local_workspace, open_workspace, state
from pomona.errors import ConfigError

if TYPE_CHECKING:
    from pomona.client.workspace import Workspace

__all__ = ["PortOption", "dashboard_url", "serve_workspace", "server"]

PortOption = Annotated[
    int | None,
    typer.Option(
        "--port",
        "-p",
        min=1,
        max=65535,
        show_default=False,
        help="Port (default: server.port, 8000).",
    ),
]


def server(
    host: Annotated[
        str | None,
        typer.Option(
            "--host",
            show_default=False,
            help="Address to bind (default: server.host, 127.0.0.1). Beyond loopback, "
            "POMONA_TOKEN and server.allowed_hosts must be set.",
        ),
    ] = None,
    port: PortOption = None,
    workspace: WorkspaceOption = None,
) -> None:
    """Serve the workspace: REST API, dashboard, health checks and Prometheus metrics.

    Binds 127.0.0.1:8000 unless --host/--port or server.host/server.port say otherwise.
    With POMONA_TOKEN set (32 characters or more), every request needs
    'Authorization: Bearer $POMONA_TOKEN' or a dashboard login, except /healthz and
    /readyz. Stop it with Ctrl-C.
    """
    root = local_workspace(workspace, command="server")
    with open_workspace(str(root), **{"server.host": host, "server.port": port}) as ws:
        serve_workspace(ws)


def dashboard_url(host: str, port: int) -> str:
    """The URL a person on this machine opens for a server bound to ``host:port``."""
    if host in ("", "0.0.0.0", "::"):
        host = "127.0.0.1"
    elif ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}/"


def serve_workspace(ws: Workspace) -> None:
    """Print where the dashboard is, then serve ``ws`` until Ctrl-C."""
    try:
        from pomona.server.main import check_bind, serve
    except ModuleNotFoundError as exc:
        raise ConfigError(
            f"The server needs packages that are not installed ({exc.name}).",
            hint="Install them with: pip install 'pomona[server]'",
        ) from exc
    settings = ws.settings
    host, port = settings.server.host, settings.server.port
    token = settings.token.get_secret_value() if settings.token else None
    check_bind(host, token, settings.server.allowed_hosts)
    url = dashboard_url(host, port)
    console = out()
    console.print(f"Serving {settings.home} on {host}:{port}", markup=False)
    console.print(f"Dashboard: {url}", markup=False, soft_wrap=True)
    console.print(f"API docs: {url}docs   Health: {url}healthz", markup=False)
    if token:
        console.print("Every request needs the token; people log in at /login.", markup=False)
    console.print("Press Ctrl-C to stop.", style="dim")
    console.file.flush()
    serve(ws, host=host, port=port, token=token, log_level="info" if state.debug else "warning")
