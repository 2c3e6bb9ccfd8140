"""Schedules, schedule ticks (the scheduler lease), events and the outbox in the database."""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, delete, or_, select, update

from pomona._utils.clock import now_ms, to_ms
from pomona._utils.paging import decode_page_token, encode_page_token
from pomona.errors import AlreadyExistsError
from pomona.metadata import MetadataStore, insert_ignore, insert_returning
from pomona.metadata.schema import pipeline_events as events
from pomona.metadata.schema import pipeline_outbox as outbox
from pomona.metadata.schema import pipeline_schedules as schedules
from pomona.metadata.schema import pipeline_ticks as ticks
from pomona.pipelines import _rows
from pomona.pipelines._schedules import check_schedule
from pomona.pipelines.records import Event, Schedule, ScheduleNotFoundError
from pomona.types import Page

__all__ = ["Delivery", "SqlSchedules"]


@dataclass(frozen=True)
class Delivery:
    """An event claimed for one trigger: run the trigger's pipeline, then mark it delivered."""

    event: Event
    schedule: Schedule
    attempts: int


def _matches(schedule: Any, type_: str, payload: dict[str, Any]) -> bool:
    if not schedule.event_type or not fnmatch.fnmatchcase(type_, schedule.event_type):
        return False
    wanted = _rows.loads(schedule.event_filter)
    return all(payload.get(k) == v for k, v in wanted.items())


