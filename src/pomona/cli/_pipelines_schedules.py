"""``pomona pipelines schedule | schedules | unschedule | emit | events``."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from pomona.cli._render import cell, out, print_json, table
from pomona.cli._shared import JsonOption, RemoteWorkspaceOption, open_workspace
from pomona.errors import InvalidInputError

__all__ = ["register"]


def schedule(
    name: Annotated[str, typer.Argument(help="The schedule's name.")],
    target: Annotated[str, typer.Argument(help="FILE.py:NAME or package.module:NAME.")],
    cron: Annotated[
        str | None, typer.Option("--cron", help="A cron expression in UTC, e.g. '0 3 * * *'.")
    ] = None,
    every: Annotated[
        float | None, typer.Option("--every", metavar="SECONDS", help="Run at this interval.")
    ] = None,
    on_event: Annotated[
        str | None,
        typer.Option("--on-event", metavar="TYPE", help="Run on events of this type (glob)."),
    ] = None,
    where: Annotated[
        list[str] | None,
        typer.Option("--where", metavar="KEY=VALUE", help="Only events whose payload has it."),
    ] = None,
    param: Annotated[list[str] | None, typer.Option("--param", "-p", metavar="KEY=VALUE")] = None,
    missed: Annotated[
        str, typer.Option("--missed", help="Missed ticks: 'once' (run once) or 'skip'.")
    ] = "once",
    executor: Annotated[str | None, typer.Option("--executor", "-e")] = None,
    workspace: RemoteWorkspaceOption = None,
) -> None:
    """Start a pipeline on a cron schedule, at an interval, or on events."""
    from pomona.pipelines import parse_param_pairs

    with open_workspace(workspace) as ws:
        made = ws.pipelines.create_schedule(
            name,
            target,
            cron=cron,
            interval_s=every,
            on_event=on_event,
            event_filter=parse_param_pairs(where or []),
            params=parse_param_pairs(param or []),
            missed=missed,
            executor=executor,
        )
    out().print(f"Schedule '{made.name}' ({made.kind}) created.", markup=False)


def schedules(workspace: RemoteWorkspaceOption = None, as_json: JsonOption = False) -> None:
    """Every schedule and trigger."""
    from pomona.pipelines import _json

    with open_workspace(workspace) as ws:
        items = ws.pipelines.list_schedules()
    if as_json:
        print_json([_json.schedule_to_json(s) for s in items])
        return
    t = table("Name", "When", "Pipeline", "Missed", "Last tick")
    for s in items:
        when = s.cron or (f"every {s.interval_s:g}s" if s.interval_s else f"on {s.event_type}")
        t.add_row(
            cell(s.name),
            cell(when),
            cell(s.target.split("@")[0]),
            cell(s.missed),
            cell(s.last_tick_at.astimezone().strftime("%m-%d %H:%M:%S")),
        )
    out().print(t)


def unschedule(
    name: Annotated[str, typer.Argument(help="The schedule's name.")],
    workspace: RemoteWorkspaceOption = None,
) -> None:
    """Remove a schedule (nothing happens if it does not exist)."""
    with open_workspace(workspace) as ws:
        ws.pipelines.delete_schedule(name)
    out().print(f"Schedule '{name}' removed.", markup=False)


def emit(
    type_: Annotated[str, typer.Argument(metavar="TYPE", help="e.g. dataset.version_created")],
    payload: Annotated[
        str, typer.Option("--payload", metavar="JSON", help="The event's payload object.")
    ] = "{}",
    workspace: RemoteWorkspaceOption = None,
) -> None:
    """Record an event; triggers listening for it run their pipelines once."""
    try:
        data = json.loads(payload)
    except ValueError as exc:
        raise InvalidInputError(f"--payload is not JSON: {exc}.") from exc
    if not isinstance(data, dict):
        raise InvalidInputError("--payload must be a JSON object.")
    with open_workspace(workspace) as ws:
        event = ws.emit_event(type_, data)
    out().print(f"Event {event.event_id} ({event.type}) recorded.", markup=False)


def events(
    type_: Annotated[str | None, typer.Option("--type", help="Only events of this type.")] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, max=1000)] = 30,
    workspace: RemoteWorkspaceOption = None,
    as_json: JsonOption = False,
) -> None:
    """Recent events, newest first."""
    from pomona.pipelines import _json

    with open_workspace(workspace) as ws:
        page = ws.pipelines.list_events(type_, limit=limit)
    if as_json:
        print_json([_json.event_to_json(e) for e in page.items])
        return
    t = table("ID>", "Type", "Payload", "At")
    for e in page.items:
        t.add_row(
            cell(e.event_id),
            cell(e.type),
            cell(e.payload),
            cell(e.created_at.astimezone().strftime("%m-%d %H:%M:%S")),
        )
    out().print(t)


def register(app: typer.Typer) -> None:
    app.command("schedule")(schedule)
    app.command("schedules")(schedules)
    app.command("unschedule")(unschedule)
    app.command("emit")(emit)
    app.command("events")(events)
