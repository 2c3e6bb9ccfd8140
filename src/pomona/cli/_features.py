"""``pomona features``: apply definitions, list and show them, materialise, read online."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from pomona.cli._render import cell, fmt_time, fmt_value, out, print_json, table
from pomona.cli._shared import JsonOption, RemoteWorkspaceOption, open_workspace
from pomona.errors import InvalidInputError

if TYPE_CHECKING:
    from pomona.features.base import FeatureViewInfo

__all__ = ["features_app"]

features_app = typer.Typer(
    help="Feature store: apply definitions, list and show them, materialise, read online.",
    no_args_is_help=True,
)


def _json(record: Any) -> Any:
    from pomona.features._json import to_json

    return to_json(record)


@features_app.command("apply")
def apply(
    file: Annotated[
        Path, typer.Argument(help="A .py or .yaml file declaring entities, views, services.")
    ] = Path("features.py"),
    no_ingest: Annotated[
        bool, typer.Option("--no-ingest", help="Store definitions; snapshot sources later.")
    ] = False,
    workspace: RemoteWorkspaceOption = None,
    as_json: JsonOption = False,
) -> None:
    """Validate and store the definitions of FILE; a changed one gets a new version."""
    from pomona.features._loader import load_definitions

    definitions = load_definitions(file)
    with open_workspace(workspace) as ws:
        applied = ws.features.apply(definitions, ingest=not no_ingest)
    if as_json:
        print_json(_json(applied))
        return
    t = table("kind", "name", "version>", "status")
    for item in applied:
        t.add_row(item.kind.replace("_", " "), cell(item.name), str(item.version), item.status)
    out().print(t)


@features_app.command("list")
def list_(workspace: RemoteWorkspaceOption = None, as_json: JsonOption = False) -> None:
    """Entities, feature views and feature services."""
    with open_workspace(workspace) as ws:
        entities = list(ws.features.list_entities(limit=1000))
        views = list(ws.features.list_feature_views(limit=1000))
        services = list(ws.features.list_feature_services(limit=1000))
    if as_json:
        print_json(_json({"entities": entities, "views": views, "services": services}))
        return
    t = table("feature view", "v>", "entities", "features>", "rows>", "ttl", "snapshot")
    for v in views:
        snap = v.snapshot
        t.add_row(
            cell(v.view.name),
            str(v.version),
            cell(", ".join(v.view.entities)),
            str(len(v.view.schema)),
            "—" if snap is None else str(snap.num_rows),
            "—" if v.view.ttl is None else str(v.view.ttl),
            "—" if snap is None else fmt_time(snap.created_at, short=True),
        )
    out().print(t)
    e = table("entity", "v>", "join keys")
    for item in entities:
        keys = ", ".join(f"{k.name} ({k.dtype})" for k in item.entity.keys)
        e.add_row(cell(item.entity.name), str(item.version), cell(keys))
    out().print(e)
    s = table("feature service", "v>", "features")
    for svc in services:
        s.add_row(cell(svc.service.name), str(svc.version), cell(", ".join(svc.features)))
    out().print(s)


@features_app.command("show")
def show(
    name: Annotated[str, typer.Argument(help="A feature view.")],
    version: Annotated[int | None, typer.Option(help="A version (default: latest).")] = None,
    workspace: RemoteWorkspaceOption = None,
    as_json: JsonOption = False,
) -> None:
    """A feature view's definition and per-feature statistics of its snapshot."""
    with open_workspace(workspace) as ws:
        info = ws.features.get_feature_view(name, version=version)
    if as_json:
        print_json(_json(info))
        return
    _print_view(info)


def _print_view(info: FeatureViewInfo) -> None:
    view, snap = info.view, info.snapshot
    out().print(f"[bold]{view.name}[/bold] v{info.version}  {view.source.describe()}")
    out().print(
        f"entities {', '.join(view.entities)} · timestamp {view.timestamp_column} · "
        f"ttl {view.ttl or 'none'} · pushed rows {info.pushed_rows} · "
        f"materialised until {fmt_time(info.materialized_until)}"
    )
    if snap is None:
        out().print("No snapshot yet: 'pomona features apply' or ingest snapshots the source.")
        return
    out().print(
        f"snapshot {snap.num_rows} rows ({snap.dropped_rows} dropped), ~{snap.entities} "
        f"entities, {fmt_time(snap.min_event_at)} … {fmt_time(snap.max_event_at)}"
    )
    t = table("feature", "type", "count>", "nulls>", "distinct>", "min>", "max>", "mean>", "std>")
    for s in snap.features:
        t.add_row(
            cell(s.name), s.dtype, str(s.count), str(s.nulls), str(s.distinct),
            fmt_value(s.min), fmt_value(s.max), fmt_value(s.mean), fmt_value(s.std),
        )  # fmt: skip
    out().print(t)


def _moment(text: str | None, field: str) -> datetime | None:
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise InvalidInputError(
            f"--{field} '{text}' is not a date or time.",
            hint="Use ISO 8601, e.g. 2026-01-31 or 2026-01-31T12:00:00+00:00.",
            details={"field": field},
        ) from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@features_app.command("materialize")
