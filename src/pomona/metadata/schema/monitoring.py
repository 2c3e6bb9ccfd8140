"""Monitoring tables: monitors, their windows and metric points, alerts, silences, and the
retraining guard."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from pomona.metadata.schema._meta import metadata

__all__ = [
    "monitor_alerts",
    "monitor_points",
    "monitor_retrain_locks",
    "monitor_retrains",
    "monitor_silences",
    "monitor_windows",
    "monitors",
]

# Times are integer milliseconds since the Unix epoch, UTC; JSON is stored as text.
monitors = Table(
    "monitors",
    metadata,
    Column("pk", Integer, primary_key=True, autoincrement=True),
    Column("name", String(128), nullable=False, unique=True),
    Column("deployment", String(128), nullable=False),
    Column("spec", Text, nullable=False),
    Column("window_ms", BigInteger, nullable=False),
    Column("every_ms", BigInteger, nullable=False),
    Column("enabled", Boolean, nullable=False),
    Column("created_ms", BigInteger, nullable=False),
    Column("updated_ms", BigInteger, nullable=False),
    Column("cursor_ms", BigInteger),
    Column("feedback_ms", BigInteger),
    Column("last_run_ms", BigInteger),
    Index(None, "deployment"),
)

# One row per closed window: computed once; ``labels_ms`` and ``label_updates`` record
# when late feedback made its performance be recomputed.
monitor_windows = Table(
    "monitor_windows",
    metadata,
    Column("pk", Integer, primary_key=True, autoincrement=True),
    Column("monitor_pk", Integer, ForeignKey("monitors.pk", ondelete="CASCADE"), nullable=False),
    Column("start_ms", BigInteger, nullable=False),
    Column("end_ms", BigInteger, nullable=False),
    Column("rows", Integer, nullable=False),
    Column("profile", Text, nullable=False),
    Column("computed_ms", BigInteger, nullable=False),
    Column("labelled", Integer, nullable=False),
    Column("labels_ms", BigInteger),
    Column("label_updates", Integer, nullable=False),
    UniqueConstraint("monitor_pk", "start_ms"),
)

# The time series: one value per (monitor, window, metric, feature); feature '' is the
# whole window, 'version:3' a model version, 'variety=fuji' a slice.
monitor_points = Table(
    "monitor_points",
    metadata,
    Column("monitor_pk", Integer, ForeignKey("monitors.pk", ondelete="CASCADE"), nullable=False),
    Column("start_ms", BigInteger, nullable=False),
    Column("metric", String(64), nullable=False),
    Column("feature", String(250), nullable=False),
    Column("value", Float, nullable=False),
    PrimaryKeyConstraint("monitor_pk", "start_ms", "metric", "feature"),
    Index(None, "monitor_pk", "metric", "feature", "start_ms"),
)

# ``open_key`` is set while an alert is pending or firing and cleared when it resolves:
# its unique constraint keeps one open alert per (monitor, rule, group).
monitor_alerts = Table(
    "monitor_alerts",
    metadata,
    Column("pk", Integer, primary_key=True, autoincrement=True),
    Column("alert_id", String(32), nullable=False, unique=True),
    Column("monitor_pk", Integer, ForeignKey("monitors.pk", ondelete="CASCADE"), nullable=False),
    Column("deployment", String(128), nullable=False),
    Column("rule", String(128), nullable=False),
    Column("group_key", String(250), nullable=False),
    Column("open_key", String(400), unique=True),
    Column("state", String(16), nullable=False),
    Column("severity", String(16), nullable=False),
    Column("value", Float),
    Column("threshold", Float, nullable=False),
    Column("window_start_ms", BigInteger, nullable=False),
    Column("pending_ms", BigInteger, nullable=False),
    Column("fired_ms", BigInteger),
    Column("resolved_ms", BigInteger),
    Column("updated_ms", BigInteger, nullable=False),
    Column("silenced", Boolean, nullable=False),
    Column("acked_by", String(250)),
    Column("acked_ms", BigInteger),
    Column("ack_comment", Text),
    Column("message", Text, nullable=False),
    Column("details", Text, nullable=False),
    Index(None, "state", "updated_ms"),
    Index(None, "monitor_pk", "pending_ms"),
)

monitor_silences = Table(
    "monitor_silences",
    metadata,
    Column("pk", Integer, primary_key=True, autoincrement=True),
    Column("silence_id", String(32), nullable=False, unique=True),
    Column("monitor", String(128)),
    Column("deployment", String(128)),
    Column("rule", String(128)),
    Column("starts_ms", BigInteger, nullable=False),
    Column("ends_ms", BigInteger, nullable=False),
    Column("created_by", String(250), nullable=False),
    Column("comment", Text, nullable=False),
    Column("created_ms", BigInteger, nullable=False),
    Index(None, "ends_ms"),
)

# One row per model: a retraining is started by the process whose conditional update of
# this row lands (cooldown passed, no earlier one in flight).
monitor_retrain_locks = Table(
    "monitor_retrain_locks",
    metadata,
    Column("model_name", String(128), primary_key=True),
    Column("last_ms", BigInteger, nullable=False),
    Column("event_id", BigInteger),
    Column("alert_id", String(32)),
)

# Every retraining decision, taken or refused, with its reason: the audit trail.
monitor_retrains = Table(
    "monitor_retrains",
    metadata,
    Column("pk", Integer, primary_key=True, autoincrement=True),
    Column("model_name", String(128), nullable=False),
    Column("monitor", String(128), nullable=False),
    Column("alert_id", String(32), nullable=False),
    Column("decision", String(16), nullable=False),
    Column("reason", Text, nullable=False),
    Column("event_id", BigInteger),
    Column("created_ms", BigInteger, nullable=False),
    Index(None, "model_name", "created_ms"),
)
