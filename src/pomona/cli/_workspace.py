"""Workspace commands: ``init``, ``config show``, ``db upgrade`` and ``gc``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from pomona.cli._render import cell, out, print_json, table
from pomona.cli._shared import JsonOption, WorkspaceOption, local_workspace, open_workspace

__all__ = ["config_app", "db_app", "gc", "init"]

config_app = typer.Typer(help="Inspect the workspace's settings.", no_args_is_help=True)
db_app = typer.Typer(help="Manage the metadata database.", no_args_is_help=True)

_SOURCE_STYLE = {"default": "dim", "env": "yellow", "argument": "cyan", "pomona.toml": "green"}


def _display_url(url: str, root: Path) -> str:
    """A database or artifact URL for people: paths relative to the workspace, no password."""
    for prefix in ("sqlite:///", "file://"):
        if url.startswith(prefix):
            path = Path(url.removeprefix(prefix))
            return str(path.relative_to(root)) if path.is_relative_to(root) else str(path)
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # not an SQLAlchemy URL (s3://…): nothing secret in it
        return url


def init(
    path: Annotated[
        Path,
        typer.Argument(
            metavar="PATH", help="Folder to make a workspace of.", show_default="the current one"
        ),
    ] = Path("."),
) -> None:
    """Create a workspace: pomona.toml, the .pomona/ folder and its database.

    Safe to run again: an existing workspace is left as it is.
    """
    from rich.markup import escape

    from pomona.client.connect import init_workspace
    from pomona.config import WORKSPACE_FILE, load_settings

    root = path.expanduser().resolve()
    had_file = (root / WORKSPACE_FILE).is_file()
    root, new_database = init_workspace(root)
    settings = load_settings(root)
    console = out()
    if had_file and not new_database:
        console.print(
            f"The workspace in {root} is already initialised; nothing changed.", markup=False
        )
        return
    console.print(f"Initialised a Pomona workspace in [bold]{escape(str(root))}[/bold]:")
    if not had_file:
        console.print(f"  {WORKSPACE_FILE:<12} settings of this project (edit it, commit it)")
    console.print("  .pomona/     local state, ignored by git")
    if new_database:
        console.print(f"  database     {_display_url(settings.metadata_url, root)}", markup=False)
    console.print(f"  artifacts    {_display_url(settings.artifacts_url, root)}", markup=False)
    console.print(
        "Next: [bold]pomona demo tracking[/bold] trains a few models and opens the dashboard."
    )


@config_app.command("show")
def config_show(workspace: WorkspaceOption = None, as_json: JsonOption = False) -> None:
    """Show every effective setting, its value, and where the value came from.

    Sources, strongest first: argument, env (POMONA_*), pomona.toml, user config, default.
    """
    from pomona.config import explain_settings, find_workspace_root, load_settings

    root = local_workspace(workspace, command="config show") if workspace else None
    rows = explain_settings(root)
    if as_json:
        print_json([{"key": r.key, "value": r.value, "source": r.source} for r in rows])
        return
    settings = load_settings(root)
    implied = {
        "metadata.url": _display_url(settings.metadata_url, settings.home),
        "artifacts.url": _display_url(settings.artifacts_url, settings.home),
    }
    t = table("Key", "Value", "Source")
    for r in rows:
        value = cell(r.value)
        if r.value == "" and r.key in implied:
            value.append(f"  (means {implied[r.key]})", style="dim")
        t.add_row(cell(r.key), value, cell(r.source, _SOURCE_STYLE.get(r.source, "")))
    console = out()
    console.print(t)
    if root is None and find_workspace_root() is None:
        console.print(
            f"No pomona.toml in {Path.cwd()} or above: these are the defaults.",
            style="dim",
            markup=False,
        )


@db_app.command("upgrade")
def db_upgrade(
    workspace: WorkspaceOption = None,
    yes: Annotated[
        bool, typer.Option("--yes", "-y", help="Do not ask before migrating PostgreSQL.")
    ] = False,
) -> None:
    """Back the metadata database up, then migrate it to this Pomona's schema.

    SQLite is copied to .pomona/backups first. PostgreSQL is not copied: the pg_dump
    command is printed. A missing database is an error; this never creates one.
    """
    from pomona.client.connect import upgrade_database
    from pomona.config import load_settings

    root = local_workspace(workspace, command="db upgrade")
    url = load_settings(root).metadata_url
    if not url.startswith("sqlite") and not yes:
        typer.confirm(
            f"Pomona does not back up {_display_url(url, root)} itself; "
            "make a backup (pg_dump) before going on. Migrate now?",
            abort=True,
        )
    result = upgrade_database(root)
    console = out()
    if Path(result.backup).is_file():
        console.print(f"Backed up the database to {result.backup}", markup=False)
    else:
        console.print(f"Backup: {result.backup}", markup=False)
    if result.before == result.after:
        console.print(f"Schema revision {result.after}: already up to date.")
    else:
        console.print(f"Schema revision {result.before or 'none'} → {result.after}: upgraded.")


def gc(
    workspace: WorkspaceOption = None,
    grace: Annotated[
        str | None,
        typer.Option(
            "--grace",
            metavar="DURATION",
            help="Keep unreferenced blobs younger than this ('24h', '30m', '0'; a number is "
            "seconds): an ingest or upload in flight stores its blobs before its records.",
            show_default="artifacts.gc_grace_hours, 24h",
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Purge deleted runs for good and free the artifact storage no record refers to.

    Runs deleted with 'pomona runs delete' can no longer be restored afterwards.
    Files another record still refers to are kept; so are unreferenced blobs younger
    than the grace period (what a killed ingest left behind goes once it is older).
    """
    from pomona.client.connect import gc as collect

    grace_s = None if grace is None else _grace_seconds(grace)
    with open_workspace(local_workspace(workspace, command="gc").as_posix()) as ws:
        result = collect(ws, grace_s=grace_s)
    if as_json:
        print_json(
            {
                "runs_purged": result.runs_purged,
                "blobs_freed": result.blobs_freed,
                "unreferenced_freed": result.unreferenced_freed,
                "grace_s": result.grace_s,
            }
        )
        return
    runs = "run" if result.runs_purged == 1 else "runs"
    blobs = "blob" if result.blobs_freed == 1 else "blobs"
    orphans = (
        f" {result.unreferenced_freed} of them no record referred to (stored more than "
        f"{result.grace_s:g} s ago)."
        if result.unreferenced_freed
        else ""
    )
    out().print(
        f"Purged {result.runs_purged} deleted {runs}; freed {result.blobs_freed} artifact "
        f"{blobs}.{orphans}"
    )


def _grace_seconds(value: str) -> float:
    from pomona.monitoring.rules import parse_duration

    return parse_duration(value, "--grace")
