"""Open a feature view's source as a DuckDB ``FROM`` expression, and fingerprint it cheaply."""

from __future__ import annotations

import hashlib
import os
import shutil
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from pomona.artifacts.base import ArtifactStore, check_digest
from pomona.errors import InvalidInputError, PomonaError
from pomona.features._duck import ident, literal, path_list, translated
from pomona.features.definitions import Feature, FeatureView
from pomona.features.sources import (
    ArtifactSource,
    DatasetSource,
    FileSource,
    SourceResolver,
    SqlSource,
)
from pomona.types import Digest

if TYPE_CHECKING:
    import duckdb

__all__ = ["BlobCache", "OpenedSource", "SourceReader", "check_source_columns"]

_SQL_BATCH = 50_000


class BlobCache:
    """Verified local copies of artifact blobs, named by digest, for DuckDB to read."""

    def __init__(self, blobs: ArtifactStore, folder: Path) -> None:
        self.blobs = blobs
        self.folder = folder

    def path(self, digest: Digest) -> Path:
        dest = self.folder / f"{digest.split(':', 1)[1]}.parquet"
        if not dest.exists():
            tmp = self.folder / f"{dest.stem}.{uuid.uuid4().hex}.tmp"
            self.blobs.get_file(digest, tmp)  # verified, then renamed into place
            os.replace(tmp, dest)
        return dest


@dataclass(frozen=True)
class OpenedSource:
    """A source DuckDB can read: ``relation`` goes after ``FROM``."""

    relation: str
    columns: dict[str, str]
    fingerprint: str
    label: str


def check_source_columns(
    view: FeatureView,
    keys: Sequence[Feature],
    columns: dict[str, str],
    label: str,
    *,
    transformed: bool,
) -> None:
    """Raise ``InvalidInputError`` if the source lacks the timestamp, a key, or (unless a
    transformation computes them) a feature."""
    needed = [view.timestamp_column, *(k.name for k in keys)]
    if view.created_column:
        needed.append(view.created_column)
    if not transformed:
        needed.extend(view.feature_names)
    missing = [c for c in needed if c not in columns]
    if missing:
        role = (
            "timestamp column"
            if missing[0] == view.timestamp_column
            else "feature"
            if missing[0] in view.feature_names
            else "column"
        )
        raise InvalidInputError(
            f"Feature view '{view.name}': the source ({label}) has no {role} '{missing[0]}'.",
            hint=f"Its columns are: {', '.join(sorted(columns)) or 'none'}.",
            details={"field": missing[0], "view": view.name, "missing": missing},
        )


