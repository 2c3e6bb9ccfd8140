"""Pipelines: runs, step runs, lineage edges, schedules, ticks, events and the outbox.

Revision ID: pipelines_0001
Revises: 0002
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "pipelines_0001"
down_revision = "0002"
branch_labels = ("pipelines",)
depends_on = None

_DIGEST = sa.String(71)


def upgrade() -> None:
    op.create_table(
        "pipeline_runs",
        sa.Column("pk", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("run_id", sa.String(32), nullable=False),
        sa.Column("pipeline", sa.String(250), nullable=False),
        sa.Column("target", sa.Text(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("params", sa.Text(), nullable=False),
        sa.Column("dag", sa.Text(), nullable=False),
        sa.Column("executor", sa.String(64), nullable=False),
        sa.Column("trigger", sa.String(250), nullable=False),
        sa.Column("retry_of", sa.String(32)),
        sa.Column("start_ms", sa.BigInteger(), nullable=False),
        sa.Column("end_ms", sa.BigInteger()),
        sa.Column("heartbeat_ms", sa.BigInteger()),
        sa.Column("error", sa.Text()),
        sa.PrimaryKeyConstraint("pk", name="pk_pipeline_runs"),
        sa.UniqueConstraint("run_id", name="uq_pipeline_runs_run_id"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_pipeline_runs_pipeline_start_ms", "pipeline_runs", ["pipeline", "start_ms"])
    op.create_index(
        "ix_pipeline_runs_state_heartbeat_ms", "pipeline_runs", ["state", "heartbeat_ms"]
    )
    op.create_table(
        "pipeline_steps",
        sa.Column("pk", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("run_pk", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(250), nullable=False),
        sa.Column("step", sa.Text(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("upstream", sa.Text(), nullable=False),
        sa.Column("params", sa.Text(), nullable=False),
        sa.Column("code_hash", _DIGEST),
        sa.Column("cache_key", _DIGEST),
        sa.Column("cache_hit", sa.Boolean(), nullable=False),
        sa.Column("start_ms", sa.BigInteger()),
        sa.Column("end_ms", sa.BigInteger()),
        sa.Column("error", sa.Text()),
        sa.Column("traceback", sa.Text()),
        sa.Column("logs_digest", _DIGEST),
        sa.PrimaryKeyConstraint("pk", name="pk_pipeline_steps"),
        sa.ForeignKeyConstraint(
            ["run_pk"],
            ["pipeline_runs.pk"],
            ondelete="CASCADE",
            name="fk_pipeline_steps_run_pk_pipeline_runs",
        ),
        sa.UniqueConstraint("run_pk", "name", name="uq_pipeline_steps_run_pk_name"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_pipeline_steps_cache_key_state", "pipeline_steps", ["cache_key", "state"])
    op.create_table(
        "pipeline_artifacts",
        sa.Column("step_pk", sa.Integer(), nullable=False),
        sa.Column("direction", sa.String(8), nullable=False),
        sa.Column("name", sa.String(250), nullable=False),
        sa.Column("digest", _DIGEST, nullable=False),
        sa.Column("materializer", sa.String(64), nullable=False),
        sa.Column("type_name", sa.String(250), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("step_pk", "direction", "name", name="pk_pipeline_artifacts"),
        sa.ForeignKeyConstraint(
            ["step_pk"],
            ["pipeline_steps.pk"],
            ondelete="CASCADE",
            name="fk_pipeline_artifacts_step_pk_pipeline_steps",
        ),
    )
    op.create_index(
        "ix_pipeline_artifacts_digest_direction", "pipeline_artifacts", ["digest", "direction"]
    )
    _create_schedules()
    _create_events()


def _create_schedules() -> None:
    op.create_table(
        "pipeline_schedules",
        sa.Column("pk", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("schedule_id", sa.String(32), nullable=False),
        sa.Column("name", sa.String(250), nullable=False),
        sa.Column("target", sa.Text(), nullable=False),
        sa.Column("params", sa.Text(), nullable=False),
        sa.Column("cron", sa.String(250)),
        sa.Column("interval_s", sa.Float()),
        sa.Column("event_type", sa.String(250)),
        sa.Column("event_filter", sa.Text()),
        sa.Column("missed", sa.String(8), nullable=False),
        sa.Column("executor", sa.String(250)),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
        sa.Column("last_tick_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("pk", name="pk_pipeline_schedules"),
        sa.UniqueConstraint("schedule_id", name="uq_pipeline_schedules_schedule_id"),
        sa.UniqueConstraint("name", name="uq_pipeline_schedules_name"),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "pipeline_ticks",
        sa.Column("schedule_pk", sa.Integer(), nullable=False),
        sa.Column("tick_ms", sa.BigInteger(), nullable=False),
        sa.Column("owner", sa.String(64), nullable=False),
        sa.Column("claimed_ms", sa.BigInteger(), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("run_id", sa.String(32)),
        sa.PrimaryKeyConstraint("schedule_pk", "tick_ms", name="pk_pipeline_ticks"),
        sa.ForeignKeyConstraint(
            ["schedule_pk"],
            ["pipeline_schedules.pk"],
            ondelete="CASCADE",
            name="fk_pipeline_ticks_schedule_pk_pipeline_schedules",
        ),
    )


def _create_events() -> None:
    op.create_table(
        "pipeline_events",
        sa.Column("pk", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("type", sa.String(250), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("pk", name="pk_pipeline_events"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_pipeline_events_type_pk", "pipeline_events", ["type", "pk"])
    op.create_table(
        "pipeline_outbox",
        sa.Column("event_pk", sa.Integer(), nullable=False),
        sa.Column("schedule_pk", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("owner", sa.String(64)),
        sa.Column("lease_until_ms", sa.BigInteger()),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.String(32)),
        sa.Column("delivered_ms", sa.BigInteger()),
        sa.PrimaryKeyConstraint("event_pk", "schedule_pk", name="pk_pipeline_outbox"),
        sa.ForeignKeyConstraint(
            ["event_pk"],
            ["pipeline_events.pk"],
            ondelete="CASCADE",
            name="fk_pipeline_outbox_event_pk_pipeline_events",
        ),
        sa.ForeignKeyConstraint(
            ["schedule_pk"],
            ["pipeline_schedules.pk"],
            ondelete="CASCADE",
            name="fk_pipeline_outbox_schedule_pk_pipeline_schedules",
        ),
    )
    op.create_index(
        "ix_pipeline_outbox_state_lease_until_ms", "pipeline_outbox", ["state", "lease_until_ms"]
    )


def downgrade() -> None:
    for table in (
        "pipeline_outbox",
        "pipeline_events",
        "pipeline_ticks",
        "pipeline_schedules",
        "pipeline_artifacts",
        "pipeline_steps",
        "pipeline_runs",
    ):
        op.drop_table(table)
