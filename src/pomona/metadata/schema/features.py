"""Feature store tables: versioned definitions, offline segments, materialisations, datasets."""

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
    UniqueConstraint,
)

from pomona.metadata.schema._meta import metadata

__all__ = [
    "feature_materializations",
    "feature_object_versions",
    "feature_objects",
    "feature_segments",
    "feature_training_sets",
]

# Entities, feature views and feature services: one row each, and one row per version.
feature_objects = Table(
    "feature_objects",
    metadata,
    Column("pk", Integer, primary_key=True, autoincrement=True),
    Column("kind", String(16), nullable=False),
    Column("name", String(128), nullable=False),
    Column("latest_version", Integer, nullable=False),
    Column("created_ms", BigInteger, nullable=False),
    Column("updated_ms", BigInteger, nullable=False),
    UniqueConstraint("kind", "name"),
    sqlite_autoincrement=True,
)

# ``spec`` is the definition as JSON; ``spec_hash`` its sha256, to tell a change from a re-apply.
feature_object_versions = Table(
    "feature_object_versions",
    metadata,
    Column(
        "object_pk",
        Integer,
        ForeignKey("feature_objects.pk", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("version", Integer, primary_key=True),
    Column("spec", Text, nullable=False),
    Column("spec_hash", String(64), nullable=False),
    Column("created_ms", BigInteger, nullable=False),
)

# The offline store: Parquet blobs per feature view. ``source`` segments are snapshots of the
# view's source (the newest one is current); ``push`` segments hold pushed rows, in pk order.
feature_segments = Table(
    "feature_segments",
    metadata,
    Column("pk", Integer, primary_key=True, autoincrement=True),
    Column("view_name", String(128), nullable=False),
    Column("view_version", Integer, nullable=False),
    Column("kind", String(8), nullable=False),
    Column("digest", String(71), nullable=False, info={"blob_ref": True}),
    Column("size", BigInteger, nullable=False),
    Column("num_rows", BigInteger, nullable=False),
    Column("min_ts_ms", BigInteger),
    Column("max_ts_ms", BigInteger),
    Column("fingerprint", Text),
    Column("stats", Text),
    Column("created_ms", BigInteger, nullable=False),
    Index(None, "view_name", "kind", "pk"),
    Index(None, "digest"),
    sqlite_autoincrement=True,
)

# Where incremental materialisation of each view resumes.
feature_materializations = Table(
    "feature_materializations",
    metadata,
    Column("view_name", String(128), primary_key=True),
    Column("end_ms", BigInteger, nullable=False),
    Column("num_rows", BigInteger, nullable=False),
    Column("updated_ms", BigInteger, nullable=False),
)

# Training datasets built by point-in-time joins, with their lineage (views and segments).
feature_training_sets = Table(
    "feature_training_sets",
    metadata,
    Column("pk", Integer, primary_key=True, autoincrement=True),
    Column("name", String(128), nullable=False),
    Column("version", Integer, nullable=False),
    Column("digest", String(71), nullable=False, info={"blob_ref": True}),
    Column("size", BigInteger, nullable=False),
    Column("num_rows", BigInteger, nullable=False),
    Column("columns", Text, nullable=False),
    Column("features", Text, nullable=False),
    Column("lineage", Text, nullable=False),
    Column("created_ms", BigInteger, nullable=False),
    UniqueConstraint("name", "version"),
    Index(None, "digest"),
    sqlite_autoincrement=True,
)
