"""SQLite: the embedded default. WAL journal, a busy timeout, and write transactions that
take the write lock up front (``BEGIN IMMEDIATE``) so concurrent writers queue instead of
failing with "database is locked"."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import make_url

from pomona.metadata.base import MetadataStore

__all__ = ["SQLiteConfig", "SQLiteMetadataStore"]


class SQLiteConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    busy_timeout_s: float = Field(30.0, gt=0)


def _install_pragmas(engine: Engine, busy_timeout_s: float, wal: bool) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: sqlite3.Connection, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # let SQLAlchemy's BEGIN below start transactions
        cur = dbapi_conn.cursor()
        if wal:
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute(f"PRAGMA busy_timeout={int(busy_timeout_s * 1000)}")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        write = conn.get_execution_options().get("pomona_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


class SQLiteMetadataStore(MetadataStore):
    """A SQLite file (``sqlite:///path/to/pomona.db``)."""

    name: ClassVar[str] = "sqlite"

    def __init__(self, url: str, **options: Any) -> None:
        super().__init__(url)
        self._config = SQLiteConfig(**options)
        database = make_url(url).database
        self._path = Path(database) if database else None

    @property
    def path(self) -> Path | None:
        return self._path

    def _create_engine(self) -> Engine:
        if self._path is not None:
            self._path.parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            self._url,
            connect_args={"timeout": self._config.busy_timeout_s, "check_same_thread": False},
        )
        _install_pragmas(engine, self._config.busy_timeout_s, wal=True)
        return engine

    def _unavailable(self, exc: sa_exc.DBAPIError) -> bool:
        return super()._unavailable(exc) or "unable to open" in str(exc.orig)

    def exists(self) -> bool:
        return self._path is not None and self._path.is_file()

    def backup(self, folder: Path) -> str:
        if self._path is None or not self._path.is_file():
            return "nothing to back up"
        folder.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
        dest = folder / f"{self._path.stem}-{stamp}.db"
        src = sqlite3.connect(str(self._path))
        try:
            out = sqlite3.connect(str(dest))
            try:
                src.backup(out)  # consistent even while others write (WAL)
            finally:
                out.close()
        finally:
            src.close()
        return str(dest)
