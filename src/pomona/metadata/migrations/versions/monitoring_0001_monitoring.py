"""Monitoring: monitors, windows, metric points, alerts, silences, the retraining guard.

Revision ID: monitoring_0001
Revises: 0002
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "monitoring_0001"
down_revision = "0002"
branch_labels = ("monitoring",)
depends_on = None


def _monitor_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["monitor_pk"], ["monitors.pk"], ondelete="CASCADE", name=f"fk_{table}_monitor_pk_monitors"
    )


def upgrade() -> None:
    op.create_table(
        "monitors",
        sa.Column("pk", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("deployment", sa.String(128), nullable=False),
        sa.Column("spec", sa.Text(), nullable=False),
        sa.Column("window_ms", sa.BigInteger(), nullable=False),
        sa.Column("every_ms", sa.BigInteger(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
        sa.Column("updated_ms", sa.BigInteger(), nullable=False),
        sa.Column("cursor_ms", sa.BigInteger()),
        sa.Column("feedback_ms", sa.BigInteger()),
        sa.Column("last_run_ms", sa.BigInteger()),
        sa.PrimaryKeyConstraint("pk", name="pk_monitors"),
        sa.UniqueConstraint("name", name="uq_monitors_name"),
    )
    op.create_index("ix_monitors_deployment", "monitors", ["deployment"])
    op.create_table(
        "monitor_windows",
        sa.Column("pk", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("monitor_pk", sa.Integer(), nullable=False),
        sa.Column("start_ms", sa.BigInteger(), nullable=False),
        sa.Column("end_ms", sa.BigInteger(), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("profile", sa.Text(), nullable=False),
        sa.Column("computed_ms", sa.BigInteger(), nullable=False),
        sa.Column("labelled", sa.Integer(), nullable=False),
        sa.Column("labels_ms", sa.BigInteger()),
        sa.Column("label_updates", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("pk", name="pk_monitor_windows"),
        _monitor_fk("monitor_windows"),
        sa.UniqueConstraint(
            "monitor_pk", "start_ms", name="uq_monitor_windows_monitor_pk_start_ms"
        ),
    )
    op.create_table(
        "monitor_points",
        sa.Column("monitor_pk", sa.Integer(), nullable=False),
        sa.Column("start_ms", sa.BigInteger(), nullable=False),
        sa.Column("metric", sa.String(64), nullable=False),
        sa.Column("feature", sa.String(250), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint(
            "monitor_pk", "start_ms", "metric", "feature", name="pk_monitor_points"
        ),
        _monitor_fk("monitor_points"),
    )
    op.create_index(
        "ix_monitor_points_monitor_pk_metric_feature_start_ms",
        "monitor_points",
        ["monitor_pk", "metric", "feature", "start_ms"],
    )
    _create_alert_tables()


def _create_alert_tables() -> None:
    op.create_table(
        "monitor_alerts",
        sa.Column("pk", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("alert_id", sa.String(32), nullable=False),
        sa.Column("monitor_pk", sa.Integer(), nullable=False),
        sa.Column("deployment", sa.String(128), nullable=False),
        sa.Column("rule", sa.String(128), nullable=False),
        sa.Column("group_key", sa.String(250), nullable=False),
        sa.Column("open_key", sa.String(400)),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("severity", sa.String(16), nullable=False),
        sa.Column("value", sa.Float()),
        sa.Column("threshold", sa.Float(), nullable=False),
        sa.Column("window_start_ms", sa.BigInteger(), nullable=False),
        sa.Column("pending_ms", sa.BigInteger(), nullable=False),
        sa.Column("fired_ms", sa.BigInteger()),
        sa.Column("resolved_ms", sa.BigInteger()),
        sa.Column("updated_ms", sa.BigInteger(), nullable=False),
        sa.Column("silenced", sa.Boolean(), nullable=False),
        sa.Column("acked_by", sa.String(250)),
        sa.Column("acked_ms", sa.BigInteger()),
        sa.Column("ack_comment", sa.Text()),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("details", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("pk", name="pk_monitor_alerts"),
        _monitor_fk("monitor_alerts"),
        sa.UniqueConstraint("alert_id", name="uq_monitor_alerts_alert_id"),
        sa.UniqueConstraint("open_key", name="uq_monitor_alerts_open_key"),
    )
    op.create_index("ix_monitor_alerts_state_updated_ms", "monitor_alerts", ["state", "updated_ms"])
    op.create_index(
        "ix_monitor_alerts_monitor_pk_pending_ms", "monitor_alerts", ["monitor_pk", "pending_ms"]
    )
    op.create_table(
        "monitor_silences",
        sa.Column("pk", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("silence_id", sa.String(32), nullable=False),
        sa.Column("monitor", sa.String(128)),
        sa.Column("deployment", sa.String(128)),
        sa.Column("rule", sa.String(128)),
        sa.Column("starts_ms", sa.BigInteger(), nullable=False),
        sa.Column("ends_ms", sa.BigInteger(), nullable=False),
        sa.Column("created_by", sa.String(250), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("pk", name="pk_monitor_silences"),
        sa.UniqueConstraint("silence_id", name="uq_monitor_silences_silence_id"),
    )
    op.create_index("ix_monitor_silences_ends_ms", "monitor_silences", ["ends_ms"])
    op.create_table(
        "monitor_retrain_locks",
        sa.Column("model_name", sa.String(128), nullable=False),
        sa.Column("last_ms", sa.BigInteger(), nullable=False),
        sa.Column("event_id", sa.BigInteger()),
        sa.Column("alert_id", sa.String(32)),
        sa.PrimaryKeyConstraint("model_name", name="pk_monitor_retrain_locks"),
    )
    op.create_table(
        "monitor_retrains",
        sa.Column("pk", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("model_name", sa.String(128), nullable=False),
        sa.Column("monitor", sa.String(128), nullable=False),
        sa.Column("alert_id", sa.String(32), nullable=False),
        sa.Column("decision", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("event_id", sa.BigInteger()),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("pk", name="pk_monitor_retrains"),
    )
    op.create_index(
        "ix_monitor_retrains_model_name_created_ms",
        "monitor_retrains",
        ["model_name", "created_ms"],
    )


def downgrade() -> None:
    for table in (
        "monitor_retrains",
        "monitor_retrain_locks",
        "monitor_silences",
        "monitor_alerts",
        "monitor_points",
        "monitor_windows",
        "monitors",
    ):
        op.drop_table(table)
