"""How values look on the pages: times, durations, numbers, sizes."""

from __future__ import annotations

import math
from datetime import UTC, datetime

from pomona.types import Run, RunStatus

__all__ = ["fmt_bytes", "fmt_duration", "fmt_seconds", "fmt_time", "fmt_value"]

_UNITS = ("B", "KB", "MB", "GB", "TB")


def fmt_time(moment: datetime | None) -> str:
    """``2026-11-03 14:22:05`` in UTC, or an em dash."""
    if moment is None:
        return "—"
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


def fmt_seconds(seconds: float) -> str:
    """A duration as people say it: ``850 ms``, ``12.3 s``, ``4 min 05 s``, ``2 h 03 min``."""
    if seconds < 1:
        return f"{max(0, round(seconds * 1000))} ms"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes:02d} min"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h"


def fmt_duration(run: Run, now: datetime | None = None) -> str:
    """How long the run took, or has been running so far."""
    end = run.end_at
    if end is None:
        if run.status is not RunStatus.RUNNING:
            return "—"
        end = now or datetime.now(UTC)
    return fmt_seconds((end - run.start_at).total_seconds())


def fmt_value(value: float | str | None) -> str:
    """A metric value with four significant digits, without exponent for everyday sizes."""
    if value is None:
        return "—"
    if isinstance(value, str):
        return value
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "∞" if value > 0 else "-∞"
    if value == 0:
        return "0"
    size = abs(value)
    if size >= 1e9 or size < 1e-4:
        return f"{value:.4g}"
    if value.is_integer():
        return f"{int(value)}"
    decimals = max(0, 3 - math.floor(math.log10(size)))
    text = f"{value:.{decimals}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def fmt_bytes(size: int) -> str:
    """``512 B``, ``1.5 KB``, ``3.2 MB``."""
    amount = float(size)
    for unit in _UNITS:
        if amount < 1024 or unit == _UNITS[-1]:
            return f"{int(amount)} {unit}" if unit == "B" else f"{amount:.1f} {unit}"
        amount /= 1024
    raise AssertionError("unreachable")
