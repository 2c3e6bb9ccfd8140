"""Reading runs: one query per table for a whole page, never one per run."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Select, bindparam, func, select
from sqlalchemy.sql.elements import ColumnElement

from pomona._utils.clock import from_ms
from pomona.errors import InvalidInputError
from pomona.metadata.schema import latest_metrics, metrics, params, runs, tags
from pomona.tracking._filter import ATTRIBUTES, parse_field
from pomona.types import MetricPoint, Run, RunId, RunStatus

_ALIASES = {"start_time": "start_ms", "end_time": "end_ms", "created": "start_ms"}


def runs_from_rows(conn: Connection, rows: Sequence[Any]) -> list[Run]:
    """Build ``Run`` objects for rows of ``runs``, loading children in bulk."""
    pks = [row.pk for row in rows]
    child: dict[str, dict[int, dict[str, Any]]] = {"p": {}, "t": {}, "m": {}}
    if pks:
        for tag, table in (("p", params), ("t", tags), ("m", latest_metrics)):
            stmt = select(table.c.run_pk, table.c.key, table.c.value).where(table.c.run_pk.in_(pks))
            for pk, key, value in conn.execute(stmt):
                if tag == "m" and value is None:
                    value = math.nan
                child[tag].setdefault(pk, {})[key] = value
    return [
        Run(
            run_id=RunId(row.run_id),
            name=row.name,
            experiment=row.experiment,
            status=RunStatus(row.status),
            start_at=from_ms(row.start_ms),  # type: ignore[arg-type]
            end_at=from_ms(row.end_ms),
            heartbeat_at=from_ms(row.heartbeat_ms),
            parent_run_id=RunId(row.parent_run_id) if row.parent_run_id else None,
            source=row.source,
            git_commit=row.git_commit,
            git_dirty=row.git_dirty,
            params=child["p"].get(row.pk, {}),
            metrics=child["m"].get(row.pk, {}),
            tags=child["t"].get(row.pk, {}),
            deleted=row.deleted_ms is not None,
        )
        for row in rows
    ]


def _sort_clause(clause: str) -> tuple[str, bool]:
    """``"metrics.`my key` desc"`` -> ``("metrics.`my key`", True)``."""
    text = clause.strip()
    head, _, last = text.rpartition(" ")
    if last.lower() in ("asc", "desc") and head.strip():
        text, direction = head.strip(), last.lower()
    else:
        direction = "asc"
    if not text or (" " in text and "`" not in text):
        raise InvalidInputError(
            f"Bad sort clause '{clause}'.",
            hint="Use 'field' or 'field desc', e.g. 'metrics.accuracy desc'; "
            "put keys with spaces in backticks.",
            details={"field": "order_by"},
        )
    return text, direction == "desc"


def apply_order(stmt: Select[Any], order_by: Sequence[str]) -> Select[Any]:
    """Sort by ``field [asc|desc]`` clauses; ties broken by newest first."""
    for i, clause in enumerate(order_by):
        field, desc = _sort_clause(clause)
        parts = [field]
        kind, key = parse_field(parts[0])
        col: ColumnElement[Any]
        if kind == "attributes":
            key = _ALIASES.get(key, key)
            if key not in ATTRIBUTES:
                raise InvalidInputError(
                    f"Cannot sort by '{parts[0]}'.",
                    hint="Sort by metrics.<key>, params.<key>, tags.<key> "
                    f"or one of {sorted(ATTRIBUTES)}.",
                    details={"field": "order_by"},
                )
            col = ATTRIBUTES[key]
        else:
            table = {"metrics": latest_metrics, "params": params, "tags": tags}[kind]
            alias = table.alias(f"sort_{i}")
            stmt = stmt.outerjoin(alias, (alias.c.run_pk == runs.c.pk) & (alias.c.key == key))
            col = alias.c.value
        stmt = stmt.order_by(col.desc().nulls_last() if desc else col.asc().nulls_last())
    return stmt.order_by(runs.c.start_ms.desc(), runs.c.pk.desc())


EXACT_BUCKETS_UP_TO = 250_000
"""Longer histories are sampled by index seeks instead of scanned (no min/max band)."""


def metric_history(
    conn: Connection, run_pk: int, key: str, max_points: int | None
) -> list[MetricPoint]:
    """A metric's values by step. Above ``max_points`` values: up to 250,000 values are
    bucketed in SQL (mean, min, max per bucket); longer histories are sampled with one
    index seek per bucket, so reading a 10,000,000-point metric costs ``max_points`` seeks.
    """
    where = (metrics.c.run_pk == run_pk) & (metrics.c.key == key)
    ordered = (
        select(metrics.c.step, metrics.c.value, metrics.c.ts_ms)
        .where(where)
        .order_by(metrics.c.step, metrics.c.ts_ms)
    )
    if max_points is None:
        return _points(conn.execute(ordered))
    head = conn.execute(ordered.limit(max_points + 1)).all()
    if len(head) <= max_points:
        return _points(head)
    lo, hi = conn.execute(
        select(func.min(metrics.c.step), func.max(metrics.c.step)).where(where)
    ).one()
    width = max(1, -(-(hi - lo + 1) // max_points))
    bounded = select(metrics.c.step).where(where).limit(EXACT_BUCKETS_UP_TO + 1).subquery()
    if conn.execute(select(func.count()).select_from(bounded)).scalar_one() > EXACT_BUCKETS_UP_TO:
        return _sampled(conn, where, lo, hi, width)
    bucket = ((metrics.c.step - lo) // width).label("bucket")
    buckets = conn.execute(
        select(
            func.max(metrics.c.step),
            func.avg(metrics.c.value),
            func.max(metrics.c.ts_ms),
            func.min(metrics.c.value),
            func.max(metrics.c.value),
        )
        .where(where)
        .group_by(bucket)
        .order_by(func.max(metrics.c.step))
    )
    return [
        MetricPoint(int(s), math.nan if v is None else float(v), int(t), lo_v, hi_v)
        for s, v, t, lo_v, hi_v in buckets
    ]


def _points(rows: Any) -> list[MetricPoint]:
    return [MetricPoint(s, math.nan if v is None else v, t) for s, v, t in rows]


def _sampled(
    conn: Connection, where: ColumnElement[bool], lo: int, hi: int, width: int
) -> list[MetricPoint]:
    """The first point at or after each bucket start, plus the last point."""
    points: list[MetricPoint] = []
    seek = (
        select(metrics.c.step, metrics.c.value, metrics.c.ts_ms)
        .where(where, metrics.c.step >= bindparam("start"))
        .order_by(metrics.c.step)
        .limit(1)
    )
    last_step = lo - 1
    for start in range(lo, hi + 1, width):
        row = conn.execute(seek, {"start": max(start, last_step + 1)}).first()
        if row is None:
            break
        if row.step > last_step:
            points.extend(_points([row]))
            last_step = row.step
    final = conn.execute(seek, {"start": hi}).first()
    if final is not None and final.step > last_step:
        points.extend(_points([final]))
    return points
