"""Monitors, windows and metric points in the metadata database."""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, and_, delete, func, select, update

from pomona._utils.clock import MAX_MS, from_ms, now_ms
from pomona._utils.paging import decode_page_token, encode_page_token
from pomona.errors import AlreadyExistsError
from pomona.metadata import MetadataStore, insert_ignore, insert_returning
from pomona.metadata.schema import monitor_points as points
from pomona.metadata.schema import monitor_windows as windows
from pomona.metadata.schema import monitors
from pomona.monitoring._points import PERFORMANCE_METRICS, Point
from pomona.monitoring.errors import MonitorNotFoundError
from pomona.monitoring.records import Monitor, SeriesPoint, Window
from pomona.monitoring.rules import MAX_DURATION_S
from pomona.types import Page

__all__ = ["MonitorRow", "MonitorStore", "StoredWindow"]

log = logging.getLogger("pomona.monitoring")


@dataclass(frozen=True)
class MonitorRow:
    pk: int
    monitor: Monitor
    cursor_ms: int | None
    feedback_ms: int | None
    last_run_ms: int | None
    created_ms: int


@dataclass(frozen=True)
class StoredWindow:
    start_ms: int
    end_ms: int
    rows: int
    labels_ms: int | None
    profile: dict[str, Any]


def _monitor(row: Any) -> MonitorRow:
    spec = _readable(row.name, json.loads(row.spec))
    monitor = Monitor.from_json({"name": row.name, "deployment": row.deployment, **spec})
    return MonitorRow(
        row.pk,
        monitor.with_times(row),
        row.cursor_ms,
        row.feedback_ms,
        row.last_run_ms,
        row.created_ms,
    )


_DURATIONS = ("window_s", "every_s", "lag_s", "cooldown_s", "labels_within_s")


def _readable(name: str, spec: dict[str, Any]) -> dict[str, Any]:
    """A stored spec with durations beyond ``MAX_DURATION_S`` (written before they were
    bounded) read as that bound, and a log line: one such row must not break every list."""

    def bounded(value: Any, what: str) -> Any:
        if isinstance(value, int | float) and not value <= MAX_DURATION_S:
            log.warning("monitor %r: stored %s of %r s read as %g s", name, what, value,
                        MAX_DURATION_S)  # fmt: skip
            return MAX_DURATION_S
        return value

    out = {k: bounded(v, k) if k in _DURATIONS else v for k, v in spec.items()}
    out["rules"] = [
        {**r, "for_s": bounded(r["for_s"], "for_s")} if isinstance(r, dict) and "for_s" in r
        else r
        for r in spec.get("rules") or ()
    ]  # fmt: skip
    reference = str(spec.get("reference", ""))
    if reference.startswith("window:") and reference[7:].isdigit() and int(reference[7:]) > MAX_MS:
        log.warning("monitor %r: stored reference %s read as window:%d", name, reference, MAX_MS)
        out["reference"] = f"window:{MAX_MS}"
    return out


def _window(name: str, row: Any) -> Window:
    computed = from_ms(row.computed_ms)
    start, end = from_ms(row.start_ms), from_ms(row.end_ms)
    assert computed is not None and start is not None and end is not None
    return Window(
        monitor=name,
        start_at=start,
        end_at=end,
        rows=row.rows,
        labelled=row.labelled,
        label_updates=row.label_updates,
        computed_at=computed,
        labels_at=from_ms(row.labels_ms),
        profile=json.loads(row.profile),
    )


