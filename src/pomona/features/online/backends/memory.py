"""An in-process online store, for tests and notebooks."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import ClassVar

from pomona.features.online.base import OnlineKey, OnlineRecord, OnlineStore

__all__ = ["MemoryOnlineStore"]


class MemoryOnlineStore(OnlineStore):
    """Records in a dict guarded by a lock; gone when the process ends."""

    name: ClassVar[str] = "memory"

    def __init__(self) -> None:
        self._data: dict[OnlineKey, OnlineRecord] = {}
        self._lock = threading.Lock()

    def write(self, records: Sequence[OnlineRecord]) -> int:
        written = 0
        with self._lock:
            for record in records:
                key = (record.view, record.entity_key)
                current = self._data.get(key)
                if current is None or record.event_ms >= current.event_ms:
                    self._data[key] = record
                    written += 1
        return written

    def read(self, keys: Sequence[OnlineKey]) -> list[OnlineRecord | None]:
        with self._lock:
            return [self._data.get(key) for key in keys]

    def delete_view(self, view: str) -> int:
        with self._lock:
            doomed = [k for k in self._data if k[0] == view]
            for key in doomed:
                del self._data[key]
        return len(doomed)

    def count(self, view: str) -> int:
        with self._lock:
            return sum(1 for k in self._data if k[0] == view)
