"""Output for people (Rich tables) and for scripts (JSON), and value formatting."""

from __future__ import annotations

import json
import math
import sys
from datetime import datetime
from functools import cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

__all__ = [
    "cell",
    "err_console",
    "fmt_duration",
    "fmt_size",
    "fmt_time",
    "fmt_value",
    "out",
    "print_json",
    "short_id",
    "status_cell",
    "table",
]

_STATUS_STYLE = {
    "running": "cyan",
    "finished": "green",
    "failed": "red",
    "killed": "yellow",
    "dead": "magenta",
}


@cache
def out() -> Console:
    """The console for results (stdout)."""
    from rich.console import Console

    return Console(highlight=False, soft_wrap=True)


@cache
def err_console() -> Console:
    """The console for errors and notes (stderr)."""
    from rich.console import Console

    return Console(stderr=True, highlight=False, soft_wrap=True)


def print_json(data: Any) -> None:
    """Write ``data`` as indented JSON on stdout, for scripts (never wrapped or coloured)."""
    sys.stdout.write(json.dumps(data, indent=2, default=str, allow_nan=False) + "\n")
    sys.stdout.flush()


def table(*columns: str, title: str | None = None) -> Table:
    """A table in the house style: cells do not wrap (long text ends in …); a column whose
    name ends with '>' is right-aligned and never narrower than its name (numbers)."""
    from rich.table import Table

    t = Table(title=title, title_justify="left", header_style="bold", show_edge=False)
    for name in columns:
        number = name.endswith(">")
        header = name.removesuffix(">")
        t.add_column(
            header,
            justify="right" if number else "left",
            no_wrap=True,
            overflow="ellipsis",
            min_width=len(header) if number else None,
        )
    return t


def cell(value: object, style: str = "") -> Text:
    """A table cell for user data: text is never read as Rich markup."""
    from rich.text import Text

    return Text(fmt_value(value), style=style)


def status_cell(status: str, *, deleted: bool = False, short: bool = False) -> Text:
    """The run status in its colour; a deleted run says so (only 'deleted' when short)."""
    from rich.text import Text

    if deleted and short:
        return Text("deleted", style="dim")
    text = Text(status, style=_STATUS_STYLE.get(status, ""))
    if deleted:
        text.append(" (deleted)", style="dim")
    return text


def fmt_value(value: object) -> str:
    """Numbers with 4 significant digits; None as an em dash; other values as text."""
    if value is None:
        return "—"
    if value == "":
        return '""'
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return "nan" if math.isnan(value) else f"{value:.4g}"
    if isinstance(value, (list, dict)):
        return json.dumps(value, default=str)
    return str(value)


def fmt_time(moment: datetime | None, *, short: bool = False) -> str:
    """A UTC time shown in the local time zone: to the second, or ``MM-DD HH:MM`` if short."""
    if moment is None:
        return "—"
    return moment.astimezone().strftime("%m-%d %H:%M" if short else "%Y-%m-%d %H:%M:%S")


def fmt_duration(start: datetime, end: datetime | None) -> str:
    """``1.2s``, ``3m04s``, ``2h05m``; ``—`` while the run has not ended."""
    if end is None:
        return "—"
    seconds = max(0.0, (end - start).total_seconds())
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, sec = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes}m{sec:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


def fmt_size(size: int) -> str:
    """``512 B``, ``1.5 KiB``, ``20.0 MiB``."""
    value, unit = float(size), "B"
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            break
        value /= 1024
    return f"{size} B" if unit == "B" else f"{value:.1f} {unit}"


def short_id(run_id: str) -> str:
    """The first 8 characters: enough to name a run in any command (prefixes are accepted)."""
    return run_id[:8]