class MonitorStore:
    """Rows of ``monitors``, ``monitor_windows`` and ``monitor_points``."""

    def __init__(self, db: MetadataStore) -> None:
        self.db = db

    # --- monitors ---------------------------------------------------------------------

    def create(self, monitor: Monitor, *, replace: bool = False) -> tuple[MonitorRow, bool]:
        """Store a new monitor, or replace one; whether anything changed."""
        now = now_ms()
        row = {
            "name": monitor.name,
            "deployment": monitor.deployment,
            "spec": json.dumps(monitor.spec_json(), sort_keys=True),
            "window_ms": monitor.window_ms,
            "every_ms": monitor.every_ms,
            "enabled": monitor.enabled,
            "created_ms": now,
            "updated_ms": now,
            "feedback_ms": now,
        }
        with self.db.write() as conn:
            found = conn.execute(select(monitors).where(monitors.c.name == monitor.name)).first()
            if found is not None and not replace:
                raise AlreadyExistsError(
                    f"A monitor named '{monitor.name}' already exists.",
                    hint="Pick another name, or pass replace=True (--replace) to change it.",
                    details={"monitor": monitor.name},
                )
            same = found is not None and (found.spec, found.deployment, found.window_ms) == (
                row["spec"],
                row["deployment"],
                row["window_ms"],
            )
            if found is None:
                insert_returning(conn, monitors, row, ["name"], monitors.c.pk)
            elif not same:
                changed = {k: row[k] for k in ("deployment", "spec", "every_ms", "enabled")}
                if found.window_ms != monitor.window_ms or found.deployment != monitor.deployment:
                    conn.execute(delete(windows).where(windows.c.monitor_pk == found.pk))
                    conn.execute(delete(points).where(points.c.monitor_pk == found.pk))
                    changed.update(window_ms=monitor.window_ms, cursor_ms=None)
                conn.execute(
                    update(monitors)
                    .where(monitors.c.pk == found.pk)
                    .values(**changed, updated_ms=now)
                )
            return _monitor(self._row(conn, monitor.name)), not same

    def _row(self, conn: Connection, name: str) -> Any:
        row = conn.execute(select(monitors).where(monitors.c.name == name)).first()
        if row is None:
            raise MonitorNotFoundError(name)
        return row

    def find(self, name: str) -> MonitorRow | None:
        with self.db.read() as conn:
            row = conn.execute(select(monitors).where(monitors.c.name == name)).first()
        return None if row is None else _monitor(row)

    def get(self, name: str) -> MonitorRow:
        with self.db.read() as conn:
            return _monitor(self._row(conn, name))

    def list_monitors(
        self, deployment: str | None = None, *, limit: int = 100, page_token: str | None = None
    ) -> Page[MonitorRow]:
        offset = decode_page_token(page_token)
        stmt = select(monitors).order_by(monitors.c.name).limit(limit + 1).offset(offset)
        if deployment is not None:
            stmt = stmt.where(monitors.c.deployment == deployment)
        with self.db.read() as conn:
            rows = conn.execute(stmt).all()
        more = len(rows) > limit
        return Page(
            [_monitor(r) for r in rows[:limit]],
            encode_page_token(offset + limit) if more else None,
        )

    def delete(self, name: str) -> None:
        with self.db.write() as conn:
            found = conn.execute(select(monitors.c.pk).where(monitors.c.name == name)).first()
            if found is None:
                return
            for table in (points, windows):
                conn.execute(delete(table).where(table.c.monitor_pk == found.pk))
            conn.execute(delete(monitors).where(monitors.c.pk == found.pk))

    def advance(
        self,
        pk: int,
        *,
        cursor_ms: int | None = None,
        feedback_ms: int | None = None,
        last_run_ms: int | None = None,
    ) -> None:
        values = {
            k: v
            for k, v in (
                ("cursor_ms", cursor_ms),
                ("feedback_ms", feedback_ms),
                ("last_run_ms", last_run_ms),
            )
            if v is not None
        }
        if values:
            with self.db.write() as conn:
                conn.execute(update(monitors).where(monitors.c.pk == pk).values(**values))

    # --- windows and points -----------------------------------------------------------

    def save_window(
        self,
        pk: int,
        start_ms: int,
        end_ms: int,
        profile: dict[str, Any],
        series: Sequence[Point],
    ) -> bool:
        """Store a computed window and its points; ``False`` if it was stored already."""
        perf = profile.get("performance") or {}
        row = {
            "monitor_pk": pk,
            "start_ms": start_ms,
            "end_ms": end_ms,
            "rows": int(profile.get("rows", 0)),
            "profile": _dumps(profile),
            "computed_ms": now_ms(),
            "labelled": int(perf.get("labelled", 0)),
            "labels_ms": perf.get("labels_ms"),
            "label_updates": 0,
        }
        with self.db.write() as conn:
            if not insert_ignore(conn, windows, row, ["monitor_pk", "start_ms"]):
                return False
            _insert_points(conn, pk, start_ms, series)
        return True

    def update_performance(
        self,
        pk: int,
        start_ms: int,
        profile: dict[str, Any],
        series: Sequence[Point],
    ) -> None:
        """Replace a window's performance (late labels), counting the update."""
        perf = profile.get("performance") or {}
        key = and_(windows.c.monitor_pk == pk, windows.c.start_ms == start_ms)
        with self.db.write() as conn:
            conn.execute(
                update(windows)
                .where(key)
                .values(
                    profile=_dumps(profile),
                    labelled=int(perf.get("labelled", 0)),
                    labels_ms=perf.get("labels_ms"),
                    label_updates=windows.c.label_updates + 1,
                )
            )
            conn.execute(
                delete(points).where(
                    points.c.monitor_pk == pk,
                    points.c.start_ms == start_ms,
                    points.c.metric.in_(PERFORMANCE_METRICS),
                )
            )
            _insert_points(conn, pk, start_ms, series)

    def stored_windows(self, pk: int, starts: Sequence[int]) -> list[StoredWindow]:
        if not starts:
            return []
        with self.db.read() as conn:
            rows = conn.execute(
                select(windows)
                .where(windows.c.monitor_pk == pk, windows.c.start_ms.in_(list(starts)))
                .order_by(windows.c.start_ms)
            ).all()
        return [
            StoredWindow(r.start_ms, r.end_ms, r.rows, r.labels_ms, json.loads(r.profile))
            for r in rows
        ]

    def windows(
        self,
        name: str,
        start_ms: int | None = None,
        end_ms: int | None = None,
        *,
        limit: int = 100,
        page_token: str | None = None,
        newest_first: bool = True,
    ) -> Page[Window]:
        offset = decode_page_token(page_token)
        with self.db.read() as conn:
            pk = self._row(conn, name).pk
            order = windows.c.start_ms.desc() if newest_first else windows.c.start_ms
            stmt = select(windows).where(windows.c.monitor_pk == pk).order_by(order)
            if start_ms is not None:
                stmt = stmt.where(windows.c.start_ms >= start_ms)
            if end_ms is not None:
                stmt = stmt.where(windows.c.start_ms < end_ms)
            rows = conn.execute(stmt.limit(limit + 1).offset(offset)).all()
        more = len(rows) > limit
        return Page(
            [_window(name, r) for r in rows[:limit]],
            encode_page_token(offset + limit) if more else None,
        )

    def series(
        self,
        pk: int,
        *,
        metric: str | None = None,
        feature: str | None = None,
        start_ms: int | None = None,
        end_ms: int | None = None,
        limit: int = 10_000,
    ) -> list[SeriesPoint]:
        """Points in time order (the newest ``limit`` when there are more)."""
        conds: list[Any] = [points.c.monitor_pk == pk]
        if metric is not None:
            conds.append(points.c.metric == metric)
        if feature is not None:
            conds.append(points.c.feature == feature)
        if start_ms is not None:
            conds.append(points.c.start_ms >= start_ms)
        if end_ms is not None:
            conds.append(points.c.start_ms < end_ms)
        stmt = (
            select(points.c.start_ms, points.c.metric, points.c.feature, points.c.value)
            .where(and_(*conds))
            .order_by(points.c.start_ms.desc(), points.c.metric, points.c.feature)
            .limit(limit)
        )
        with self.db.read() as conn:
            rows = conn.execute(stmt).all()
        out = []
        for r in reversed(rows):
            at = from_ms(r.start_ms)
            assert at is not None
            out.append(SeriesPoint(at, r.metric, r.feature, float(r.value)))
        return out

    def latest_start(self, pk: int, metric: str, before_ms: int | None = None) -> int | None:
        """The newest window start with a point of ``metric`` (before ``before_ms``)."""
        stmt = select(func.max(points.c.start_ms)).where(
            points.c.monitor_pk == pk, points.c.metric == metric
        )
        if before_ms is not None:
            stmt = stmt.where(points.c.start_ms < before_ms)
        with self.db.read() as conn:
            found = conn.execute(stmt).scalar()
        return None if found is None else int(found)


def _insert_points(conn: Connection, pk: int, start_ms: int, series: Sequence[Point]) -> None:
    rows = [
        {"monitor_pk": pk, "start_ms": start_ms, "metric": m, "feature": f[:250], "value": v}
        for m, f, v in dict(((m, f[:250]), (m, f, v)) for m, f, v in series).values()
    ]
    if rows:
        conn.execute(points.insert(), rows)


def _dumps(profile: dict[str, Any]) -> str:
    """Strict JSON: NaN and infinities become null, numpy scalars plain numbers."""
    return json.dumps(_finite(profile), default=_json_default, allow_nan=False)


def _finite(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def _json_default(value: Any) -> Any:
    import numpy as np

    if isinstance(value, np.generic):
        return _finite(value.item())
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")
