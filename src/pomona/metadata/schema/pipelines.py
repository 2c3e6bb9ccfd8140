"""Pipeline tables: runs, step runs, lineage edges, schedules, ticks, events and the outbox."""

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
    UniqueConstraint,
)

from pomona.metadata.schema._meta import metadata

__all__ = [
    "pipeline_artifacts",
    "pipeline_events",
    "pipeline_outbox",
    "pipeline_runs",
    "pipeline_schedules",
    "pipeline_steps",
    "pipeline_ticks",
]

# Times are integer milliseconds since the Unix epoch, UTC; JSON is stored as text.
pipeline_runs = Table(
    "pipeline_runs",
    metadata,
    Column("pk", Integer, primary_key=True, autoincrement=True),
    Column("run_id", String(32), nullable=False, unique=True),
    Column("pipeline", String(250), nullable=False),
    Column("target", Text, nullable=False),
    Column("state", String(16), nullable=False),
    Column("params", Text, nullable=False),
    Column("dag", Text, nullable=False),
    Column("executor", String(64), nullable=False),
    Column("trigger", String(250), nullable=False),
    Column("retry_of", String(32)),
    Column("start_ms", BigInteger, nullable=False),
    Column("end_ms", BigInteger),
    Column("heartbeat_ms", BigInteger),
    Column("error", Text),
    Index(None, "pipeline", "start_ms"),
    Index(None, "state", "heartbeat_ms"),
    sqlite_autoincrement=True,
)

# One row per step of a run; ``attempt`` counts tries, the error is the last one's.
pipeline_steps = Table(
    "pipeline_steps",
    metadata,
    Column("pk", Integer, primary_key=True, autoincrement=True),
    Column("run_pk", Integer, ForeignKey("pipeline_runs.pk", ondelete="CASCADE"), nullable=False),
    Column("name", String(250), nullable=False),
    Column("step", Text, nullable=False),
    Column("state", String(16), nullable=False),
    Column("attempt", Integer, nullable=False),
    Column("upstream", Text, nullable=False),
    Column("params", Text, nullable=False),
    Column("code_hash", String(71)),
    Column("cache_key", String(71)),
    Column("cache_hit", Boolean, nullable=False),
    Column("start_ms", BigInteger),
    Column("end_ms", BigInteger),
    Column("error", Text),
    Column("traceback", Text),
    Column("logs_digest", String(71), info={"blob_ref": True}),
    UniqueConstraint("run_pk", "name"),
    Index(None, "cache_key", "state"),
    sqlite_autoincrement=True,
)

# Lineage edges: the artifacts a step run consumed (input) and produced (output).
pipeline_artifacts = Table(
    "pipeline_artifacts",
    metadata,
    Column(
        "step_pk", Integer, ForeignKey("pipeline_steps.pk", ondelete="CASCADE"), primary_key=True
    ),
    Column("direction", String(8), primary_key=True),
    Column("name", String(250), primary_key=True),
    Column("digest", String(71), nullable=False, info={"blob_ref": True}),
    Column("materializer", String(64), nullable=False),
    Column("type_name", String(250), nullable=False),
    Column("size", BigInteger, nullable=False),
    Index(None, "digest", "direction"),
)

pipeline_schedules = Table(
    "pipeline_schedules",
    metadata,
    Column("pk", Integer, primary_key=True, autoincrement=True),
    Column("schedule_id", String(32), nullable=False, unique=True),
    Column("name", String(250), nullable=False, unique=True),
    Column("target", Text, nullable=False),
    Column("params", Text, nullable=False),
    Column("cron", String(250)),
    Column("interval_s", Float),
    Column("event_type", String(250)),
    Column("event_filter", Text),
    Column("missed", String(8), nullable=False),
    Column("executor", String(250)),
    Column("enabled", Boolean, nullable=False),
    Column("created_ms", BigInteger, nullable=False),
    Column("last_tick_ms", BigInteger, nullable=False),
    sqlite_autoincrement=True,
)

# A tick is claimed by inserting its row: the primary key lets one scheduler win.
pipeline_ticks = Table(
    "pipeline_ticks",
    metadata,
    Column(
        "schedule_pk",
        Integer,
        ForeignKey("pipeline_schedules.pk", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("tick_ms", BigInteger, primary_key=True),
    Column("owner", String(64), nullable=False),
    Column("claimed_ms", BigInteger, nullable=False),
    Column("outcome", String(16), nullable=False),
    Column("run_id", String(32)),
)

pipeline_events = Table(
    "pipeline_events",
    metadata,
    Column("pk", Integer, primary_key=True, autoincrement=True),
    Column("type", String(250), nullable=False),
    Column("payload", Text, nullable=False),
    Column("created_ms", BigInteger, nullable=False),
    Index(None, "type", "pk"),
    sqlite_autoincrement=True,
)

# One delivery per (event, trigger), written with the event: pending until a scheduler
# claims it (a lease that expires if that scheduler dies) and marks it delivered.
pipeline_outbox = Table(
    "pipeline_outbox",
    metadata,
    Column(
        "event_pk", Integer, ForeignKey("pipeline_events.pk", ondelete="CASCADE"), primary_key=True
    ),
    Column(
        "schedule_pk",
        Integer,
        ForeignKey("pipeline_schedules.pk", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("state", String(16), nullable=False),
    Column("owner", String(64)),
    Column("lease_until_ms", BigInteger),
    Column("attempts", Integer, nullable=False),
    Column("run_id", String(32)),
    Column("delivered_ms", BigInteger),
    Index(None, "state", "lease_until_ms"),
)
