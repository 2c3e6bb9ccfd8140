"""Serving: deployments, rollout decisions, the prediction-log file index, feedback.

Revision ID: serving_0001
Revises: 0002
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "serving_0001"
down_revision = "0002"
branch_labels = ("serving",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "deployments",
        sa.Column("pk", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("environment", sa.String(64), nullable=False),
        sa.Column("region", sa.String(64), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("policy", sa.Text(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.String(250), nullable=False),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
        sa.Column("updated_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("pk", name="pk_deployments"),
        sa.UniqueConstraint("name", name="uq_deployments_name"),
    )
    op.create_table(
        "deployment_decisions",
        sa.Column("pk", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("deployment_pk", sa.Integer(), nullable=False),
        sa.Column("rollout_id", sa.String(32), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("from_weight", sa.Integer()),
        sa.Column("to_weight", sa.Integer()),
        sa.Column("champion", sa.String(200)),
        sa.Column("challenger", sa.String(200)),
        sa.Column("actor", sa.String(250), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("evidence", sa.Text(), nullable=False),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("pk", name="pk_deployment_decisions"),
        sa.ForeignKeyConstraint(
            ["deployment_pk"],
            ["deployments.pk"],
            ondelete="CASCADE",
            name="fk_deployment_decisions_deployment_pk_deployments",
        ),
    )
    op.create_index(
        "ix_deployment_decisions_deployment_pk_created_ms",
        "deployment_decisions",
        ["deployment_pk", "created_ms"],
    )
    op.create_table(
        "prediction_log_files",
        sa.Column("pk", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("deployment", sa.String(128), nullable=False),
        sa.Column("model_name", sa.String(128), nullable=False),
        sa.Column("model_version", sa.Integer(), nullable=False),
        sa.Column("variant", sa.String(16), nullable=False),
        sa.Column("hour_ms", sa.BigInteger(), nullable=False),
        sa.Column("digest", sa.String(71), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("min_ts_ms", sa.BigInteger(), nullable=False),
        sa.Column("max_ts_ms", sa.BigInteger(), nullable=False),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("pk", name="pk_prediction_log_files"),
    )
    op.create_index(
        "ix_prediction_log_files_deployment_hour_ms",
        "prediction_log_files",
        ["deployment", "hour_ms"],
    )
    op.create_index("ix_prediction_log_files_digest", "prediction_log_files", ["digest"])
    op.create_table(
        "feedback",
        sa.Column("request_id", sa.String(128), nullable=False),
        sa.Column("deployment", sa.String(128), nullable=False),
        sa.Column("label", sa.Text(), nullable=False),
        sa.Column("received_ms", sa.BigInteger(), nullable=False),
        sa.Column("source", sa.String(250), nullable=False),
        sa.PrimaryKeyConstraint("request_id", name="pk_feedback"),
    )
    op.create_index("ix_feedback_deployment_received_ms", "feedback", ["deployment", "received_ms"])


def downgrade() -> None:
    op.drop_table("feedback")
    op.drop_table("prediction_log_files")
    op.drop_table("deployment_decisions")
    op.drop_table("deployments")
