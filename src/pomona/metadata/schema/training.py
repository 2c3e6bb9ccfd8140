"""Training tables: the journal of hyperparameter studies (Optuna's journal storage)."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, PrimaryKeyConstraint, String, Table, Text

from pomona.metadata.schema._meta import metadata

__all__ = ["study_journal"]

# One append-only log per study: entry ``seq`` (0, 1, 2, ...) is one storage operation
# (create trial, set param, report a value, finish) as JSON. Writers take the next ``seq``
# inside their transaction, so the log stays dense and in commit order.
study_journal = Table(
    "study_journal",
    metadata,
    Column("study", String(250), nullable=False),
    Column("seq", BigInteger, nullable=False, autoincrement=False),
    Column("entry", Text, nullable=False),
    Column("created_ms", BigInteger, nullable=False),
    PrimaryKeyConstraint("study", "seq"),
)
