"""Dialect-aware statements shared by the domains (SQLite and PostgreSQL in lockstep)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Connection, Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.elements import ColumnElement

__all__ = ["insert_ignore", "insert_returning", "upsert"]


_UPSERTS: dict[tuple[object, ...], Any] = {}  # statements are immutable: build each once


def _insert(conn: Connection, table: Table) -> Any:
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def upsert(
    conn: Connection,
    table: Table,
    rows: Sequence[dict[str, Any]],
    keys: Sequence[str],
    update: Sequence[str],
    where: Callable[[Any], ColumnElement[bool]] | None = None,
) -> None:
    """Insert ``rows``; on a key conflict update the ``update`` columns.

    ``where(excluded)`` may restrict the update; ``excluded`` holds the incoming row.
    """
    if not rows:
        return
    cache_key = (conn.dialect.name, table.name, tuple(keys), tuple(update), where)
    stmt = _UPSERTS.get(cache_key)
    if stmt is None:
        base = _insert(conn, table)
        stmt = base.on_conflict_do_update(
            index_elements=list(keys),
            set_={col: base.excluded[col] for col in update},
            where=where(base.excluded) if where is not None else None,
        )
        _UPSERTS[cache_key] = stmt
    conn.execute(stmt, list(rows))


def insert_ignore(conn: Connection, table: Table, row: dict[str, Any], keys: Sequence[str]) -> bool:
    """Insert one row unless its key exists; returns whether it was inserted."""
    stmt = (
        _insert(conn, table)
        .values(**row)
        .on_conflict_do_nothing(index_elements=list(keys))
        .returning(*(table.c[k] for k in keys))
    )
    return conn.execute(stmt).first() is not None


def insert_returning(
    conn: Connection, table: Table, row: dict[str, Any], keys: Sequence[str], column: Any
) -> Any:
    """Insert one row unless its key exists; returns ``column`` of the new row, else ``None``."""
    stmt = (
        _insert(conn, table)
        .values(**row)
        .on_conflict_do_nothing(index_elements=list(keys))
        .returning(column)
    )
    return conn.execute(stmt).scalar()
