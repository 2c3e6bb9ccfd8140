"""Times: aware UTC datetimes outside, integer epoch milliseconds in storage."""

from __future__ import annotations

import time
from datetime import UTC, datetime

__all__ = ["from_ms", "now_ms", "to_ms"]


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def from_ms(ms: int | None) -> datetime | None:
    return None if ms is None else datetime.fromtimestamp(ms / 1000, tz=UTC)


def to_ms(moment: datetime) -> int:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)
