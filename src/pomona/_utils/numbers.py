"""Whole numbers from clients: ASCII digits, within what a 64-bit database column holds.

``str.isdigit()`` is true for ``'²'`` and other characters that ``int()`` refuses, and a
30-digit number overflows every integer column (SQLite and PostgreSQL ``BIGINT``): text and
JSON numbers from a client are checked with these before they reach a query.
"""

from __future__ import annotations

__all__ = ["INT64_MAX", "parse_version_number"]

INT64_MAX = 2**63 - 1
"""The largest value of a signed 64-bit integer column."""


def parse_version_number(text: str) -> int | None:
    """The number ``text`` spells in ASCII digits, from 1 to ``INT64_MAX``; else ``None``."""
    if not (text.isascii() and text.isdigit()) or len(text) > 19:
        return None
    number = int(text)
    return number if 1 <= number <= INT64_MAX else None
