"""SQL of the offline store: a view's rows across segments, the point-in-time join, and the
latest row per entity for materialisation.

A view's rows are its snapshot plus its push segments. Within a segment (key, event time)
is unique; across segments a later push replaces an equal (key, event time) of an earlier
one or of the snapshot.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from pomona.features._duck import ident, literal
from pomona.features._ingest import sql_type
from pomona.features._resolve import BoundView, Column

__all__ = ["ViewData", "latest_sql", "pit_sql", "view_relation"]


@dataclass(frozen=True)
class ViewData:
    """A bound view's local segment files: the snapshot, then pushes (oldest first) with the
    columns each push file has."""

    bound: BoundView
    snapshot: Path
    pushes: list[tuple[Path, frozenset[str]]] = field(default_factory=list)


def _keys(bound: BoundView) -> list[str]:
    return [ident(k.name) for k in bound.keys]


def view_relation(data: ViewData, features: Sequence[str]) -> str:
    """A subquery with the keys, ``_event_ts`` and ``features`` of every row of the view."""
    bound = data.bound
    keys = _keys(bound)
    wanted = [ident(f) for f in features]
    selected = ", ".join([*keys, "_event_ts", *wanted])
    snap = f"SELECT {selected} FROM read_parquet({literal(str(data.snapshot))})"
    if not data.pushes:
        return f"({snap})"
    types = {f.name: f.dtype for f in bound.view.schema}
    parts = []
    for rank, (path, has) in enumerate(data.pushes):
        cols = [
            ident(f) if f in has else f"CAST(NULL AS {sql_type(types[f])}) AS {ident(f)}"
            for f in features
        ]
        parts.append(
            f"SELECT {', '.join([*keys, '_event_ts', *cols])}, {rank} AS _rank "
            f"FROM read_parquet({literal(str(path))})"
        )
    pushed = (
        f"SELECT * EXCLUDE (_rank) FROM ({' UNION ALL '.join(parts)}) "
        f"QUALIFY row_number() OVER (PARTITION BY {', '.join(keys)}, _event_ts "
        "ORDER BY _rank DESC) = 1"
    )
    using = ", ".join([*keys, "_event_ts"])
    return (
        f"(WITH s AS ({snap}), p AS ({pushed}) "
        f"SELECT s.* FROM s ANTI JOIN p USING ({using}) UNION ALL BY NAME SELECT * FROM p)"
    )


def _within(alias: str, ttl: timedelta | None) -> str:
    if ttl is None:
        return ""
    micros = int(ttl / timedelta(microseconds=1))
    return f"epoch_us(e._pit_ts) - epoch_us({alias}._event_ts) <= {micros}"


def pit_sql(groups: Sequence[tuple[ViewData, list[Column]]], aliases: dict[int, str]) -> str:
    """``_eid`` and one column per requested feature (named by ``aliases[id(column)]``),
    one row per row of the registered ``_entities`` table, in ``_eid`` order."""
    selects = ["e._eid"]
    joins = []
    for i, (data, columns) in enumerate(groups):
        alias = f"v{i}"
        names = list(dict.fromkeys(c.feature.name for c in columns))
        on = " AND ".join(f"e.{k} = {alias}.{k}" for k in _keys(data.bound))
        joins.append(
            f"ASOF LEFT JOIN {view_relation(data, names)} {alias} "
            f"ON {on} AND e._pit_ts >= {alias}._event_ts"
        )
        cond = _within(alias, data.bound.view.ttl)
        for column in columns:
            value = f"{alias}.{ident(column.feature.name)}"
            expr = f"CASE WHEN {cond} THEN {value} END" if cond else value
            selects.append(f"{expr} AS {ident(aliases[id(column)])}")
    return f"SELECT {', '.join(selects)} FROM _entities e {' '.join(joins)} ORDER BY e._eid"


def latest_sql(data: ViewData, start_us: int, end_us: int) -> str:
    """The newest row per entity with event time in ``[start, end]`` (microseconds).

    The newest time per entity (a plain aggregate), then a semi-join back to the rows:
    DuckDB holds one entry per entity and streams the rows, so memory follows the number
    of entities, not of source rows, and both steps can spill.
    """
    bound = data.bound
    keys = ", ".join(_keys(bound))
    window = (
        f"_event_ts >= make_timestamp({start_us})::TIMESTAMPTZ "
        f"AND _event_ts <= make_timestamp({end_us})::TIMESTAMPTZ"
    )
    rows = f"(SELECT * FROM {view_relation(data, bound.view.feature_names)} WHERE {window})"
    newest = (
        f"(SELECT {keys}, max(_event_ts) AS _event_ts "
        f"FROM {view_relation(data, [])} WHERE {window} GROUP BY {keys})"
    )
    return f"SELECT r.* FROM {rows} r SEMI JOIN {newest} n USING ({keys}, _event_ts)"
