"""An in-memory SQLite database shared by every thread of the process: for tests."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, ClassVar

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.pool import StaticPool

from pomona.metadata.base import MetadataStore

__all__ = ["MemoryMetadataStore"]


class MemoryMetadataStore(MetadataStore):
    """Lives as long as the object; ``memory://`` in configuration."""

    name: ClassVar[str] = "memory"

    def __init__(self, url: str = "memory://", **options: Any) -> None:
        super().__init__(url)
        self._lock = threading.RLock()

    @property
    def safe_url(self) -> str:
        return "memory://"

    def _create_engine(self) -> Engine:
        engine = create_engine(
            "sqlite://", poolclass=StaticPool, connect_args={"check_same_thread": False}
        )

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.isolation_level = None
            dbapi_conn.execute("PRAGMA foreign_keys=ON")

        @event.listens_for(engine, "begin")
        def _on_begin(conn: Connection) -> None:
            conn.exec_driver_sql("BEGIN")

        return engine

    @contextmanager
    def write(self) -> Iterator[Connection]:
        with self._lock, super().write() as conn:
            yield conn

    @contextmanager
    def read(self) -> Iterator[Connection]:
        with self._lock, super().read() as conn:
            yield conn

    def initialize(self) -> None:
        with self._lock:
            super().initialize()

    def exists(self) -> bool:
        return self._engine is not None

    def backup(self, folder: Path) -> str:
        return "nothing to back up: the database lives in memory"
