"""Feedback (true labels by request id) and the prediction-log file index, embedded."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import and_, select

from pomona._utils.clock import from_ms, now_ms
from pomona.errors import InvalidInputError, NotFoundError
from pomona.metadata import MetadataStore, upsert
from pomona.metadata.schema import deployments, feedback, prediction_log_files
from pomona.serving._catalog import (
    check_label,
    check_name,
    check_request_id,
    log_file_from_row,
)
from pomona.serving.errors import DeploymentNotFoundError
from pomona.serving.records import Feedback, PredictionLogFile

__all__ = ["HOUR_MS", "FeedbackOps", "list_log_files"]

HOUR_MS = 3_600_000


class FeedbackOps:
    """``feedback``, ``get_feedback``, ``list_feedback`` and ``log_files``."""

    _db: MetadataStore

    def feedback(
        self, name: str, request_id: str, label: object, *, source: str = "api"
    ) -> Feedback:
        name = check_name(name)
        request_id = check_request_id(request_id)
        row = {
            "request_id": request_id,
            "deployment": name,
            "label": check_label(label),
            "received_ms": now_ms(),
            "source": _source(source),
        }
        with self._db.write() as conn:
            found = conn.execute(select(deployments.c.pk).where(deployments.c.name == name)).first()
            if found is None:
                raise DeploymentNotFoundError(name)
            upsert(
                conn,
                feedback,
                [row],
                keys=["request_id"],
                update=["deployment", "label", "received_ms", "source"],
            )
        return self.get_feedback(request_id)

    def get_feedback(self, request_id: str) -> Feedback:
        request_id = check_request_id(request_id)
        with self._db.read() as conn:
            row = conn.execute(select(feedback).where(feedback.c.request_id == request_id)).first()
        if row is None:
            raise NotFoundError(
                f"No feedback was stored for request '{request_id}'.",
                details={"request_id": request_id},
            )
        received = from_ms(row.received_ms)
        assert received is not None
        return Feedback(row.request_id, row.deployment, row.label, received, row.source)

    def list_feedback(
        self, name: str, *, start_ms: int | None = None, limit: int = 100_000
    ) -> dict[str, str]:
        """Request id -> label for a deployment's feedback received since ``start_ms``."""
        stmt = select(feedback.c.request_id, feedback.c.label).where(
            feedback.c.deployment == check_name(name)
        )
        if start_ms is not None:
            stmt = stmt.where(feedback.c.received_ms >= int(start_ms))
        with self._db.read() as conn:
            rows = conn.execute(stmt.limit(limit)).all()
        return {r.request_id: r.label for r in rows}

    def log_files(
        self,
        name: str | None = None,
        *,
        start_ms: int | None = None,
        end_ms: int | None = None,
    ) -> list[PredictionLogFile]:
        return list_log_files(self._db, name, start_ms=start_ms, end_ms=end_ms)


def list_log_files(
    db: MetadataStore,
    name: str | None = None,
    *,
    start_ms: int | None = None,
    end_ms: int | None = None,
    variants: Sequence[str] = (),
) -> list[PredictionLogFile]:
    """Index rows of the log files that may hold rows with ``start_ms <= ts_ms < end_ms``."""
    for value, field in ((start_ms, "start_ms"), (end_ms, "end_ms")):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            raise InvalidInputError(
                f"{field} must be epoch milliseconds.", details={"field": field}
            )
    t = prediction_log_files
    conds: list[Any] = []
    if name is not None:
        conds.append(t.c.deployment == check_name(name))
    if start_ms is not None:
        conds += [t.c.hour_ms >= start_ms - start_ms % HOUR_MS, t.c.max_ts_ms >= start_ms]
    if end_ms is not None:
        conds += [t.c.hour_ms < end_ms, t.c.min_ts_ms < end_ms]
    if variants:
        conds.append(t.c.variant.in_(list(variants)))
    stmt = select(t).order_by(t.c.min_ts_ms, t.c.pk)
    if conds:
        stmt = stmt.where(and_(*conds))
    with db.read() as conn:
        return [log_file_from_row(r) for r in conn.execute(stmt).all()]


def _source(source: object) -> str:
    if not isinstance(source, str) or not 0 < len(source) <= 250:
        raise InvalidInputError("source must be a short string.", details={"field": "source"})
    return source
