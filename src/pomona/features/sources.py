"""Where a feature view's rows come from: files, SQL tables, artifacts, dataset versions.

A source is a small frozen value, recorded as JSON with its feature view. Dataset
versions belong to another domain: a ``SourceResolver`` (wired by the client) turns a
``DatasetSource`` into the Parquet blobs of that version, and a ``DatasetSink`` stores a
training set as a new table version.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol

from pomona.errors import InvalidInputError
from pomona.types import Digest, parse_version_number

__all__ = [
    "ArtifactSource",
    "DatasetSink",
    "DatasetSource",
    "FileSource",
    "ResolvedDataset",
    "Source",
    "SourceResolver",
    "SqlSource",
    "check_client_source",
    "source_from_spec",
]

_DIGEST_RE = re.compile(r"^sha256:[0-9a-f]{64}$")
_SQL_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$")


def _bad(message: str, field: str, hint: str | None = None) -> InvalidInputError:
    return InvalidInputError(message, hint=hint, details={"field": field})


@dataclass(frozen=True)
class FileSource:
    """A Parquet or CSV file (or a folder of Parquet files) on the ingesting machine.

    A relative path is resolved against the current folder when the source is made.
    """

    path: str
    format: Literal["parquet", "csv"] | None = None

    def __post_init__(self) -> None:
        if not str(self.path).strip():
            raise _bad("A file source needs a path.", "source.path")
        resolved = Path(self.path).expanduser().resolve()
        object.__setattr__(self, "path", str(resolved))
        fmt = self.format
        if fmt is None:
            suffix = resolved.suffix.lower()
            fmt = "csv" if suffix in (".csv", ".tsv") else "parquet"
        if fmt not in ("parquet", "csv"):
            raise _bad(
                f"File source format '{fmt}' is not supported.",
                "source.format",
                "Use 'parquet' or 'csv'.",
            )
        object.__setattr__(self, "format", fmt)

    def to_spec(self) -> dict[str, Any]:
        return {"type": "file", "path": self.path, "format": self.format}

    def describe(self) -> str:
        return f"{self.format} file {self.path}"


@dataclass(frozen=True)
class SqlSource:
    """A table (or a SELECT query) of a SQL database, read through SQLAlchemy in batches."""

    url: str
    table: str | None = None
    query: str | None = None

    def __post_init__(self) -> None:
        if "://" not in self.url:
            raise _bad(
                f"'{self.url}' is not a database URL.",
                "source.url",
                "Use an SQLAlchemy URL such as 'sqlite:////abs/path.db'.",
            )
        if (self.table is None) == (self.query is None):
            raise _bad("A SQL source needs exactly one of 'table' and 'query'.", "source.table")
        if self.table is not None and not _SQL_NAME_RE.match(self.table):
            raise _bad(
                f"'{self.table}' is not a table name.",
                "source.table",
                "Use 'table' or 'schema.table' (letters, digits, underscores).",
            )
        if self.query is not None and not self.query.lstrip().lower().startswith(
            ("select", "with")
        ):
            raise _bad("A SQL source query must be a SELECT statement.", "source.query")

    def to_spec(self) -> dict[str, Any]:
        return {"type": "sql", "url": self.url, "table": self.table, "query": self.query}

    def describe(self) -> str:
        from sqlalchemy.engine import make_url

        where = make_url(self.url).render_as_string(hide_password=True)
        return f"SQL table {self.table} at {where}" if self.table else f"SQL query at {where}"


@dataclass(frozen=True)
class ArtifactSource:
    """Parquet blobs already in the workspace's artifact store, named by digest."""

    digests: tuple[str, ...]

    def __post_init__(self) -> None:
        digests = (self.digests,) if isinstance(self.digests, str) else tuple(self.digests)
        if not digests:
            raise _bad("An artifact source needs at least one digest.", "source.digests")
        for digest in digests:
            if not _DIGEST_RE.match(str(digest)):
                raise _bad(
                    f"'{digest}' is not an artifact digest.",
                    "source.digests",
                    "Digests look like 'sha256:' followed by 64 lowercase hex digits.",
                )
        object.__setattr__(self, "digests", digests)

    def to_spec(self) -> dict[str, Any]:
        return {"type": "artifact", "digests": list(self.digests)}

    def describe(self) -> str:
        return f"{len(self.digests)} Parquet artifact(s) {self.digests[0][:19]}…"


