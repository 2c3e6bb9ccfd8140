"""The default online store: one SQLite file, one row per (feature view, entity)."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import ClassVar

import orjson

from pomona.errors import BackendError, BackendUnavailableError
from pomona.features.online.base import OnlineKey, OnlineRecord, OnlineStore

__all__ = ["SqliteOnlineStore"]

_SEP = "\x1f"
_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS online_features ("
    " key TEXT PRIMARY KEY, event_ms INTEGER NOT NULL, payload BLOB NOT NULL) WITHOUT ROWID"
)
_UPSERT = (
    "INSERT INTO online_features (key, event_ms, payload) VALUES (?, ?, ?) "
    "ON CONFLICT (key) DO UPDATE SET event_ms = excluded.event_ms, payload = excluded.payload "
    "WHERE excluded.event_ms >= online_features.event_ms"
)
# One statement for any number of keys: the keys travel as one JSON array parameter, and
# the rows come back in their order (NULLs where a key is not stored).
_READ = (
    "SELECT o.event_ms, o.payload FROM json_each(?) AS j "
    "LEFT JOIN online_features AS o ON o.key = j.value ORDER BY j.key"
)


class SqliteOnlineStore(OnlineStore):
    """Rows keyed ``view␟entity_key`` in a ``WITHOUT ROWID`` table; WAL mode, so readers
    never wait for a materialisation. One connection per thread, opened on first use."""

    name: ClassVar[str] = "sqlite"

    def __init__(self, path: str | Path, *, busy_timeout_s: float = 30.0) -> None:
        self.path = Path(path)
        self._timeout = busy_timeout_s
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._lock = threading.Lock()

    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            with self._translated("open"):
                self.path.parent.mkdir(parents=True, exist_ok=True)
                conn = sqlite3.connect(
                    self.path,
                    timeout=self._timeout,
                    isolation_level=None,
                    check_same_thread=False,
                )
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA synchronous=NORMAL")
                conn.execute("PRAGMA mmap_size=268435456")  # reads without a copy per page
                conn.execute("PRAGMA cache_size=-65536")  # 64 MiB of pages per connection
                conn.execute(_SCHEMA)
            self._local.conn = conn
            with self._lock:
                self._all.append(conn)
        return conn

    @contextmanager
    def _translated(self, what: str) -> Iterator[None]:
        try:
            yield
        except sqlite3.OperationalError as exc:
            raise BackendUnavailableError(
                f"The online store {self.path} cannot {what}: {exc}.",
                hint="Check the path in features.online_url and that the disk is writable.",
            ) from exc
        except (sqlite3.Error, OSError) as exc:
            raise BackendError(f"The online store {self.path} failed to {what}: {exc}.") from exc

    def write(self, records: Sequence[OnlineRecord]) -> int:
        if not records:
            return 0
        conn = self._conn()
        rows = [(r.view + _SEP + r.entity_key, r.event_ms, r.payload) for r in records]
        with self._translated("write"):
            conn.execute("BEGIN IMMEDIATE")
            try:
                before = conn.total_changes
                conn.executemany(_UPSERT, rows)
                written = conn.total_changes - before
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        return written

    def read(self, keys: Sequence[OnlineKey]) -> list[OnlineRecord | None]:
        if not keys:
            return []
        wanted = orjson.dumps([view + _SEP + entity for view, entity in keys])
        with self._translated("read"):
            rows = self._conn().execute(_READ, (wanted,)).fetchall()
        return [
            None if payload is None else OnlineRecord(view, entity, event_ms, payload)
            for (view, entity), (event_ms, payload) in zip(keys, rows, strict=True)
        ]

    def delete_view(self, view: str) -> int:
        with self._translated("delete"):
            cur = self._conn().execute(
                "DELETE FROM online_features WHERE key >= ? AND key < ?",
                (view + _SEP, view + chr(ord(_SEP) + 1)),
            )
        return cur.rowcount

    def count(self, view: str) -> int:
        with self._translated("count"):
            (n,) = (
                self._conn()
                .execute(
                    "SELECT count(*) FROM online_features WHERE key >= ? AND key < ?",
                    (view + _SEP, view + chr(ord(_SEP) + 1)),
                )
                .fetchone()
            )
        return int(n)

    def close(self) -> None:
        with self._lock:
            conns, self._all = self._all, []
        for conn in conns:
            conn.close()
        self._local = threading.local()
