"""``pomona runs``: list, show, compare, delete and restore tracked runs."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Annotated, Any

import typer

from pomona.cli._render import (
    cell,
    fmt_duration,
    fmt_size,
    fmt_time,
    fmt_value,
    out,
    print_json,
    short_id,
    status_cell,
    table,
)
from pomona.cli._shared import JsonOption, RemoteWorkspaceOption, open_workspace
from pomona.errors import InvalidInputError, RunNotFoundError

if TYPE_CHECKING:
    from rich.table import Table

    from pomona.tracking.base import TrackingAPI
    from pomona.types import Page, Run

__all__ = ["find_run", "runs_app"]

runs_app = typer.Typer(
    help="List, inspect, compare, delete and restore tracked runs.", no_args_is_help=True
)

RunIds = Annotated[
    list[str],
    typer.Argument(
        help="Run ids, or their first characters.", metavar="RUN_ID", show_default=False
    ),
]
_MAX_METRIC_COLUMNS = 8
_HEX = frozenset("0123456789abcdef")


def find_run(api: TrackingAPI, text: str) -> Run:
    """The run with this id, or with the only id starting with ``text`` (deleted ones too).

    Raises:
        RunNotFoundError: no run matches.
        InvalidInputError: the prefix matches more than one run.
    """
    key = text.strip().lower()
    if len(key) == 32:
        return api.get_run(key)
    if not key or len(key) > 32 or not set(key) <= _HEX:
        raise RunNotFoundError(text)
    page = api.search_runs(f"run_id like '{key}%'", include_deleted=True, limit=2)
    if not page.items:
        raise RunNotFoundError(text)
    if len(page.items) > 1:
        raise InvalidInputError(
            f"More than one run id starts with '{text}'.",
            hint="Give more characters of the id ('pomona runs list' shows them).",
            details={"field": "run_id"},
        )
    return page.items[0]


@runs_app.command("list")
def list_runs(
    filter_: Annotated[
        str | None,
        typer.Option(
            "--filter",
            "-f",
            metavar="EXPR",
            help="Only runs matching EXPR, "
            "e.g. \"metrics.accuracy > 0.9 and params.model = 'rf'\".",
        ),
    ] = None,
    experiment: Annotated[
        str | None, typer.Option("--experiment", "-e", help="Only runs of this experiment.")
    ] = None,
    order_by: Annotated[
        list[str] | None,
        typer.Option(
            "--order-by",
            "-o",
            metavar="FIELD [asc|desc]",
            help="Sort, e.g. 'metrics.accuracy desc'; repeat to break ties. Default: newest first.",
        ),
    ] = None,
    limit: Annotated[
        int, typer.Option("--limit", "-n", min=1, max=10_000, help="Runs per page.")
    ] = 50,
    page_token: Annotated[
        str | None, typer.Option("--page-token", help="Continue a listing where it stopped.")
    ] = None,
    include_deleted: Annotated[
        bool, typer.Option("--all", "-a", help="Include deleted runs.")
    ] = False,
    workspace: RemoteWorkspaceOption = None,
    as_json: JsonOption = False,
) -> None:
    """List runs, newest first, with their latest metrics.

    Filter fields: metrics.KEY, params.KEY, tags.KEY, name, status, experiment, run_id;
    operators: = != < <= > >= like in, is null; combine with and, or, parentheses.
    """
    from pomona.client._codec import page_to_json

    with open_workspace(workspace) as ws:
        targets = sorted(ws.settings.project.targets, key=lambda target: target.priority)
        page = ws.runs.search_runs(
            filter_,
            experiment=experiment,
            order_by=order_by or (),
            limit=limit,
            page_token=page_token,
            include_deleted=include_deleted,
        )
    if as_json:
        print_json(page_to_json(page))
        return
    _print_page(page, _preferred_metrics(order_by or [], [t.name for t in targets]))


def _preferred_metrics(order_by: list[str], targets: list[str]) -> list[str]:
    """Metrics worth a column first: those sorted by, then the project's targets."""
    sorted_by = []
    for clause in order_by:
        field = clause.split()[0] if clause.split() else ""
        if field.startswith("metrics."):
            sorted_by.append(field.removeprefix("metrics.").strip("`"))
    return [*sorted_by, *targets]


