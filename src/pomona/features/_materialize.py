"""Materialisation (offline to online, streamed) and pushes (to both stores)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from pomona._utils.clock import now_ms
from pomona.errors import InvalidInputError
from pomona.features._frames import rows_to_arrow
from pomona.features._online import encode_records
from pomona.features._resolve import BoundView
from pomona.features.base import MaterializeResult, PushResult, ViewMaterialization
from pomona.metadata import MetadataStore, upsert
from pomona.metadata.schema import feature_materializations as mat_t

if TYPE_CHECKING:
    from pomona.features.service import FeatureStore

__all__ = ["materialize", "push"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
WRITE_ROWS = 8192
"""Records encoded and written to the online store per step."""


def _aware(moment: datetime, field: str) -> datetime:
    if not isinstance(moment, datetime):
        raise InvalidInputError(f"{field} must be a datetime.", details={"field": field})
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _micros(moment: datetime) -> int:
    return (moment - _EPOCH) // _US


_US = datetime(1970, 1, 1, 0, 0, 0, 1, tzinfo=UTC) - _EPOCH


def materialize(
    store: FeatureStore,
    db: MetadataStore,
    start: datetime | None,
    end: datetime,
    views: Sequence[str] | None,
) -> MaterializeResult:
    """Write the newest value per entity in ``[start, end]`` of each view online.

    ``start=None`` resumes each view where its last materialisation ended (from the
    beginning if none did). Progress is recorded only after a view is fully written, so
    a run that dies part-way is simply run again (writes are idempotent, newer-wins).
    """
    end = _aware(end, "end")
    catalog = store.catalog(fresh=True)
    names = list(views) if views is not None else sorted(catalog.views)
    bound_views = [catalog.view(n) for n in names]
    if start is not None:
        start = _aware(start, "start")
        if start > end:
            raise InvalidInputError(
                f"start ({start.isoformat()}) is after end ({end.isoformat()}).",
                details={"field": "start"},
            )
    with db.read() as conn:
        done = dict(conn.execute(select(mat_t.c.view_name, mat_t.c.end_ms)).all())
    results = []
    for bound in bound_views:
        begin = start
        if begin is None:
            last = done.get(bound.name)
            begin = _EPOCH if last is None else datetime.fromtimestamp(last / 1000, tz=UTC)
        results.append(_one(store, db, bound, begin, end))
    return MaterializeResult(results)


def _one(
    store: FeatureStore, db: MetadataStore, bound: BoundView, start: datetime, end: datetime
) -> ViewMaterialization:
    entities = written = 0
    for batch in store.offline.latest_batches(bound, _micros(start), _micros(end)):
        for offset in range(0, batch.num_rows, WRITE_ROWS):  # few Python objects at once
            records = encode_records(bound, batch.slice(offset, WRITE_ROWS))
            entities += len(records)
            written += store.online.write(records)
    end_ms = _micros(end) // 1000
    with db.write() as conn:
        current = conn.execute(
            select(mat_t.c.end_ms).where(mat_t.c.view_name == bound.name)
        ).scalar()
        upsert(
            conn,
            mat_t,
            [
                {
                    "view_name": bound.name,
                    "end_ms": max(end_ms, current or end_ms),
                    "num_rows": entities,
                    "updated_ms": now_ms(),
                }
            ],
            keys=["view_name"],
            update=["end_ms", "num_rows", "updated_ms"],
        )
    return ViewMaterialization(bound.name, start, end, entities, written)


def push(store: FeatureStore, bound: BoundView, rows: Any, to: str) -> PushResult:
    """Check and write pushed rows: a push segment offline, the newest per entity online."""
    table = rows_to_arrow(rows, "rows")
    canonical = store.offline.canonical_push(bound, table)
    digest = None
    if to in ("offline", "online_and_offline") and canonical.num_rows:
        digest = store.offline.append_push(bound, canonical)
    written = 0
    if to in ("online", "online_and_offline") and canonical.num_rows:
        # Oldest first: the store is newer-wins, so each entity ends with its newest row.
        ordered = canonical.sort_by([("_event_ts", "ascending")])
        for batch in ordered.to_batches(max_chunksize=store.offline.batch_rows):
            written += store.online.write(encode_records(bound, batch))
    return PushResult(bound.name, canonical.num_rows, written, digest)
