"""Times: aware UTC datetimes outside, integer epoch milliseconds in storage."""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime

__all__ = ["MAX_MS", "MIN_MS", "from_ms", "now_ms", "to_ms"]

log = logging.getLogger("pomona")

_MIN = datetime(1, 1, 1, tzinfo=UTC)
_MAX = datetime(9999, 12, 31, 23, 59, 59, 999000, tzinfo=UTC)
MIN_MS = -62_135_596_800_000
"""Epoch milliseconds of 0001-01-01T00:00:00Z, the earliest time a datetime holds."""
MAX_MS = 253_402_300_799_999
"""Epoch milliseconds of 9999-12-31T23:59:59.999Z, the latest time a datetime holds."""


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def from_ms(ms: int | None) -> datetime | None:
    """The UTC datetime of epoch milliseconds. A stored value beyond what a datetime holds
    (a row written before its bounds were checked) reads as the nearest one, with a log
    line, rather than failing every listing that meets it."""
    if ms is None:
        return None
    if MIN_MS <= ms <= MAX_MS:
        return datetime.fromtimestamp(ms / 1000, tz=UTC)
    clamped = _MIN if ms < MIN_MS else _MAX
    log.warning("a stored time of %d ms is out of range; read as %s", ms, clamped.isoformat())
    return clamped


def to_ms(moment: datetime) -> int:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)