def _metric_columns(runs: list[Run], preferred: list[str], budget: int) -> list[str]:
    """As many metric columns as fit in ``budget`` characters, preferred ones first."""
    logged = {k for r in runs for k in r.metrics}
    keys = [k for k in dict.fromkeys([*preferred, *sorted(logged)]) if k in logged]
    chosen: list[str] = []
    for key in keys[:_MAX_METRIC_COLUMNS]:
        width = max(len(key), *(len(fmt_value(r.metrics.get(key))) for r in runs)) + 3
        if chosen and width > budget:
            break
        chosen.append(key)
        budget -= width
    return chosen


def _print_page(page: Page[Run], preferred: list[str]) -> None:
    console = out()
    runs = list(page.items)
    if not runs:
        console.print("No runs match.", markup=False)
        console.print(
            "Log one with 'with pm.start_run(): ...', or run 'pomona demo tracking'.",
            style="dim",
            markup=False,
        )
        return
    experiments = len({r.experiment for r in runs}) > 1
    name_width = min(24, max(len("Name"), *(len(r.name) for r in runs)))
    used = 8 + name_width + 9 + 11 + 8 + 5 * 3  # id, name, status, started, duration
    if experiments:
        used += max(len("Experiment"), *(len(r.experiment) for r in runs)) + 3
    metric_keys = _metric_columns(runs, preferred, console.width - used)
    names = ["ID", "Name", *(["Experiment"] if experiments else []), "Status", "Started"]
    t = table(*names, "Duration>", *(f"{k}>" for k in metric_keys))
    t.columns[0].min_width = 8  # the id people type: never shortened
    t.columns[1].min_width = min(name_width, 16)
    for r in runs:
        t.add_row(
            cell(short_id(r.run_id), "cyan"),
            cell(r.name, "dim strike" if r.deleted else ""),
            *([cell(r.experiment)] if experiments else []),
            status_cell(r.status.value, deleted=r.deleted, short=True),
            cell(fmt_time(r.start_at, short=True)),
            cell(fmt_duration(r.start_at, r.end_at)),
            *(cell(r.metrics.get(k)) for k in metric_keys),
        )
    console.print(t)
    shown = f"{len(runs)} of {page.total} runs" if page.total is not None else f"{len(runs)} runs"
    console.print(shown, style="dim", markup=False)
    if page.next_page_token:
        console.print(
            f"More: add --page-token {page.next_page_token} to the same command.",
            style="dim",
            markup=False,
        )


@runs_app.command("show")
def show(
    run_id: Annotated[str, typer.Argument(help="Run id, or its first characters.")],
    workspace: RemoteWorkspaceOption = None,
    as_json: JsonOption = False,
) -> None:
    """Show one run: attributes, params, metrics, tags and artifacts."""
    from pomona.client._codec import artifact_to_json, run_to_json

    with open_workspace(workspace) as ws:
        run = find_run(ws.runs, run_id)
        artifacts = ws.runs.list_artifacts(run.run_id)
    if as_json:
        print_json({**run_to_json(run), "artifacts": [artifact_to_json(a) for a in artifacts]})
        return
    from rich.table import Table

    console = out()
    grid = Table.grid(padding=(0, 2))
    rows = [
        ("Run", cell(run.run_id, "cyan")),
        ("Name", cell(run.name)),
        ("Experiment", cell(run.experiment)),
        ("Status", status_cell(run.status.value, deleted=run.deleted)),
        ("Started", cell(fmt_time(run.start_at))),
        ("Ended", cell(fmt_time(run.end_at))),
        ("Duration", cell(fmt_duration(run.start_at, run.end_at))),
        ("Parent", cell(run.parent_run_id) if run.parent_run_id else None),
        ("Source", cell(run.source) if run.source else None),
        ("Git commit", cell(_commit(run)) if run.git_commit else None),
    ]
    for key, value in rows:
        if value is not None:
            grid.add_row(cell(key, "bold"), value)
    console.print(grid)
    for title, mapping in (("Params", run.params), ("Metrics", run.metrics), ("Tags", run.tags)):
        console.print()
        console.print(_key_values(title, mapping))
    files = table("Path", "Size>", "Digest", title="Artifacts")
    for a in artifacts:
        files.add_row(cell(a.path), cell(fmt_size(a.size)), cell(a.digest[:19] + "…", "dim"))
    console.print()
    console.print(files if artifacts else _empty("Artifacts"))