class SourceReader:
    """Reads sources for one feature store; dataset versions go through ``resolver``."""

    def __init__(self, cache: BlobCache, resolver: SourceResolver | None, scratch: Path) -> None:
        self.cache = cache
        self.resolver = resolver
        self.scratch = scratch

    def fingerprint(self, view: FeatureView) -> str:
        """Changes whenever the data may have: file size and time, the SQL row count and
        newest timestamp, blob digests."""
        source = view.source
        if isinstance(source, FileSource):
            return "file:" + _file_fingerprint(Path(source.path))
        if isinstance(source, ArtifactSource):
            return "artifact:" + ",".join(source.digests)
        if isinstance(source, DatasetSource):
            return "dataset:" + self._resolver().resolve(source).fingerprint
        return "sql:" + _sql_fingerprint(source, view.timestamp_column)

    def _resolver(self) -> SourceResolver:
        if self.resolver is None:
            raise InvalidInputError(
                "Dataset sources need the workspace's datasets; none is wired here.",
                hint="Open the store through pomona.connect() (ws.features).",
                details={"field": "source"},
            )
        return self.resolver

    def open(self, con: duckdb.DuckDBPyConnection, view: FeatureView) -> OpenedSource:
        """Stage the source where DuckDB reads it (SQL rows are copied to Parquet first)."""
        source = view.source
        fingerprint = self.fingerprint(view)
        if isinstance(source, FileSource):
            path = Path(source.path)
            if not path.exists():
                raise InvalidInputError(
                    f"Feature view '{view.name}': the source file {path} does not exist.",
                    details={"field": "source.path", "view": view.name},
                )
            if source.format == "csv":
                relation = f"read_csv({literal(str(path))}, header = true)"
            elif path.is_dir():
                relation = f"read_parquet({literal(str(path / '**' / '*.parquet'))})"
            else:
                relation = f"read_parquet({literal(str(path))})"
        elif isinstance(source, ArtifactSource):
            paths = [self.cache.path(check_digest(d)) for d in source.digests]
            relation = f"read_parquet({path_list(paths)}, union_by_name = true)"
        elif isinstance(source, DatasetSource):
            resolved = self._resolver().resolve(source)
            paths = [self.cache.path(d) for d in resolved.digests]
            relation = f"read_parquet({path_list(paths)}, union_by_name = true)"
        else:
            relation = self._stage_sql(source, view)
        label = source.describe()
        with translated(f"read the source of feature view '{view.name}'", source=label):
            rows = con.execute(f"DESCRIBE SELECT * FROM {relation}").fetchall()
        columns = {str(r[0]): str(r[1]) for r in rows}
        return OpenedSource(relation, columns, fingerprint, label)

    def _stage_sql(self, source: SqlSource, view: FeatureView) -> str:
        import pyarrow as pa  # type: ignore[import-untyped,unused-ignore]
        import pyarrow.parquet as pq  # type: ignore[import-untyped,unused-ignore]

        folder = self.scratch / f"sql-{uuid.uuid4().hex}"
        folder.mkdir(parents=True)
        query = source.query or f"SELECT * FROM {source.table}"
        try:
            with _engine(source) as engine, engine.connect() as conn:
                from sqlalchemy import text

                result = conn.execution_options(stream_results=True, yield_per=_SQL_BATCH).execute(
                    text(query)
                )
                names = list(result.keys())
                parts = 0
                for part in result.partitions():
                    table = pa.table({n: [r[i] for r in part] for i, n in enumerate(names)})
                    pq.write_table(table, folder / f"part-{parts:06d}.parquet")
                    parts += 1
                if parts == 0:
                    pq.write_table(
                        pa.table({n: pa.array([], pa.null()) for n in names}),
                        folder / "part-000000.parquet",
                    )
        except PomonaError:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        except Exception as exc:
            shutil.rmtree(folder, ignore_errors=True)
            raise InvalidInputError(
                f"Feature view '{view.name}': reading {source.describe()} failed: {exc}.",
                details={"field": "source", "view": view.name},
            ) from exc
        return f"read_parquet({literal(str(folder / '*.parquet'))}, union_by_name = true)"


def _file_fingerprint(path: Path) -> str:
    if not path.exists():
        return "missing"
    files = sorted(path.rglob("*.parquet")) if path.is_dir() else [path]
    digest = hashlib.sha256()
    for file in files:
        stat = file.stat()
        digest.update(f"{file}:{stat.st_size}:{stat.st_mtime_ns};".encode())
    return digest.hexdigest()[:32]


class _engine:
    """A short-lived SQLAlchemy engine for one source (disposed on exit)."""

    def __init__(self, source: SqlSource) -> None:
        from sqlalchemy import create_engine

        self.engine = create_engine(source.url)

    def __enter__(self):  # type: ignore[no-untyped-def]
        return self.engine

    def __exit__(self, *exc: object) -> None:
        self.engine.dispose()


def _sql_fingerprint(source: SqlSource, timestamp_column: str) -> str:
    from sqlalchemy import text

    inner = source.query or f"SELECT * FROM {source.table}"
    query = f"SELECT COUNT(*), MAX({ident(timestamp_column)}) FROM ({inner}) AS s"
    try:
        with _engine(source) as engine, engine.connect() as conn:
            count, newest = conn.execute(text(query)).one()
    except Exception as exc:
        raise InvalidInputError(
            f"Cannot read {source.describe()}: {str(exc).splitlines()[0]}.",
            hint="Check the URL, the table or query, and the timestamp column.",
            details={"field": "source"},
        ) from exc
    return f"{count}:{newest}"
