"""Features: versioned definitions, offline segments, materialisations, training sets.

Revision ID: features_0001
Revises: 0002
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "features_0001"
down_revision = "0002"
branch_labels = ("features",)
depends_on = None

_DIGEST = sa.String(71)


def upgrade() -> None:
    op.create_table(
        "feature_objects",
        sa.Column("pk", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("latest_version", sa.Integer(), nullable=False),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
        sa.Column("updated_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("pk", name="pk_feature_objects"),
        sa.UniqueConstraint("kind", "name", name="uq_feature_objects_kind_name"),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "feature_object_versions",
        sa.Column("object_pk", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("spec", sa.Text(), nullable=False),
        sa.Column("spec_hash", sa.String(64), nullable=False),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("object_pk", "version", name="pk_feature_object_versions"),
        sa.ForeignKeyConstraint(
            ["object_pk"],
            ["feature_objects.pk"],
            ondelete="CASCADE",
            name="fk_feature_object_versions_object_pk_feature_objects",
        ),
    )
    op.create_table(
        "feature_segments",
        sa.Column("pk", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("view_name", sa.String(128), nullable=False),
        sa.Column("view_version", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("digest", _DIGEST, nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("num_rows", sa.BigInteger(), nullable=False),
        sa.Column("min_ts_ms", sa.BigInteger()),
        sa.Column("max_ts_ms", sa.BigInteger()),
        sa.Column("fingerprint", sa.Text()),
        sa.Column("stats", sa.Text()),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("pk", name="pk_feature_segments"),
        sqlite_autoincrement=True,
    )
    op.create_index(
        "ix_feature_segments_view_name_kind_pk", "feature_segments", ["view_name", "kind", "pk"]
    )
    op.create_index("ix_feature_segments_digest", "feature_segments", ["digest"])
    op.create_table(
        "feature_materializations",
        sa.Column("view_name", sa.String(128), nullable=False),
        sa.Column("end_ms", sa.BigInteger(), nullable=False),
        sa.Column("num_rows", sa.BigInteger(), nullable=False),
        sa.Column("updated_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("view_name", name="pk_feature_materializations"),
    )
    op.create_table(
        "feature_training_sets",
        sa.Column("pk", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("digest", _DIGEST, nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("num_rows", sa.BigInteger(), nullable=False),
        sa.Column("columns", sa.Text(), nullable=False),
        sa.Column("features", sa.Text(), nullable=False),
        sa.Column("lineage", sa.Text(), nullable=False),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("pk", name="pk_feature_training_sets"),
        sa.UniqueConstraint("name", "version", name="uq_feature_training_sets_name_version"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_feature_training_sets_digest", "feature_training_sets", ["digest"])


def downgrade() -> None:
    op.drop_table("feature_training_sets")
    op.drop_table("feature_materializations")
    op.drop_table("feature_segments")
    op.drop_table("feature_object_versions")
    op.drop_table("feature_objects")