@dataclass(frozen=True)
class DatasetSource:
    """A dataset version, written ``name:version`` (``name`` alone: the latest version)."""

    dataset: str

    def __post_init__(self) -> None:
        name, _, version = self.dataset.partition(":")
        if not name or (version and parse_version_number(version) is None):
            raise _bad(
                f"'{self.dataset}' is not a dataset version reference.",
                "source.dataset",
                "Write it 'name:version' (e.g. 'apples:3') or 'name' for the latest.",
            )

    def to_spec(self) -> dict[str, Any]:
        return {"type": "dataset", "dataset": self.dataset}

    def describe(self) -> str:
        return f"dataset {self.dataset}"


Source = FileSource | SqlSource | ArtifactSource | DatasetSource


@dataclass(frozen=True)
class ResolvedDataset:
    """The Parquet blobs of a dataset version, and a fingerprint that changes with them."""

    digests: tuple[Digest, ...]
    fingerprint: str


class SourceResolver(Protocol):
    """Turns a dataset version into Parquet blobs (the datasets domain implements it)."""

    def resolve(self, source: DatasetSource) -> ResolvedDataset:
        """The version's Parquet blobs.

        Raises:
            NotFoundError: no such dataset or version.
            InvalidInputError: the version holds no table the features can read.
        """
        ...


class DatasetSink(Protocol):
    """Stores a training set as a table dataset version (the datasets domain implements it)."""

    def save_table(self, name: str, path: Path, *, source: str, description: str) -> str:
        """Store the Parquet file at ``path`` as the next version of the table dataset
        ``name``, its lineage naming ``source``; the new version's ref (``name:3``).

        Raises:
            InvalidInputError: ``name`` cannot name a dataset, or names an image dataset.
        """
        ...


def source_from_spec(spec: Any) -> Source:
    """A source from its JSON/YAML form: ``{"type": "file", "path": …}`` and so on.

    Raises:
        InvalidInputError: the spec names no known type or misses a field.
    """
    if isinstance(spec, (FileSource, SqlSource, ArtifactSource, DatasetSource)):
        return spec
    if not isinstance(spec, dict):
        raise _bad("A source must be a mapping with a 'type'.", "source")
    fields = {k: v for k, v in spec.items() if k != "type"}
    kind = spec.get("type")
    classes: dict[str, Any] = {
        "file": FileSource,
        "parquet": FileSource,
        "csv": FileSource,
        "sql": SqlSource,
        "artifact": ArtifactSource,
        "dataset": DatasetSource,
    }
    cls = classes.get(str(kind))
    if cls is None:
        raise _bad(
            f"Unknown source type '{kind}'.",
            "source.type",
            "Use one of: file, parquet, csv, sql, artifact, dataset.",
        )
    if kind in ("parquet", "csv"):
        fields.setdefault("format", kind)
    if cls is ArtifactSource and "digest" in fields:
        fields["digests"] = (fields.pop("digest"),)
    try:
        source: Source = cls(**fields)
    except TypeError as exc:
        raise _bad(f"Invalid {kind} source: {exc}.", "source") from exc
    return source


class LocalPaths(Protocol):
    """The part of a server's source policy a feature source needs (the datasets domain's
    ``SourcePolicy`` implements it; the server passes it in)."""

    def local_path(self, path: str | Path, *, field: str = "source") -> Path:
        """The resolved path if it may be read, else raise ``InvalidInputError``."""
        ...

    def check_tree(self, folder: Path, *, field: str = "source") -> None:
        """Raise ``InvalidInputError`` if a symlink below ``folder`` leads elsewhere."""
        ...


def check_client_source(spec: Any, policy: LocalPaths) -> None:
    """Raise if a server may not read the source ``spec`` an API client sent (before the
    source is made, so that a message never names where a symlink leads).

    A file must lie under the server's allowed roots (every file of a folder too); a SQL
    source is refused: its URL would be the client's choice (ingest a named SQL source as
    a dataset and use a dataset source instead). Artifact and dataset sources read only
    the workspace's own stores.

    Raises:
        InvalidInputError: naming the field (``source.path``, ``source.url``).
    """
    if not isinstance(spec, Mapping):
        return  # source_from_spec says what is wrong with it
    kind = spec.get("type")
    if kind in ("file", "parquet", "csv"):
        path = spec.get("path")
        if not isinstance(path, str):
            raise _bad("A file source needs a path (a string).", "source.path")
        resolved = policy.local_path(path, field="source.path")
        policy.check_tree(resolved, field="source.path")
    elif kind == "sql":
        raise _bad(
            "A server does not connect to databases named by API clients' feature sources.",
            "source.url",
            "Ingest the table as a dataset from a SQL source the server names "
            "(source='sql:<name>'), then use {'type': 'dataset', 'dataset': '<name>'}; or "
            "apply the view on the server's own machine.",
        )
