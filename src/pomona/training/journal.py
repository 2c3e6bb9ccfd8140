"""The journal of hyperparameter studies, kept in the metadata database.

Optuna's ``JournalStorage`` replays an append-only log of storage operations; this module
keeps one such log per study in the ``study_journal`` table, so a study lives in the
workspace's database (SQLite or PostgreSQL) and any number of processes, on this machine
or elsewhere (through the server), work on it at once.

Appends are one short write transaction each: the writer reads the study's last ``seq``
and inserts the next ones. On SQLite write transactions take the lock up front
(``BEGIN IMMEDIATE`` with a busy timeout), so writers queue instead of failing with
"database is locked"; on PostgreSQL two writers racing for the same ``seq`` collide on the
primary key and the loser retries. Either way the log stays dense and in commit order, which
is what a reader that asks for "everything after entry n" needs.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from sqlalchemy import Connection, delete

from pomona._utils.clock import now_ms
from pomona.errors import ConflictError, InvalidInputError
from pomona.metadata import MetadataStore
from pomona.metadata.schema import study_journal
from pomona.types import INT64_MAX

__all__ = ["MAX_READ", "MAX_SEQ", "StudyJournal", "StudyJournalAPI", "check_study_name"]

MAX_READ = 5000
"""Entries returned by one read; callers page with ``start``."""
MAX_SEQ = INT64_MAX - MAX_READ
"""The last ``start`` a reader may ask for: ``seq`` is a 64-bit column, and a read or an
append covers up to ``MAX_READ`` entries from there."""
_RETRIES = 50


class StudyJournalAPI(Protocol):
    """Read and append a study's journal (embedded service, or the server over HTTP)."""

    def read_entries(self, study: str, start: int = 0, limit: int = MAX_READ) -> list[Any]:
        """Entries ``start``, ``start + 1``, … (at most ``limit``), oldest first."""
        ...

    def append_entries(
        self, study: str, entries: Sequence[Mapping[str, Any]], *, read_from: int
    ) -> list[Any]:
        """Append entries, then return the entries from ``read_from`` on (at most
        ``MAX_READ``; they include the appended ones), in one round trip."""
        ...


def check_study_name(name: str) -> str:
    if not name or len(name) > 250 or not name.isprintable() or "/" in name:
        raise InvalidInputError(
            f"'{name}' is not a study name (1–250 printable characters, no '/').",
            details={"field": "study"},
        )
    return name


def _check_read(study: str, start: int, limit: int) -> None:
    check_study_name(study)
    if not 0 <= start <= MAX_SEQ or not 1 <= limit <= MAX_READ:
        raise InvalidInputError(
            f"Read entries from 0 <= start <= {MAX_SEQ}, at most {MAX_READ} at a time "
            f"(start={start}, limit={limit}).",
            details={"field": "start" if 1 <= limit <= MAX_READ else "limit"},
        )


def _sql(conn: Connection, text: str) -> str:
    """``text`` with ``?`` placeholders in the driver's style (``%s`` for psycopg)."""
    return text if conn.dialect.paramstyle == "qmark" else text.replace("?", "%s")


# Plain driver SQL: this runs once or twice per trial, and SQLAlchemy's statement
# compilation would cost more than the database does.
_MAX = "SELECT MAX(seq) FROM study_journal WHERE study = ?"
_INSERT = "INSERT INTO study_journal (study, seq, entry, created_ms) VALUES (?, ?, ?, ?)"
_SELECT = "SELECT entry FROM study_journal WHERE study = ? AND seq >= ? AND seq < ? ORDER BY seq"


def _read(conn: Connection, study: str, start: int, stop: int) -> list[Any]:
    rows = conn.exec_driver_sql(_sql(conn, _SELECT), (study, start, stop)).fetchall()
    return [json.loads(r[0]) for r in rows]


class StudyJournal:
    """``StudyJournalAPI`` on a metadata store."""

    def __init__(self, metadata: MetadataStore) -> None:
        self._db = metadata

    def read_entries(self, study: str, start: int = 0, limit: int = MAX_READ) -> list[Any]:
        _check_read(study, start, limit)
        with self._db.read() as conn:
            return _read(conn, study, start, start + limit)

    def append_entries(
        self, study: str, entries: Sequence[Mapping[str, Any]], *, read_from: int
    ) -> list[Any]:
        _check_read(study, read_from, MAX_READ)
        if not entries:
            raise InvalidInputError("Nothing to append.", details={"field": "entries"})
        texts = [json.dumps(e, separators=(",", ":")) for e in entries]
        try:  # the usual case: nobody wrote since the caller last read
            self._insert_at(study, texts, read_from)
            return [dict(e) for e in entries]
        except ConflictError:
            pass
        for attempt in range(_RETRIES):
            try:
                first, others = self._append(study, texts, read_from)
            except ConflictError:  # another writer took the same seq (PostgreSQL): retry
                time.sleep(min(0.05, 0.001 * 2**attempt))
                continue
            if first > read_from + len(others):  # more than MAX_READ others: the caller pages
                return others
            return [*others, *(dict(e) for e in entries)]
        raise ConflictError(
            f"Could not append to the journal of study '{study}' after {_RETRIES} tries.",
            hint="Too many writers at once; retry.",
        )

    def _insert_at(self, study: str, texts: list[str], first: int) -> None:
        """Insert at ``first``; a ``ConflictError`` says another writer was there first."""
        with self._db.write() as conn:
            stamp = now_ms()
            rows = [(study, first + i, text, stamp) for i, text in enumerate(texts)]
            conn.exec_driver_sql(_sql(conn, _INSERT), rows)

    def _append(self, study: str, texts: list[str], read_from: int) -> tuple[int, list[Any]]:
        """Insert after the last entry; returns the first new ``seq`` and the entries
        others wrote from ``read_from`` up to it (at most ``MAX_READ``)."""
        with self._db.write() as conn:
            last = conn.exec_driver_sql(_sql(conn, _MAX), (study,)).scalar()
            first = 0 if last is None else int(last) + 1
            stamp = now_ms()
            rows = [(study, first + i, text, stamp) for i, text in enumerate(texts)]
            conn.exec_driver_sql(_sql(conn, _INSERT), rows)
            stop = min(first, read_from + MAX_READ)
            return first, _read(conn, study, read_from, stop) if stop > read_from else []

    def delete_study(self, study: str) -> None:
        """Forget a study's journal (idempotent)."""
        with self._db.write() as conn:
            conn.execute(delete(study_journal).where(study_journal.c.study == study))
