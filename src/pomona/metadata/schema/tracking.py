"""Tracking tables: runs, params, tags, metrics, latest metrics, run artifacts."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
)

from pomona.metadata.schema._meta import metadata

__all__ = [
    "idempotency_keys",
    "latest_metrics",
    "metrics",
    "params",
    "run_artifacts",
    "runs",
    "tags",
]

# Times are integer milliseconds since the Unix epoch, UTC.
runs = Table(
    "runs",
    metadata,
    Column("pk", Integer, primary_key=True, autoincrement=True),
    Column("run_id", String(32), nullable=False, unique=True),
    Column("name", String(250), nullable=False),
    Column("experiment", String(250), nullable=False),
    Column("status", String(16), nullable=False),
    Column("start_ms", BigInteger, nullable=False),
    Column("end_ms", BigInteger),
    Column("heartbeat_ms", BigInteger),
    Column("parent_run_id", String(32)),
    Column("source", Text),
    Column("git_commit", String(64)),
    Column("git_dirty", Boolean),
    Column("deleted_ms", BigInteger),
    Index(None, "experiment", "start_ms"),
    Index(None, "status", "heartbeat_ms"),
    Index(None, "parent_run_id"),
    Index(None, "start_ms", "pk"),  # newest-first listings stop after one page
    sqlite_autoincrement=True,  # a purged run's pk is never handed to another run
)

params = Table(
    "params",
    metadata,
    Column("run_pk", Integer, ForeignKey("runs.pk", ondelete="CASCADE"), primary_key=True),
    Column("key", String(250), primary_key=True),
    Column("value", Text, nullable=False),
    Index(None, "key", "value"),
)

tags = Table(
    "tags",
    metadata,
    Column("run_pk", Integer, ForeignKey("runs.pk", ondelete="CASCADE"), primary_key=True),
    Column("key", String(250), primary_key=True),
    Column("value", Text, nullable=False),
)

# Narrow on purpose: one row per logged value. NaN is stored as NULL.
metrics = Table(
    "metrics",
    metadata,
    Column("run_pk", Integer, ForeignKey("runs.pk", ondelete="CASCADE"), nullable=False),
    Column("key", String(250), nullable=False),
    Column("step", BigInteger, nullable=False),
    Column("ts_ms", BigInteger, nullable=False),
    Column("value", Float),
    Index(None, "run_pk", "key", "step"),
)

# The last value of every metric of a run, for search and sort without scanning ``metrics``.
latest_metrics = Table(
    "latest_metrics",
    metadata,
    Column("run_pk", Integer, ForeignKey("runs.pk", ondelete="CASCADE"), primary_key=True),
    Column("key", String(250), primary_key=True),
    Column("step", BigInteger, nullable=False),
    Column("ts_ms", BigInteger, nullable=False),
    Column("value", Float),
    Index(None, "key", "value"),
)

run_artifacts = Table(
    "run_artifacts",
    metadata,
    Column("run_pk", Integer, ForeignKey("runs.pk", ondelete="CASCADE"), primary_key=True),
    Column("path", String(1000), primary_key=True),
    Column("digest", String(71), nullable=False, info={"blob_ref": True}),
    Column("size", BigInteger, nullable=False),
    Column("created_ms", BigInteger, nullable=False),
    Index(None, "digest"),
)

# Writes retried by remote clients carry a key; a key seen before is not applied again.
idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("created_ms", BigInteger, nullable=False),
)