def materialize(
    start: Annotated[str | None, typer.Option(help="ISO time; omit for incremental.")] = None,
    end: Annotated[str | None, typer.Option(help="ISO time (default: now).")] = None,
    view: Annotated[list[str] | None, typer.Option(help="Only this view (repeatable).")] = None,
    workspace: RemoteWorkspaceOption = None,
    as_json: JsonOption = False,
) -> None:
    """Load the latest feature values into the online store."""
    end_at = _moment(end, "end") or datetime.now(UTC)
    start_at = _moment(start, "start")
    with open_workspace(workspace) as ws:
        if start_at is None:
            result = ws.features.materialize_incremental(end_at, views=view)
        else:
            result = ws.features.materialize(start_at, end_at, views=view)
    if as_json:
        print_json(_json(result))
        return
    t = table("feature view", "from", "to", "entities>", "written>")
    for v in result.views:
        t.add_row(
            cell(v.view), fmt_time(v.start_at), fmt_time(v.end_at), str(v.entities), str(v.written)
        )
    out().print(t)


def _entity_value(text: str) -> object:
    return int(text) if text.lstrip("-").isdigit() else text


@features_app.command("get-online")
def get_online(
    features: Annotated[
        str, typer.Argument(help="A feature service, or view:feature references, comma-separated.")
    ],
    entity: Annotated[
        list[str], typer.Option("--entity", "-e", help="key=value (repeat per key or entity).")
    ],
    at: Annotated[
        str | None, typer.Option(help="Read as of this ISO time (TTLs count from it).")
    ] = None,
    workspace: RemoteWorkspaceOption = None,
    as_json: JsonOption = False,
) -> None:
    """Read online features, e.g. ``get-online driver_stats:conv -e driver_id=1001``."""
    columns: dict[str, list[object]] = {}
    for item in entity:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise InvalidInputError(
                f"--entity '{item}' is not key=value.", details={"field": "entity"}
            )
        columns.setdefault(key, []).append(_entity_value(value))
    refs: str | list[str] = features if ":" not in features else features.split(",")
    with open_workspace(workspace) as ws:
        result = ws.features.get_online_features(columns, refs, at=_moment(at, "at"))
    if as_json:
        print_json({k: [fmt_value(v) if isinstance(v, datetime) else v for v in vs]
                    for k, vs in result.items()})  # fmt: skip
        return
    t = table(*result)
    for row in zip(*result.values(), strict=True):
        t.add_row(*(cell(v) for v in row))
    out().print(t)


@features_app.command("ingest")
def ingest(
    name: Annotated[str, typer.Argument(help="A feature view.")],
    workspace: RemoteWorkspaceOption = None,
    as_json: JsonOption = False,
) -> None:
    """Snapshot a feature view's source into the offline store now."""
    with open_workspace(workspace) as ws:
        info = ws.features.ingest(name)
    if as_json:
        print_json(_json(info))
        return
    _print_view(info)


def _entity_frame(path: Path, timestamp_column: str) -> Any:
    """Entity rows from a Parquet or CSV file (CSV timestamps parsed as UTC)."""
    import pandas as pd  # type: ignore[import-untyped,unused-ignore]

    if not path.is_file():
        raise InvalidInputError(f"No entity file {path}.", details={"field": "entities"})
    if path.suffix.lower() not in (".csv", ".tsv"):
        return pd.read_parquet(path)
    frame = pd.read_csv(path, sep="\t" if path.suffix.lower() == ".tsv" else ",")
    if timestamp_column in frame.columns:
        frame[timestamp_column] = pd.to_datetime(frame[timestamp_column], utc=True)
    return frame


@features_app.command("save-training")
def save_training(
    name: Annotated[str, typer.Argument(help="The training set (and dataset) name.")],
    features: Annotated[
        str, typer.Argument(help="A feature service, or view:feature references, comma-separated.")
    ],
    entities: Annotated[
        Path, typer.Option("--entities", help="Parquet or CSV: join keys, timestamp, labels.")
    ],
    timestamp_column: Annotated[
        str, typer.Option(help="The entity rows' timestamp column.")
    ] = "event_timestamp",
    workspace: RemoteWorkspaceOption = None,
    as_json: JsonOption = False,
) -> None:
    """Join features point-in-time to the entity rows and save them as a training set
    (and a table dataset version of the same name)."""
    frame = _entity_frame(entities, timestamp_column)
    refs: str | list[str] = features if ":" not in features else features.split(",")
    with open_workspace(workspace) as ws:
        saved = ws.features.save_training_dataset(
            name, frame, refs, timestamp_column=timestamp_column
        )
    if as_json:
        print_json(_json(saved))
        return
    t = table("training set", "version>", "rows>", "dataset", "entity rows")
    t.add_row(
        cell(saved.name),
        str(saved.version),
        str(saved.num_rows),
        cell(saved.dataset or ""),
        cell(saved.entity_digest or ""),
    )
    out().print(t)
