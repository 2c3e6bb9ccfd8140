"""Dataset tables: datasets, their immutable versions, stored splits, and referenced blobs."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
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
    "dataset_blobs",
    "dataset_garbage",
    "dataset_splits",
    "dataset_versions",
    "datasets",
]

datasets = Table(
    "datasets",
    metadata,
    Column("pk", Integer, primary_key=True, autoincrement=True),
    Column("name", String(250), nullable=False, unique=True),
    Column("kind", String(16), nullable=False),
    Column("created_ms", BigInteger, nullable=False),
    sqlite_autoincrement=True,
)

# One row per immutable version; the manifest, report, profile, suite and fitted
# transform are JSON / Parquet blobs in the artifact store, named by digest here.
dataset_versions = Table(
    "dataset_versions",
    metadata,
    Column("pk", Integer, primary_key=True, autoincrement=True),
    Column("dataset_pk", Integer, ForeignKey("datasets.pk", ondelete="CASCADE"), nullable=False),
    Column("version", Integer, nullable=False),
    Column("created_ms", BigInteger, nullable=False),
    Column("operation", String(32), nullable=False),
    Column("source", Text),
    Column("description", Text),
    Column("parent_version", Integer),
    Column("run_id", String(32)),
    Column("manifest_digest", String(71), nullable=False, info={"blob_ref": True}),
    Column("report_digest", String(71), nullable=False, info={"blob_ref": True}),
    Column("profile_digest", String(71), info={"blob_ref": True}),
    Column("suite_digest", String(71), info={"blob_ref": True}),
    Column("transform_digest", String(71), info={"blob_ref": True}),
    Column("transform_name", String(250)),
    Column("transform_params", Text),
    Column("schema_json", Text, nullable=False),
    Column("label_counts", Text, nullable=False),
    Column("num_records", BigInteger, nullable=False),
    Column("num_quarantined", BigInteger, nullable=False),
    Column("num_new", BigInteger, nullable=False),
    Column("size_bytes", BigInteger, nullable=False),
    Column("passed", Boolean, nullable=False),
    UniqueConstraint("dataset_pk", "version"),
    Index(None, "run_id"),
)

# A split belongs to one version; ``split_key`` hashes its parameters (same params, same split).
dataset_splits = Table(
    "dataset_splits",
    metadata,
    Column("pk", Integer, primary_key=True, autoincrement=True),
    Column(
        "version_pk",
        Integer,
        ForeignKey("dataset_versions.pk", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("split_key", String(64), nullable=False),
    Column("params", Text, nullable=False),
    Column("assignment_digest", String(71), nullable=False, info={"blob_ref": True}),
    Column("counts", Text, nullable=False),
    Column("created_ms", BigInteger, nullable=False),
    UniqueConstraint("version_pk", "split_key"),
)

# Every blob a dataset version refers to through its manifest (files, Parquet parts),
# so that garbage collection keeps them and re-ingests store only new content.
dataset_blobs = Table(
    "dataset_blobs",
    metadata,
    Column("digest", String(71), primary_key=True, info={"blob_ref": True}),
    Column("size", BigInteger, nullable=False),
    Column("created_ms", BigInteger, nullable=False),
)

# Blobs of deleted versions that no remaining version refers to: ``pomona gc`` frees those
# no record refers to any more. Deliberately not a ``blob_ref`` (it must not keep them).
dataset_garbage = Table(
    "dataset_garbage",
    metadata,
    Column("digest", String(71), primary_key=True),
    Column("created_ms", BigInteger, nullable=False),
)
