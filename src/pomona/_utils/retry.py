"""Retry calls that failed because a backend or server was unreachable."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

from pomona.errors import BackendUnavailableError

__all__ = ["retrying"]

T = TypeVar("T")


def retrying(fn: Callable[[], T], max_s: float, first_delay_s: float = 0.1) -> T:
    """Call ``fn``; on ``BackendUnavailableError`` retry with exponential backoff for ``max_s``."""
    deadline = time.monotonic() + max_s
    delay = first_delay_s
    while True:
        try:
            return fn()
        except BackendUnavailableError:
            if time.monotonic() + delay > deadline:
                raise
            time.sleep(delay)
            delay = min(delay * 2, 5.0)
