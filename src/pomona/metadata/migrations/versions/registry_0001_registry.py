"""Registry: registered models, versions, files, aliases, alias history, gate reports, exports.

Revision ID: registry_0001
Revises: 0002
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "registry_0001"
down_revision = "0002"
branch_labels = ("registry",)
depends_on = None


def _model_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["model_pk"],
        ["registered_models.pk"],
        ondelete="CASCADE",
        name=f"fk_{table}_model_pk_registered_models",
    )


def _version_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["version_pk"],
        ["model_versions.pk"],
        ondelete="CASCADE",
        name=f"fk_{table}_version_pk_model_versions",
    )


def upgrade() -> None:
    op.create_table(
        "registered_models",
        sa.Column("pk", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("tags", sa.Text(), nullable=False),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
        sa.Column("updated_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("pk", name="pk_registered_models"),
        sa.UniqueConstraint("name", name="uq_registered_models_name"),
    )
    op.create_table(
        "model_versions",
        sa.Column("pk", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("model_pk", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("flavor", sa.String(250), nullable=False),
        sa.Column("signature", sa.Text(), nullable=False),
        sa.Column("metrics", sa.Text(), nullable=False),
        sa.Column("tags", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("card", sa.Text(), nullable=False),
        sa.Column("run_id", sa.String(64)),
        sa.Column("pipeline_run_id", sa.String(64)),
        sa.Column("dataset_versions", sa.Text(), nullable=False),
        sa.Column("parent_version", sa.Integer()),
        sa.Column("created_by", sa.String(250), nullable=False),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("pk", name="pk_model_versions"),
        sa.UniqueConstraint("model_pk", "version", name="uq_model_versions_model_pk_version"),
        _model_fk("model_versions"),
    )
    op.create_index("ix_model_versions_run_id", "model_versions", ["run_id"])
    op.create_table(
        "model_version_files",
        sa.Column("version_pk", sa.Integer(), nullable=False),
        sa.Column("path", sa.String(250), nullable=False),
        sa.Column("digest", sa.String(71), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("version_pk", "path", name="pk_model_version_files"),
        _version_fk("model_version_files"),
    )
    op.create_index("ix_model_version_files_digest", "model_version_files", ["digest"])
    op.create_table(
        "model_aliases",
        sa.Column("model_pk", sa.Integer(), nullable=False),
        sa.Column("alias", sa.String(64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("model_pk", "alias", name="pk_model_aliases"),
        _model_fk("model_aliases"),
    )
    op.create_table(
        "model_alias_history",
        sa.Column("pk", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("model_pk", sa.Integer(), nullable=False),
        sa.Column("alias", sa.String(64), nullable=False),
        sa.Column("from_version", sa.Integer()),
        sa.Column("to_version", sa.Integer()),
        sa.Column("actor", sa.String(250), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("forced", sa.Boolean(), nullable=False),
        sa.Column("gate_report_digest", sa.String(71)),
        sa.Column("moved_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("pk", name="pk_model_alias_history"),
        _model_fk("model_alias_history"),
    )
    op.create_index(
        "ix_model_alias_history_model_pk_alias_pk",
        "model_alias_history",
        ["model_pk", "alias", "pk"],
    )
    op.create_table(
        "model_gate_reports",
        sa.Column("pk", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("model_pk", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("target", sa.String(64), nullable=False),
        sa.Column("passed", sa.Boolean(), nullable=False),
        sa.Column("digest", sa.String(71), nullable=False),
        sa.Column("actor", sa.String(250), nullable=False),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("pk", name="pk_model_gate_reports"),
        _model_fk("model_gate_reports"),
    )
    op.create_index(
        "ix_model_gate_reports_model_pk_version", "model_gate_reports", ["model_pk", "version"]
    )
    op.create_table(
        "model_exports",
        sa.Column("version_pk", sa.Integer(), nullable=False),
        sa.Column("format", sa.String(32), nullable=False),
        sa.Column("digest", sa.String(71), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("opset", sa.Integer()),
        sa.Column("parity_max_abs_diff", sa.Float(), nullable=False),
        sa.Column("details", sa.Text(), nullable=False),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("version_pk", "format", name="pk_model_exports"),
        _version_fk("model_exports"),
    )


def downgrade() -> None:
    for table in (
        "model_exports",
        "model_gate_reports",
        "model_alias_history",
        "model_aliases",
        "model_version_files",
        "model_versions",
        "registered_models",
    ):
        op.drop_table(table)
