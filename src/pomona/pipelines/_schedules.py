"""Schedules: checking them, and when their latest tick was (cron in UTC, or an interval)."""

from __future__ import annotations

import math
import re
import uuid
from datetime import UTC, datetime
from typing import Any

from pomona._utils.clock import from_ms, now_ms, to_ms
from pomona.errors import ConfigError, InvalidInputError
from pomona.pipelines.records import Schedule

__all__ = ["MAX_INTERVAL_S", "MISSED_POLICIES", "check_schedule", "latest_tick", "new_schedule"]

MISSED_POLICIES = ("once", "skip")
MAX_INTERVAL_S = 3660 * 86_400.0
"""The longest interval of a schedule: ten years (a tick time must stay a datetime)."""
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,249}$")


def _croniter() -> Any:
    try:
        from croniter import croniter  # type: ignore[import-untyped]
    except ImportError as exc:  # pragma: no cover - a core dependency
        raise ConfigError("Cron schedules need croniter: pip install croniter.") from exc
    return croniter


def new_schedule(
    name: str,
    target: str,
    *,
    cron: str | None,
    interval_s: float | None,
    on_event: str | None,
    event_filter: dict[str, Any],
    params: dict[str, Any],
    missed: str,
    executor: str | None,
) -> Schedule:
    """A checked schedule, created now (its first tick is the first one after now)."""
    now = from_ms(now_ms())
    assert now is not None
    return check_schedule(
        Schedule(
            schedule_id=uuid.uuid4().hex,
            name=name,
            target=target,
            params=params,
            cron=cron,
            interval_s=interval_s,
            event_type=on_event,
            event_filter=event_filter,
            missed=missed,
            executor=executor,
            enabled=True,
            created_at=now,
            last_tick_at=now,
        )
    )


def check_schedule(schedule: Schedule) -> Schedule:
    """``schedule`` if it can be stored and ticked, else ``InvalidInputError`` naming the
    field: however it was made (``new_schedule``, or a body a client sent), nothing the
    scheduler cannot read back is stored."""
    name = schedule.name
    if not isinstance(name, str) or not _NAME.match(name):
        raise InvalidInputError(
            f"'{name}' is not a schedule name.",
            hint="Use letters, digits, '.', '-' and '_' (at most 250).",
            details={"field": "name"},
        )
    cron, interval_s = schedule.cron, schedule.interval_s
    given = [x for x in (cron, interval_s, schedule.event_type) if x is not None]
    if len(given) != 1:
        raise InvalidInputError(
            f"Schedule '{name}' needs exactly one of cron, interval_s or on_event.",
            details={"field": "cron"},
        )
    if cron is not None and not (isinstance(cron, str) and _croniter().is_valid(cron)):
        raise InvalidInputError(
            f"Schedule '{name}': '{cron}' is not a cron expression.",
            hint="Five fields, minute hour day month weekday, e.g. '0 3 * * *' (UTC).",
            details={"field": "cron"},
        )
    if interval_s is not None and not (
        isinstance(interval_s, int | float)
        and not isinstance(interval_s, bool)
        and math.isfinite(interval_s)
        and 0 < interval_s <= MAX_INTERVAL_S
    ):
        raise InvalidInputError(
            f"Schedule '{name}': interval_s must be a positive number of seconds, at most "
            f"{MAX_INTERVAL_S:g} ({MAX_INTERVAL_S / 86_400:g} days).",
            details={"field": "interval_s"},
        )
    if schedule.missed not in MISSED_POLICIES:
        raise InvalidInputError(
            f"Schedule '{name}': missed must be 'once' or 'skip', not '{schedule.missed}'.",
            details={"field": "missed"},
        )
    for field in ("created_at", "last_tick_at"):
        moment = getattr(schedule, field)
        if not isinstance(moment, datetime) or moment.tzinfo is None:
            raise InvalidInputError(
                f"Schedule '{name}': {field} must be a time with its zone (ISO 8601).",
                details={"field": field},
            )
    return schedule


def latest_tick(schedule: Schedule, at_ms: int) -> int | None:
    """The latest tick at or before ``at_ms`` (epoch ms), or ``None`` (event triggers,
    or no tick since the schedule was created). Cron expressions are read in UTC; a sixth
    field gives seconds."""
    created = to_ms(schedule.created_at)
    if schedule.cron:
        moment = datetime.fromtimestamp((at_ms + 1) / 1000, tz=UTC)  # a tick at at_ms counts
        tick = round(_croniter()(schedule.cron, moment).get_prev(float) * 1000)
    elif schedule.interval_s:
        step = max(1, int(schedule.interval_s * 1000))
        tick = created + ((at_ms - created) // step) * step
    else:
        return None
    return tick if tick > created else None
