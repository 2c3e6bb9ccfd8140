"""Fast JSON responses, and request ids."""

from __future__ import annotations

import itertools
import os
from typing import Any

import orjson
from starlette.responses import Response

__all__ = ["json_response", "new_request_id"]


def json_response(data: Any, status: int = 200) -> Response:
    return Response(_dumps(data), status_code=status, media_type="application/json")


def _dumps(data: Any) -> bytes:
    """JSON bytes of ``data``, integers of any size included.

    JSON numbers have no size limit and the server stores what a client sent (an event
    payload, a study journal entry), but orjson writes integers of at most 64 bits: those
    beyond are written from their decimal digits instead.
    """
    try:
        return orjson.dumps(data, option=orjson.OPT_SERIALIZE_NUMPY)
    except orjson.JSONEncodeError as exc:
        if "64-bit" not in str(exc):
            raise
        return orjson.dumps(_wide_ints(data), option=orjson.OPT_SERIALIZE_NUMPY)


def _wide_ints(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _wide_ints(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_wide_ints(v) for v in value]
    if isinstance(value, int) and not isinstance(value, bool) and not _I64 <= value <= _U64:
        return orjson.Fragment(str(value).encode())
    return value


_I64, _U64 = -(2**63), 2**64 - 1


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