def _commit(run: Run) -> str | None:
    if run.git_commit is None:
        return None
    return run.git_commit[:12] + (" (uncommitted changes)" if run.git_dirty else "")


def _empty(title: str) -> str:
    return f"[bold]{title}[/bold]: [dim]none[/dim]"


def _key_values(title: str, mapping: dict[str, Any]) -> Table | str:
    if not mapping:
        return _empty(title)
    t = table("Key", "Value>" if title == "Metrics" else "Value", title=title)
    for key in sorted(mapping):
        t.add_row(cell(key), cell(mapping[key]))
    return t


@runs_app.command("compare")
def compare(
    run_ids: RunIds,
    workspace: RemoteWorkspaceOption = None,
    as_json: JsonOption = False,
) -> None:
    """Compare runs side by side: params and metrics, rows that differ marked with ≠."""
    from pomona.client._codec import run_to_json

    if len(run_ids) < 2:
        raise typer.BadParameter("give two or more runs to compare", param_hint="RUN_ID")
    with open_workspace(workspace) as ws:
        runs = [find_run(ws.runs, r) for r in run_ids]
    rows = _compare_rows(runs)
    if as_json:
        print_json(
            {
                "runs": [run_to_json(r) for r in runs],
                "rows": [
                    {
                        "key": key,
                        "values": [_jsonable(v) for v in values],
                        "differs": _differs(values),
                    }
                    for _, key, values in rows
                ],
            }
        )
        return
    from rich.text import Text

    t = table("", "", *(f"{r.name}\n{short_id(r.run_id)}" for r in runs))
    section = ""
    for group, key, values in rows:
        if group != section and section:
            t.add_section()
        section = group
        differs = group != "run" and _differs(values)
        style = "bold yellow" if differs else ""
        marker = Text("≠" if differs else "", style)
        t.add_row(marker, cell(key, style), *(cell(v, style) for v in values))
    out().print(t)


def _compare_rows(runs: list[Run]) -> list[tuple[str, str, list[object]]]:
    rows: list[tuple[str, str, list[object]]] = [
        ("run", "experiment", [r.experiment for r in runs]),
        ("run", "status", [r.status.value for r in runs]),
        ("run", "duration", [fmt_duration(r.start_at, r.end_at) for r in runs]),
    ]
    for group in ("params", "metrics"):
        keys = sorted({k for r in runs for k in getattr(r, group)})
        for key in keys:
            rows.append((group, f"{group}.{key}", [getattr(r, group).get(key) for r in runs]))
    return rows


def _differs(values: list[object]) -> bool:
    return len({repr(v) for v in values}) > 1


def _jsonable(value: object) -> object:
    return None if isinstance(value, float) and math.isnan(value) else value


@runs_app.command("delete")
def delete(
    run_ids: RunIds,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    workspace: RemoteWorkspaceOption = None,
) -> None:
    """Delete runs: hidden from listings, restorable until 'pomona gc' purges them.

    'pomona gc' then frees the storage of their artifacts.
    """
    console = out()
    with open_workspace(workspace) as ws:
        runs = [find_run(ws.runs, r) for r in run_ids]
        if not yes:
            names = ", ".join(f"{short_id(r.run_id)} ({r.name})" for r in runs)
            typer.confirm(f"Delete {len(runs)} run(s): {names}?", abort=True)
        for r in runs:
            ws.runs.delete_run(r.run_id)
            note = " (it was deleted already)" if r.deleted else ""
            console.print(f"Deleted run {short_id(r.run_id)} ({r.name}){note}.", markup=False)
    console.print(
        "Restore with 'pomona runs restore RUN_ID'; 'pomona gc' purges deleted runs "
        "and frees their storage for good.",
        style="dim",
        markup=False,
    )


@runs_app.command("restore")
def restore(run_ids: RunIds, workspace: RemoteWorkspaceOption = None) -> None:
    """Restore deleted runs (possible until 'pomona gc' has purged them)."""
    console = out()
    with open_workspace(workspace) as ws:
        runs = [find_run(ws.runs, r) for r in run_ids]
        for r in runs:
            ws.runs.restore_run(r.run_id)
            state = "Restored run" if r.deleted else "Run"
            note = "" if r.deleted else " was not deleted"
            console.print(f"{state} {short_id(r.run_id)} ({r.name}){note}.", markup=False)
