"""Serving tables: deployments, rollout decisions, the prediction-log file index, feedback."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
)

from pomona.metadata.schema._meta import metadata

__all__ = ["deployment_decisions", "deployments", "feedback", "prediction_log_files"]

# Times are integer milliseconds since the Unix epoch, UTC; JSON is stored as Text.
deployments = Table(
    "deployments",
    metadata,
    Column("pk", Integer, primary_key=True, autoincrement=True),
    Column("name", String(128), nullable=False, unique=True),
    Column("environment", String(64), nullable=False),
    Column("region", String(64), nullable=False),
    Column("description", Text, nullable=False),
    Column("policy", Text, nullable=False),
    Column("revision", Integer, nullable=False),
    Column("created_by", String(250), nullable=False),
    Column("created_ms", BigInteger, nullable=False),
    Column("updated_ms", BigInteger, nullable=False),
)

deployment_decisions = Table(
    "deployment_decisions",
    metadata,
    Column("pk", Integer, primary_key=True, autoincrement=True),
    Column(
        "deployment_pk", Integer, ForeignKey("deployments.pk", ondelete="CASCADE"), nullable=False
    ),
    Column("rollout_id", String(32), nullable=False),
    Column("action", String(32), nullable=False),
    Column("from_weight", Integer),
    Column("to_weight", Integer),
    Column("champion", String(200)),
    Column("challenger", String(200)),
    Column("actor", String(250), nullable=False),
    Column("reason", Text, nullable=False),
    Column("evidence", Text, nullable=False),
    Column("created_ms", BigInteger, nullable=False),
    Index(None, "deployment_pk", "created_ms"),
)

prediction_log_files = Table(
    "prediction_log_files",
    metadata,
    Column("pk", Integer, primary_key=True, autoincrement=True),
    Column("deployment", String(128), nullable=False),
    Column("model_name", String(128), nullable=False),
    Column("model_version", Integer, nullable=False),
    Column("variant", String(16), nullable=False),
    Column("hour_ms", BigInteger, nullable=False),
    Column("digest", String(71), nullable=False, info={"blob_ref": True}),
    Column("rows", Integer, nullable=False),
    Column("min_ts_ms", BigInteger, nullable=False),
    Column("max_ts_ms", BigInteger, nullable=False),
    Column("created_ms", BigInteger, nullable=False),
    Index(None, "deployment", "hour_ms"),
    Index(None, "digest"),
)

feedback = Table(
    "feedback",
    metadata,
    Column("request_id", String(128), primary_key=True),
    Column("deployment", String(128), nullable=False),
    Column("label", Text, nullable=False),
    Column("received_ms", BigInteger, nullable=False),
    Column("source", String(250), nullable=False),
    Index(None, "deployment", "received_ms"),
)