class SqlSchedules:
    """Schedules, ticks, events and outbox (mixed into ``SqlPipelineStore``)."""

    _db: MetadataStore

    def create_schedule(self, schedule: Schedule) -> Schedule:
        check_schedule(schedule)  # a body a client sent, too: nothing unreadable is stored
        row = {
            "schedule_id": schedule.schedule_id,
            "name": schedule.name,
            "target": schedule.target,
            "params": _rows.dumps(schedule.params),
            "cron": schedule.cron,
            "interval_s": schedule.interval_s,
            "event_type": schedule.event_type,
            "event_filter": _rows.dumps(schedule.event_filter),
            "missed": schedule.missed,
            "executor": schedule.executor,
            "enabled": schedule.enabled,
            "created_ms": to_ms(schedule.created_at),
            "last_tick_ms": to_ms(schedule.last_tick_at),
        }
        with self._db.write() as conn:
            if insert_returning(conn, schedules, row, ["name"], schedules.c.pk) is None:
                raise AlreadyExistsError(
                    f"A schedule named '{schedule.name}' already exists.",
                    hint="Pick another name, or delete it first.",
                    details={"schedule": schedule.name},
                )
        return schedule

    def _schedule_row(self, conn: Connection, name: str) -> Any:
        row = conn.execute(select(schedules).where(schedules.c.name == name)).first()
        if row is None:
            raise ScheduleNotFoundError(name)
        return row

    def get_schedule(self, name: str) -> Schedule:
        with self._db.read() as conn:
            return _rows.schedule_from_row(self._schedule_row(conn, name))

    def list_schedules(self) -> list[Schedule]:
        with self._db.read() as conn:
            rows = conn.execute(select(schedules).order_by(schedules.c.name)).all()
        return [_rows.schedule_from_row(r) for r in rows]

    def delete_schedule(self, name: str) -> None:
        with self._db.write() as conn:
            pks = select(schedules.c.pk).where(schedules.c.name == name).scalar_subquery()
            conn.execute(delete(outbox).where(outbox.c.schedule_pk == pks))
            conn.execute(delete(ticks).where(ticks.c.schedule_pk == pks))
            conn.execute(delete(schedules).where(schedules.c.name == name))

    # --- ticks: one scheduler wins each (schedule, tick) ---------------------------------

    def claim_tick(self, schedule_id: str, tick_ms: int, owner: str, outcome: str) -> bool:
        """Insert the tick's row; only the scheduler whose insert lands runs the tick."""
        with self._db.write() as conn:
            pk = conn.execute(
                select(schedules.c.pk).where(schedules.c.schedule_id == schedule_id)
            ).scalar()
            if pk is None:
                return False
            row = {
                "schedule_pk": pk,
                "tick_ms": tick_ms,
                "owner": owner,
                "claimed_ms": now_ms(),
                "outcome": outcome,
            }
            won = insert_ignore(conn, ticks, row, ["schedule_pk", "tick_ms"])
            conn.execute(
                update(schedules)
                .where(schedules.c.pk == pk, schedules.c.last_tick_ms < tick_ms)
                .values(last_tick_ms=tick_ms)
            )
            return won

    def set_tick_run(self, schedule_id: str, tick_ms: int, run_id: str) -> None:
        with self._db.write() as conn:
            pk = select(schedules.c.pk).where(schedules.c.schedule_id == schedule_id)
            conn.execute(
                update(ticks)
                .where(ticks.c.schedule_pk == pk.scalar_subquery(), ticks.c.tick_ms == tick_ms)
                .values(run_id=run_id)
            )

    def list_ticks(self, name: str) -> list[dict[str, Any]]:
        """Claimed ticks of a schedule, oldest first: tick_ms, owner, outcome, run_id."""
        with self._db.read() as conn:
            pk = self._schedule_row(conn, name).pk
            rows = conn.execute(
                select(ticks).where(ticks.c.schedule_pk == pk).order_by(ticks.c.tick_ms)
            ).all()
        return [
            {"tick_ms": r.tick_ms, "owner": r.owner, "outcome": r.outcome, "run_id": r.run_id}
            for r in rows
        ]

    # --- events and the outbox ----------------------------------------------------------

    def emit_event(self, type: str, payload: dict[str, Any]) -> Event:
        created = now_ms()
        with self._db.write() as conn:
            row = {"type": type, "payload": _rows.dumps(payload), "created_ms": created}
            pk = int(
                conn.execute(events.insert().values(**row).returning(events.c.pk)).scalar_one()
            )
            triggers = conn.execute(
                select(schedules).where(
                    schedules.c.enabled.is_(True), schedules.c.event_type.is_not(None)
                )
            ).all()
            deliveries = [
                {"event_pk": pk, "schedule_pk": s.pk, "state": "pending", "attempts": 0}
                for s in triggers
                if _matches(s, type, payload)
            ]
            if deliveries:
                conn.execute(outbox.insert(), deliveries)
            stored = conn.execute(select(events).where(events.c.pk == pk)).one()
        return _rows.event_from_row(stored)

    def list_events(
        self, type: str | None = None, *, limit: int = 50, page_token: str | None = None
    ) -> Page[Event]:
        offset = decode_page_token(page_token)
        query = select(events).order_by(events.c.pk.desc()).limit(limit + 1).offset(offset)
        if type is not None:
            query = query.where(events.c.type == type)
        with self._db.read() as conn:
            rows = conn.execute(query).all()
        more = len(rows) > limit
        return Page(
            items=[_rows.event_from_row(r) for r in rows[:limit]],
            next_page_token=encode_page_token(offset + limit) if more else None,
        )

    def claim_deliveries(self, owner: str, lease_s: float, limit: int = 10) -> list[Delivery]:
        """Claim pending deliveries (and ones whose claimer's lease ran out)."""
        now = now_ms()
        open_ = or_(
            outbox.c.state == "pending",
            (outbox.c.state == "claimed") & (outbox.c.lease_until_ms < now),
        )
        claimed: list[Delivery] = []
        with self._db.write() as conn:
            rows = conn.execute(
                select(outbox).where(open_).order_by(outbox.c.event_pk).limit(limit)
            ).all()
            for row in rows:
                done = conn.execute(
                    update(outbox)
                    .where(
                        outbox.c.event_pk == row.event_pk,
                        outbox.c.schedule_pk == row.schedule_pk,
                        open_,
                    )
                    .values(
                        state="claimed",
                        owner=owner,
                        lease_until_ms=now + int(lease_s * 1000),
                        attempts=outbox.c.attempts + 1,
                    )
                )
                if done.rowcount != 1:
                    continue
                event = conn.execute(select(events).where(events.c.pk == row.event_pk)).one()
                sched = conn.execute(
                    select(schedules).where(schedules.c.pk == row.schedule_pk)
                ).one()
                claimed.append(
                    Delivery(
                        _rows.event_from_row(event),
                        _rows.schedule_from_row(sched),
                        row.attempts + 1,
                    )
                )
        return claimed

    def extend_lease(self, event_id: int, schedule_id: str, owner: str, lease_s: float) -> None:
        with self._db.write() as conn:
            pk = select(schedules.c.pk).where(schedules.c.schedule_id == schedule_id)
            conn.execute(
                update(outbox)
                .where(
                    outbox.c.event_pk == event_id,
                    outbox.c.schedule_pk == pk.scalar_subquery(),
                    outbox.c.owner == owner,
                    outbox.c.state == "claimed",
                )
                .values(lease_until_ms=now_ms() + int(lease_s * 1000))
            )

    def finish_delivery(self, event_id: int, schedule_id: str, run_id: str | None) -> None:
        with self._db.write() as conn:
            pk = select(schedules.c.pk).where(schedules.c.schedule_id == schedule_id)
            conn.execute(
                update(outbox)
                .where(
                    outbox.c.event_pk == event_id,
                    outbox.c.schedule_pk == pk.scalar_subquery(),
                    outbox.c.state != "delivered",
                )
                .values(state="delivered", run_id=run_id, delivered_ms=now_ms())
            )

    def list_deliveries(self) -> list[dict[str, Any]]:
        """Every outbox row: event id, schedule name, state, attempts, run id."""
        with self._db.read() as conn:
            rows = conn.execute(
                select(outbox, schedules.c.name)
                .join(schedules, schedules.c.pk == outbox.c.schedule_pk)
                .order_by(outbox.c.event_pk, schedules.c.name)
            ).all()
        return [
            {
                "event_id": r.event_pk,
                "schedule": r.name,
                "state": r.state,
                "attempts": r.attempts,
                "run_id": r.run_id,
            }
            for r in rows
        ]
