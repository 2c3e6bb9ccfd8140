"""Registry tables: registered models, versions, their files, aliases, alias history,
gate reports and exports."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
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
    "model_alias_history",
    "model_aliases",
    "model_exports",
    "model_gate_reports",
    "model_version_files",
    "model_versions",
    "registered_models",
]

# Times are integer milliseconds since the Unix epoch, UTC; JSON is stored as Text.
registered_models = Table(
    "registered_models",
    metadata,
    Column("pk", Integer, primary_key=True, autoincrement=True),
    Column("name", String(128), nullable=False, unique=True),
    Column("description", Text, nullable=False),
    Column("tags", Text, nullable=False),
    Column("created_ms", BigInteger, nullable=False),
    Column("updated_ms", BigInteger, nullable=False),
)

model_versions = Table(
    "model_versions",
    metadata,
    Column("pk", Integer, primary_key=True, autoincrement=True),
    Column(
        "model_pk", Integer, ForeignKey("registered_models.pk", ondelete="CASCADE"), nullable=False
    ),
    Column("version", Integer, nullable=False),
    Column("flavor", String(250), nullable=False),
    Column("signature", Text, nullable=False),
    Column("metrics", Text, nullable=False),
    Column("tags", Text, nullable=False),
    Column("description", Text, nullable=False),
    Column("card", Text, nullable=False),
    Column("run_id", String(64)),
    Column("pipeline_run_id", String(64)),
    Column("dataset_versions", Text, nullable=False),
    Column("parent_version", Integer),
    Column("created_by", String(250), nullable=False),
    Column("created_ms", BigInteger, nullable=False),
    UniqueConstraint("model_pk", "version"),
    Index(None, "run_id"),
)

model_version_files = Table(
    "model_version_files",
    metadata,
    Column(
        "version_pk", Integer, ForeignKey("model_versions.pk", ondelete="CASCADE"), primary_key=True
    ),
    Column("path", String(250), primary_key=True),
    Column("digest", String(71), nullable=False, info={"blob_ref": True}),
    Column("size", BigInteger, nullable=False),
    Index(None, "digest"),
)

model_aliases = Table(
    "model_aliases",
    metadata,
    Column(
        "model_pk",
        Integer,
        ForeignKey("registered_models.pk", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("alias", String(64), primary_key=True),
    Column("version", Integer, nullable=False),
    Column("updated_ms", BigInteger, nullable=False),
)

# Append-only: one row per move (or removal) of an alias.
model_alias_history = Table(
    "model_alias_history",
    metadata,
    Column("pk", Integer, primary_key=True, autoincrement=True),
    Column(
        "model_pk", Integer, ForeignKey("registered_models.pk", ondelete="CASCADE"), nullable=False
    ),
    Column("alias", String(64), nullable=False),
    Column("from_version", Integer),
    Column("to_version", Integer),
    Column("actor", String(250), nullable=False),
    Column("reason", Text, nullable=False),
    Column("forced", Boolean, nullable=False),
    Column("gate_report_digest", String(71), info={"blob_ref": True}),
    Column("moved_ms", BigInteger, nullable=False),
    Index(None, "model_pk", "alias", "pk"),
)

model_gate_reports = Table(
    "model_gate_reports",
    metadata,
    Column("pk", Integer, primary_key=True, autoincrement=True),
    Column(
        "model_pk", Integer, ForeignKey("registered_models.pk", ondelete="CASCADE"), nullable=False
    ),
    Column("version", Integer, nullable=False),
    Column("target", String(64), nullable=False),
    Column("passed", Boolean, nullable=False),
    Column("digest", String(71), nullable=False, info={"blob_ref": True}),
    Column("actor", String(250), nullable=False),
    Column("created_ms", BigInteger, nullable=False),
    Index(None, "model_pk", "version"),
)

model_exports = Table(
    "model_exports",
    metadata,
    Column(
        "version_pk", Integer, ForeignKey("model_versions.pk", ondelete="CASCADE"), primary_key=True
    ),
    Column("format", String(32), primary_key=True),
    Column("digest", String(71), nullable=False, info={"blob_ref": True}),
    Column("size", BigInteger, nullable=False),
    Column("opset", Integer),
    Column("parity_max_abs_diff", Float, nullable=False),
    Column("details", Text, nullable=False),
    Column("created_ms", BigInteger, nullable=False),
)
