"""Datasets: datasets, dataset versions, dataset splits and dataset blobs.

Revision ID: datasets_0001
Revises: 0002
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "datasets_0001"
down_revision = "0002"
branch_labels = ("datasets",)
depends_on = None

_DIGEST = sa.String(71)


def upgrade() -> None:
    op.create_table(
        "datasets",
        sa.Column("pk", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(250), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("pk", name="pk_datasets"),
        sa.UniqueConstraint("name", name="uq_datasets_name"),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "dataset_versions",
        sa.Column("pk", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("dataset_pk", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
        sa.Column("operation", sa.String(32), nullable=False),
        sa.Column("source", sa.Text()),
        sa.Column("description", sa.Text()),
        sa.Column("parent_version", sa.Integer()),
        sa.Column("run_id", sa.String(32)),
        sa.Column("manifest_digest", _DIGEST, nullable=False),
        sa.Column("report_digest", _DIGEST, nullable=False),
        sa.Column("profile_digest", _DIGEST),
        sa.Column("suite_digest", _DIGEST),
        sa.Column("transform_digest", _DIGEST),
        sa.Column("transform_name", sa.String(250)),
        sa.Column("transform_params", sa.Text()),
        sa.Column("schema_json", sa.Text(), nullable=False),
        sa.Column("label_counts", sa.Text(), nullable=False),
        sa.Column("num_records", sa.BigInteger(), nullable=False),
        sa.Column("num_quarantined", sa.BigInteger(), nullable=False),
        sa.Column("num_new", sa.BigInteger(), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("passed", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("pk", name="pk_dataset_versions"),
        sa.ForeignKeyConstraint(
            ["dataset_pk"],
            ["datasets.pk"],
            ondelete="CASCADE",
            name="fk_dataset_versions_dataset_pk_datasets",
        ),
        sa.UniqueConstraint("dataset_pk", "version", name="uq_dataset_versions_dataset_pk_version"),
    )
    op.create_index("ix_dataset_versions_run_id", "dataset_versions", ["run_id"])
    op.create_table(
        "dataset_splits",
        sa.Column("pk", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("version_pk", sa.Integer(), nullable=False),
        sa.Column("split_key", sa.String(64), nullable=False),
        sa.Column("params", sa.Text(), nullable=False),
        sa.Column("assignment_digest", _DIGEST, nullable=False),
        sa.Column("counts", sa.Text(), nullable=False),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("pk", name="pk_dataset_splits"),
        sa.ForeignKeyConstraint(
            ["version_pk"],
            ["dataset_versions.pk"],
            ondelete="CASCADE",
            name="fk_dataset_splits_version_pk_dataset_versions",
        ),
        sa.UniqueConstraint(
            "version_pk", "split_key", name="uq_dataset_splits_version_pk_split_key"
        ),
    )
    op.create_table(
        "dataset_blobs",
        sa.Column("digest", _DIGEST, nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("digest", name="pk_dataset_blobs"),
    )


def downgrade() -> None:
    op.drop_table("dataset_blobs")
    op.drop_table("dataset_splits")
    op.drop_table("dataset_versions")
    op.drop_table("datasets")
