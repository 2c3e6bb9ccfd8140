"""Fast JSON responses, and request ids."""

from __future__ import annotations

import itertools
import os
from typing import Any

import orjson
from starlette.responses import Response

__all__ = ["json_response", "new_request_id"]


def json_response(data: Any, status: int = 200) -> Response:
    return Response(
        orjson.dumps(data, option=orjson.OPT_SERIALIZE_NUMPY),
        status_code=status,
        media_type="application/json",
    )


class _RequestIds:
    """Request ids: 16 random hex digits drawn once per process, then a 16-digit counter.
    Unique across processes and restarts like ``uuid4().hex`` (also 32 hex digits), without
    a system call per request."""

    def __init__(self) -> None:
        self.reseed()

    def reseed(self) -> None:
        self.prefix = os.urandom(8).hex()
        self.counter = itertools.count()

    def next(self) -> str:
        return f"{self.prefix}{next(self.counter):016x}"


_IDS = _RequestIds()
os.register_at_fork(after_in_child=_IDS.reseed)


def new_request_id() -> str:
    """A new request id: 32 hex digits, unique across processes."""
    return _IDS.next()
