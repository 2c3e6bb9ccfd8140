"""Tracking: runs, params, tags, metrics and latest metrics.

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "runs",
        sa.Column("pk", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("run_id", sa.String(32), nullable=False),
        sa.Column("name", sa.String(250), nullable=False),
        sa.Column("experiment", sa.String(250), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("start_ms", sa.BigInteger(), nullable=False),
        sa.Column("end_ms", sa.BigInteger()),
        sa.Column("heartbeat_ms", sa.BigInteger()),
        sa.Column("parent_run_id", sa.String(32)),
        sa.Column("source", sa.Text()),
        sa.Column("git_commit", sa.String(64)),
        sa.Column("git_dirty", sa.Boolean()),
        sa.Column("deleted_ms", sa.BigInteger()),
        sa.PrimaryKeyConstraint("pk", name="pk_runs"),
        sa.UniqueConstraint("run_id", name="uq_runs_run_id"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_runs_experiment_start_ms", "runs", ["experiment", "start_ms"])
    op.create_index("ix_runs_status_heartbeat_ms", "runs", ["status", "heartbeat_ms"])
    op.create_index("ix_runs_parent_run_id", "runs", ["parent_run_id"])
    for table in ("params", "tags"):
        op.create_table(
            table,
            sa.Column("run_pk", sa.Integer(), nullable=False),
            sa.Column("key", sa.String(250), nullable=False),
            sa.Column("value", sa.Text(), nullable=False),
            sa.PrimaryKeyConstraint("run_pk", "key", name=f"pk_{table}"),
            sa.ForeignKeyConstraint(
                ["run_pk"], ["runs.pk"], ondelete="CASCADE", name=f"fk_{table}_run_pk_runs"
            ),
        )
    op.create_index("ix_params_key_value", "params", ["key", "value"])
    op.create_table(
        "metrics",
        sa.Column("run_pk", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(250), nullable=False),
        sa.Column("step", sa.BigInteger(), nullable=False),
        sa.Column("ts_ms", sa.BigInteger(), nullable=False),
        sa.Column("value", sa.Float()),
        sa.ForeignKeyConstraint(
            ["run_pk"], ["runs.pk"], ondelete="CASCADE", name="fk_metrics_run_pk_runs"
        ),
    )
    op.create_index("ix_metrics_run_pk_key_step", "metrics", ["run_pk", "key", "step"])
    op.create_table(
        "latest_metrics",
        sa.Column("run_pk", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(250), nullable=False),
        sa.Column("step", sa.BigInteger(), nullable=False),
        sa.Column("ts_ms", sa.BigInteger(), nullable=False),
        sa.Column("value", sa.Float()),
        sa.PrimaryKeyConstraint("run_pk", "key", name="pk_latest_metrics"),
        sa.ForeignKeyConstraint(
            ["run_pk"], ["runs.pk"], ondelete="CASCADE", name="fk_latest_metrics_run_pk_runs"
        ),
    )
    op.create_index("ix_latest_metrics_key_value", "latest_metrics", ["key", "value"])


def downgrade() -> None:
    for table in (
        "latest_metrics",
        "metrics",
        "tags",
        "params",
        "runs",
    ):
        op.drop_table(table)
