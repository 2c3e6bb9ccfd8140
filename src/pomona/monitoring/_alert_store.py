"""Alerts, silences and the retraining guard in the metadata database."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

from sqlalchemy import Connection, and_, func, select, update

from pomona._utils.clock import from_ms, now_ms
from pomona._utils.paging import decode_page_token, encode_page_token
from pomona.metadata import MetadataStore, insert_ignore
from pomona.metadata.schema import monitor_alerts as alerts
from pomona.metadata.schema import monitor_retrain_locks as locks
from pomona.metadata.schema import monitor_retrains as retrains
from pomona.metadata.schema import monitor_silences as silences
from pomona.metadata.schema import monitors, pipeline_outbox, pipeline_runs
from pomona.monitoring.errors import AlertNotFoundError, SilenceNotFoundError
from pomona.monitoring.records import Alert, Silence
from pomona.types import Page

__all__ = ["AlertStore", "Decision", "open_key"]


def open_key(monitor_pk: int, rule: str, group: str) -> str:
    return f"{monitor_pk}/{rule}/{group}"[:400]


@dataclass(frozen=True)
class Decision:
    """A retraining decision: taken (``emit``) or refused, and why."""

    emit: bool
    reason: str
    previous_ms: int = 0


def _alert(row: Any) -> Alert:
    def at(ms: int | None) -> Any:
        return from_ms(ms)

    return Alert(
        alert_id=row.alert_id,
        monitor=row.monitor_name,
        deployment=row.deployment,
        rule=row.rule,
        group=row.group_key,
        state=row.state,
        severity=row.severity,
        value=row.value,
        threshold=row.threshold,
        window_start_at=at(row.window_start_ms),
        pending_at=at(row.pending_ms),
        fired_at=at(row.fired_ms),
        resolved_at=at(row.resolved_ms),
        updated_at=at(row.updated_ms),
        silenced=bool(row.silenced),
        acked_by=row.acked_by,
        acked_at=at(row.acked_ms),
        ack_comment=row.ack_comment,
        message=row.message,
        details=json.loads(row.details),
    )


def _silence(row: Any) -> Silence:
    starts, ends = from_ms(row.starts_ms), from_ms(row.ends_ms)
    assert starts is not None and ends is not None
    return Silence(
        row.silence_id,
        row.monitor,
        row.deployment,
        row.rule,
        starts,
        ends,
        row.created_by,
        row.comment,
    )


_ALERT = select(alerts, monitors.c.name.label("monitor_name")).join(
    monitors, monitors.c.pk == alerts.c.monitor_pk
)


class AlertStore:
    """Rows of ``monitor_alerts``, ``monitor_silences`` and the retraining guard."""

    def __init__(self, db: MetadataStore) -> None:
        self.db = db

    # --- alerts -----------------------------------------------------------------------

    def find_open(self, monitor_pk: int, rule: str, group: str) -> Alert | None:
        with self.db.read() as conn:
            row = conn.execute(
                _ALERT.where(alerts.c.open_key == open_key(monitor_pk, rule, group))
            ).first()
        return None if row is None else _alert(row)

    def open_alerts(self, monitor_pk: int) -> list[Alert]:
        with self.db.read() as conn:
            rows = conn.execute(
                _ALERT.where(alerts.c.monitor_pk == monitor_pk, alerts.c.open_key.is_not(None))
            ).all()
        return [_alert(r) for r in rows]

    def insert(self, monitor_pk: int, values: dict[str, Any]) -> Alert | None:
        """A new open alert; ``None`` when another process opened the same one first."""
        row = {
            "alert_id": uuid.uuid4().hex,
            "monitor_pk": monitor_pk,
            "open_key": open_key(monitor_pk, values["rule"], values["group_key"]),
            "acked_by": None,
            **values,
            "details": json.dumps(values.get("details") or {}),
        }
        with self.db.write() as conn:
            if not insert_ignore(conn, alerts, row, ["open_key"]):
                return None
        return self.get(row["alert_id"])

    def update(self, alert_id: str, values: dict[str, Any]) -> Alert:
        if "details" in values:
            values = {**values, "details": json.dumps(values["details"])}
        with self.db.write() as conn:
            conn.execute(update(alerts).where(alerts.c.alert_id == alert_id).values(**values))
        return self.get(alert_id)

    def transition(self, alert_id: str, from_state: str, values: dict[str, Any]) -> Alert | None:
        """Update the alert only if it is still in ``from_state`` (one process wins)."""
        if "details" in values:
            values = {**values, "details": json.dumps(values["details"])}
        with self.db.write() as conn:
            done = conn.execute(
                update(alerts)
                .where(alerts.c.alert_id == alert_id, alerts.c.state == from_state)
                .values(**values)
            )
        return self.get(alert_id) if done.rowcount == 1 else None

    def get(self, alert_id: str) -> Alert:
        with self.db.read() as conn:
            row = conn.execute(_ALERT.where(alerts.c.alert_id == alert_id)).first()
        if row is None:
            raise AlertNotFoundError(alert_id)
        return _alert(row)

    def list_alerts(
        self,
        *,
        state: str | None = None,
        monitor: str | None = None,
        limit: int = 100,
        page_token: str | None = None,
    ) -> Page[Alert]:
        offset = decode_page_token(page_token)
        stmt = _ALERT.order_by(alerts.c.pending_ms.desc(), alerts.c.pk.desc())
        if state == "open":
            stmt = stmt.where(alerts.c.open_key.is_not(None))
        elif state is not None:
            stmt = stmt.where(alerts.c.state == state)
        if monitor is not None:
            stmt = stmt.where(monitors.c.name == monitor)
        with self.db.read() as conn:
            rows = conn.execute(stmt.limit(limit + 1).offset(offset)).all()
        more = len(rows) > limit
        return Page(
            [_alert(r) for r in rows[:limit]],
            encode_page_token(offset + limit) if more else None,
        )

    def ack(self, alert_id: str, by: str, comment: str) -> Alert:
        with self.db.write() as conn:
            done = conn.execute(
                update(alerts)
                .where(alerts.c.alert_id == alert_id)
                .values(acked_by=by, acked_ms=now_ms(), ack_comment=comment)
            )
            if done.rowcount != 1:
                raise AlertNotFoundError(alert_id)
        return self.get(alert_id)

    # --- silences ---------------------------------------------------------------------

    def add_silence(self, values: dict[str, Any]) -> Silence:
        """Store a silence. The record is built before the row is written: a value it
        cannot hold fails with nothing stored."""
        row = {"silence_id": uuid.uuid4().hex, "created_ms": now_ms(), **values}
        silence = _silence(SimpleNamespace(**row))
        with self.db.write() as conn:
            conn.execute(silences.insert().values(**row))
        return silence

    def _silence(self, silence_id: str) -> Silence:
        with self.db.read() as conn:
            row = conn.execute(select(silences).where(silences.c.silence_id == silence_id)).first()
        if row is None:
            raise SilenceNotFoundError(silence_id)
        return _silence(row)

    def silences(self, *, active_at: int | None = None) -> list[Silence]:
        stmt = select(silences).order_by(silences.c.starts_ms.desc())
        if active_at is not None:
            stmt = stmt.where(silences.c.ends_ms > active_at, silences.c.starts_ms <= active_at)
        with self.db.read() as conn:
            return [_silence(r) for r in conn.execute(stmt.limit(1000)).all()]

    def expire_silence(self, silence_id: str) -> None:
        now = now_ms()
        with self.db.write() as conn:
            conn.execute(
                update(silences)
                .where(silences.c.silence_id == silence_id, silences.c.ends_ms > now)
                .values(ends_ms=now)
            )

    # --- the retraining guard ---------------------------------------------------------

    def decide_retrain(
        self, model: str, monitor: str, alert_id: str, at_ms: int, cooldown_ms: int
    ) -> Decision:
        """Take the model's retraining slot unless one is in flight or the cooldown runs.

        The conditional update of the model's lock row is the decision: of two processes
        deciding at once, one update lands.
        """
        with self.db.write() as conn:
            base = {"model_name": model, "last_ms": 0, "event_id": None, "alert_id": None}
            insert_ignore(conn, locks, base, ["model_name"])
            lock = conn.execute(select(locks).where(locks.c.model_name == model)).one()
            if lock.event_id is not None and _in_flight(conn, int(lock.event_id)):
                decision = Decision(False, f"retraining #{lock.event_id} still in flight")
            else:
                done = conn.execute(
                    update(locks)
                    .where(locks.c.model_name == model, locks.c.last_ms <= at_ms - cooldown_ms)
                    .values(last_ms=at_ms, alert_id=alert_id, event_id=None)
                )
                if done.rowcount == 1:
                    decision = Decision(True, "retraining requested", int(lock.last_ms))
                else:
                    until = from_ms(int(lock.last_ms) + cooldown_ms)
                    when = "?" if until is None else f"{until:%Y-%m-%d %H:%M:%S} UTC"
                    decision = Decision(False, f"cooldown until {when}")
            self._record(conn, model, monitor, alert_id, decision, None)
        return decision

    def retrain_started(self, model: str, alert_id: str, event_id: int) -> None:
        with self.db.write() as conn:
            conn.execute(
                update(locks)
                .where(locks.c.model_name == model, locks.c.alert_id == alert_id)
                .values(event_id=event_id)
            )
            conn.execute(
                update(retrains)
                .where(retrains.c.alert_id == alert_id, retrains.c.decision == "emitted")
                .values(event_id=event_id)
            )

    def retrain_failed(self, model: str, monitor: str, alert_id: str, previous_ms: int) -> None:
        """The event could not be recorded: give the slot back."""
        with self.db.write() as conn:
            conn.execute(
                update(locks)
                .where(locks.c.model_name == model, locks.c.alert_id == alert_id)
                .values(last_ms=previous_ms)
            )
            self._record(conn, model, monitor, alert_id, Decision(False, "event failed"), None)

    def _record(
        self,
        conn: Connection,
        model: str,
        monitor: str,
        alert_id: str,
        decision: Decision,
        event_id: int | None,
    ) -> None:
        conn.execute(
            retrains.insert().values(
                model_name=model,
                monitor=monitor,
                alert_id=alert_id,
                decision="emitted" if decision.emit else "refused",
                reason=decision.reason,
                event_id=event_id,
                created_ms=now_ms(),
            )
        )

    def retrains(self, model: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        stmt = select(retrains).order_by(retrains.c.pk.desc()).limit(limit)
        if model is not None:
            stmt = stmt.where(retrains.c.model_name == model)
        with self.db.read() as conn:
            rows = conn.execute(stmt).all()
        return [
            {
                "model": r.model_name,
                "monitor": r.monitor,
                "alert_id": r.alert_id,
                "decision": r.decision,
                "reason": r.reason,
                "event_id": r.event_id,
                "at": from_ms(r.created_ms),
            }
            for r in rows
        ]


def _in_flight(conn: Connection, event_id: int) -> bool:
    """A run the event started (or will start) has not finished: its delivery is open,
    or the run it started is still running."""
    pending = conn.execute(
        select(func.count())
        .select_from(pipeline_outbox)
        .where(pipeline_outbox.c.event_pk == event_id, pipeline_outbox.c.state != "delivered")
    ).scalar_one()
    if pending:
        return True
    running = conn.execute(
        select(func.count())
        .select_from(pipeline_runs)
        .where(
            and_(
                pipeline_runs.c.trigger.like(f"event:%#{event_id}"),
                pipeline_runs.c.state == "running",
            )
        )
    ).scalar_one()
    return bool(running)
