"""Offline segments in the metadata database: snapshots and pushes of each feature view."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, func, select, update

from pomona.metadata.schema import feature_segments as seg_t
from pomona.types import Digest

__all__ = ["Segment", "insert", "latest_snapshot", "mark_merged", "pushed_rows", "pushes"]


@dataclass(frozen=True)
class Segment:
    pk: int
    view_name: str
    view_version: int
    kind: str
    digest: Digest
    num_rows: int
    min_ts_ms: int | None
    max_ts_ms: int | None
    fingerprint: str | None
    stats: dict[str, Any] | None
    created_ms: int


def _segment(row: Any) -> Segment:
    return Segment(
        pk=row.pk,
        view_name=row.view_name,
        view_version=row.view_version,
        kind=row.kind,
        digest=Digest(row.digest),
        num_rows=row.num_rows,
        min_ts_ms=row.min_ts_ms,
        max_ts_ms=row.max_ts_ms,
        fingerprint=row.fingerprint,
        stats=json.loads(row.stats) if row.stats else None,
        created_ms=row.created_ms,
    )


def insert(conn: Connection, **values: Any) -> int:
    if isinstance(values.get("stats"), dict):
        values["stats"] = json.dumps(values["stats"])
    pk: int = conn.execute(seg_t.insert().values(**values).returning(seg_t.c.pk)).scalar_one()
    return pk


def latest_snapshot(conn: Connection, view: str, version: int | None = None) -> Segment | None:
    """The newest snapshot of ``view`` (of ``version`` if given)."""
    stmt = select(seg_t).where(seg_t.c.view_name == view, seg_t.c.kind == "source")
    if version is not None:
        stmt = stmt.where(seg_t.c.view_version == version)
    row = conn.execute(stmt.order_by(seg_t.c.pk.desc()).limit(1)).first()
    return None if row is None else _segment(row)


def pushes(conn: Connection, view: str) -> list[Segment]:
    """Push segments of ``view``, oldest first."""
    stmt = (
        select(seg_t).where(seg_t.c.view_name == view, seg_t.c.kind == "push").order_by(seg_t.c.pk)
    )
    return [_segment(r) for r in conn.execute(stmt)]


def pushed_rows(conn: Connection, view: str) -> int:
    stmt = select(func.coalesce(func.sum(seg_t.c.num_rows), 0)).where(
        seg_t.c.view_name == view, seg_t.c.kind == "push"
    )
    return int(conn.execute(stmt).scalar_one())


def mark_merged(conn: Connection, pks: list[int]) -> None:
    """Retire push segments merged into a newer one (rows stay: lineage names them)."""
    conn.execute(update(seg_t).where(seg_t.c.pk.in_(pks)).values(kind="merged"))
