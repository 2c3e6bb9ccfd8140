"""What every command shares: the global flags, common options, and finding the workspace."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from pomona.errors import ConfigError

if TYPE_CHECKING:
    from pomona.client.workspace import Workspace

__all__ = [
    "JsonOption",
    "RemoteWorkspaceOption",
    "WorkspaceOption",
    "local_workspace",
    "open_workspace",
    "state",
]


@dataclass
class _State:
    debug: bool = False


state = _State()
"""Global flags, set by the root callback and read by the error handler."""

WorkspaceOption = Annotated[
    str | None,
    typer.Option(
        "--workspace",
        "-w",
        metavar="PATH",
        show_default=False,
        help="Workspace folder. Default: the nearest one holding pomona.toml, here or above.",
    ),
]
RemoteWorkspaceOption = Annotated[
    str | None,
    typer.Option(
        "--workspace",
        "-w",
        metavar="PATH|URL",
        show_default=False,
        help="Workspace folder, or a Pomona server's URL. "
        "Default: the nearest folder holding pomona.toml, here or above; else POMONA_URI.",
    ),
]
JsonOption = Annotated[
    bool, typer.Option("--json", help="Print JSON for scripts instead of a table.")
]


def _is_url(target: str) -> bool:
    return target.startswith(("http://", "https://"))


def local_workspace(target: str | None, *, command: str) -> Path:
    """The root of the workspace ``--workspace`` names, or the one found from here upwards.

    Raises:
        ConfigError: no workspace there, or a server URL for a command that needs local stores.
    """
    if target is not None and _is_url(target):
        raise ConfigError(
            f"'pomona {command}' works on a workspace folder, not on a server ({target}).",
            hint="Run it where the workspace lives, or pass --workspace with its folder.",
        )
    return _folder(target)


def _folder(target: str | None) -> Path:
    from pomona.config import WORKSPACE_FILE, find_workspace_root

    if target is None:
        root = find_workspace_root()
        if root is None:
            raise ConfigError(
                f"No Pomona workspace in {Path.cwd()} or any folder above it.",
                hint="Run 'pomona init' to create one here, or pass --workspace PATH.",
            )
        return root
    root = Path(target).expanduser().resolve()
    if not (root / WORKSPACE_FILE).is_file():
        raise ConfigError(
            f"{root} is not a Pomona workspace: it has no {WORKSPACE_FILE}.",
            hint=f"Run 'pomona init {target}' to create one, or pass the folder holding it.",
        )
    return root


@contextmanager
def open_workspace(target: str | None, **overrides: Any) -> Iterator[Workspace]:
    """Open the workspace ``--workspace`` names (a folder or a server URL), else the one here.

    With no ``--workspace`` and no ``pomona.toml`` above, ``POMONA_URI`` selects a server.
    Unlike ``pomona.connect()``, it never creates a workspace or a database.
    """
    from pomona.client.connect import connect
    from pomona.config import find_workspace_root, load_settings

    where: str | Path | None = target if target is not None and _is_url(target) else None
    if where is None and target is None and find_workspace_root() is None:
        where = load_settings().uri
    with connect(where or _folder(target), **overrides) as ws:
        yield ws
