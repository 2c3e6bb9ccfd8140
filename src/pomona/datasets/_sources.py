"""Sources a dataset is read from: local folders and files, ``s3://`` prefixes, SQL queries.

A source lists its files (sorted, so ingests are reproducible) and fetches each one to a
local path; it never reads a whole dataset into memory.
"""

from __future__ import annotations

import os
import tempfile
import threading
from array import array
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, overload

from pomona.datasets._policy import SQL_PREFIX, SourcePolicy, looks_like_url
from pomona.errors import InvalidInputError

__all__ = [
    "IMAGE_EXTENSIONS",
    "TABLE_EXTENSIONS",
    "FileList",
    "FileSource",
    "SourceFile",
    "SqlSource",
    "is_sql_url",
    "open_source",
]

_TMP_LOCK = threading.Lock()

IMAGE_EXTENSIONS = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp"})
TABLE_EXTENSIONS = frozenset({".csv", ".parquet", ".pq"})
_SQL_SCHEMES = ("sqlite", "postgresql", "postgres", "mysql", "mssql", "oracle", "duckdb")


@dataclass(frozen=True, slots=True)
class SourceFile:
    """One file of a source: its record id (relative path, ``/``) and where it lives."""

    record_id: str
    location: str


class FileList(Sequence[SourceFile]):
    """Source files sorted by record id, kept compactly: the ids as one string (and the
    locations as another, unless each is ``root`` joined with its id), about the id's
    length plus 8 bytes a file instead of a few hundred."""

    def __init__(self, pairs: list[tuple[str, str]], root: str | None = None) -> None:
        pairs.sort(key=lambda pair: pair[0])
        self._root = root
        if root is not None and any(loc != os.path.join(root, rel) for rel, loc in pairs):
            self._root = None
        self._ids, self._id_ends = _packed(rel for rel, _ in pairs)
        self._locations, self._location_ends = (
            ("", array("q")) if self._root is not None else _packed(loc for _, loc in pairs)
        )

    def __len__(self) -> int:
        return len(self._id_ends)

    @overload
    def __getitem__(self, index: int) -> SourceFile: ...
    @overload
    def __getitem__(self, index: slice) -> list[SourceFile]: ...
    def __getitem__(self, index: int | slice) -> SourceFile | list[SourceFile]:
        if isinstance(index, slice):
            return [self._item(i) for i in range(*index.indices(len(self)))]
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(index)
        return self._item(index)

    def _item(self, i: int) -> SourceFile:
        record_id = _unpack(self._ids, self._id_ends, i)
        if self._root is not None:
            return SourceFile(record_id, os.path.join(self._root, record_id))
        return SourceFile(record_id, _unpack(self._locations, self._location_ends, i))


def _packed(texts: Iterable[str]) -> tuple[str, array[int]]:
    ends: array[int] = array("q")
    parts = []
    end = 0
    for text in texts:
        end += len(text)
        ends.append(end)
        parts.append(text)
    return "".join(parts), ends


def _unpack(joined: str, ends: array[int], i: int) -> str:
    return joined[ends[i - 1] if i else 0 : ends[i]]


@dataclass
class FileSource:
    """Files under a local folder or an object-storage prefix (or a single file)."""

    description: str
    files: Sequence[SourceFile]
    kind: str
    filesystem: Any = None
    """An fsspec filesystem for remote files; ``None`` for local ones."""
    _tmp: tempfile.TemporaryDirectory[str] | None = field(default=None, repr=False)

    @contextmanager
    def local(self, item: SourceFile) -> Iterator[Path]:
        """A local path holding the file (downloaded first when remote)."""
        if self.filesystem is None:
            yield Path(item.location)
            return
        path = self.download(item)
        try:
            yield path
        finally:
            path.unlink(missing_ok=True)

    def download(self, item: SourceFile) -> Path:
        """Copy a remote file to a temporary folder that lives until ``close``."""
        with _TMP_LOCK:  # downloads run in threads: one folder, made once
            if self._tmp is None:
                self._tmp = tempfile.TemporaryDirectory(prefix="pomona-source-")
        dest = Path(self._tmp.name) / item.record_id
        dest.parent.mkdir(parents=True, exist_ok=True)
        try:
            self.filesystem.get_file(item.location, str(dest))
        except (OSError, ValueError) as exc:
            raise InvalidInputError(
                f"Cannot read '{item.location}' from {self.description}: {exc}.",
                details={"field": "source", "file": item.record_id},
            ) from exc
        return dest

    @property
    def remote(self) -> bool:
        return self.filesystem is not None

    def close(self) -> None:
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None


@dataclass(frozen=True)
class SqlSource:
    """A query on a SQLAlchemy URL; ``description`` hides the password (and names a
    configured source by its name); ``read_only`` sources are opened by
    ``readonly_engine`` with ``timeout_s``."""

    url: str
    query: str
    description: str
    kind: str = "table"
    read_only: bool = False
    timeout_s: float = 30.0

    def close(self) -> None:
        """Nothing to release: connections are opened per read."""


def is_sql_url(source: str) -> bool:
    scheme = source.split("://", 1)[0].split("+", 1)[0].lower() if "://" in source else ""
    return scheme in _SQL_SCHEMES


def open_source(
    source: str | Path,
    *,
    query: str | None = None,
    storage_options: Mapping[str, Any] | None = None,
    allowed_roots: Sequence[Path] = (),
    policy: SourcePolicy | None = None,
) -> FileSource | SqlSource:
    """Resolve ``source`` (a folder, file, fsspec URL such as ``s3://`` prefix, SQLAlchemy
    URL, or ``sql:<name>`` of a configured SQL source) as ``policy`` allows.

    ``policy`` defaults to the embedded one with ``allowed_roots``.

    Raises:
        InvalidInputError: missing, empty or disallowed source, or a query without a URL.
    """
    policy = policy or SourcePolicy.embedded(allowed_roots)
    text = str(source)
    if text.startswith(SQL_PREFIX) and "://" not in text:
        return _sql_source(policy.sql_url(text), query, policy, name=text)
    if is_sql_url(text):
        policy.check_sql_url()
        return _sql_source(text, query, policy)
    if query is not None:
        raise InvalidInputError(
            f"A query needs a database URL or a named SQL source as the source, not '{text}'.",
            hint="Pass e.g. source='sql:warehouse' (a configured SQL source) or a database "
            "URL with query='SELECT …'.",
            details={"field": "query"},
        )
    if policy.server_side:
        if looks_like_url(text):
            return _remote_source(text, storage_options, policy)
        return _local_source(policy.local_path(text), text, policy)
    if "://" in text and not text.startswith("file://"):
        return _remote_source(text, storage_options, policy)
    path = Path(text.removeprefix("file://"))
    return _local_source(policy.local_path(path), text, policy)


def _sql_source(
    url: str, query: str | None, policy: SourcePolicy, *, name: str | None = None
) -> SqlSource:
    """A query on ``url``; ``name`` (``sql:<name>``) when it is a configured source, which
    is opened read-only and described by its name, not its URL."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    if not query or not query.strip():
        where = name or f"{url.split('://')[0]}://…"
        raise InvalidInputError(
            f"A database source needs a query (source: {where}).",
            hint="Pass query='SELECT …' (CLI: --query).",
            details={"field": "query"},
        )
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        what = f"The SQL source '{name}'" if name else f"'{url}'"
        raise InvalidInputError(
            f"{what} is not a database URL.", details={"field": "source"}
        ) from exc
    if name is not None:
        return SqlSource(
            url=url,
            query=query,
            description=f"{name} ({query.strip()[:200]})",
            read_only=True,
            timeout_s=policy.timeout_s,
        )
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        db = policy.local_path(Path(parsed.database))
        if not db.is_file():
            raise InvalidInputError(
                f"The SQLite database '{parsed.database}' does not exist.",
                details={"field": "source"},
            )
    safe = parsed.render_as_string(hide_password=True)
    return SqlSource(url=url, query=query, description=f"{safe} ({query.strip()[:200]})")


def _kind(names: list[str], where: str) -> str:
    suffixes = {Path(n).suffix.lower() for n in names}
    if suffixes & IMAGE_EXTENSIONS:
        return "images"
    if suffixes & TABLE_EXTENSIONS:
        return "table"
    raise InvalidInputError(
        f"{where} holds no images ({', '.join(sorted(IMAGE_EXTENSIONS))}) "
        f"and no tables ({', '.join(sorted(TABLE_EXTENSIONS))}).",
        hint="Point the source at the folder or file holding the data.",
        details={"field": "source"},
    )


def _select(kind: str, pairs: list[tuple[str, str]], root: str | None = None) -> FileList:
    """The files of ``kind`` among (record id, location) pairs, sorted by record id."""
    wanted = IMAGE_EXTENSIONS if kind == "images" else TABLE_EXTENSIONS
    chosen = [(rel, loc) for rel, loc in pairs if os.path.splitext(rel)[1].lower() in wanted]
    pairs.clear()
    return FileList(chosen, root)


def _local_source(path: Path, text: str, policy: SourcePolicy) -> FileSource:
    if not path.exists():
        raise InvalidInputError(
            f"The source '{text}' does not exist.",
            hint="Check the path (relative paths start at the current folder).",
            details={"field": "source", "path": text},
        )
    if path.is_file():
        pairs = [(path.name, str(path))]
    else:
        pairs = []
        for folder, dirs, names in os.walk(path):
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            for name in names:
                if name.startswith("."):
                    continue
                full = os.path.join(folder, name)
                policy.check_entry(full)
                pairs.append((Path(full).relative_to(path).as_posix(), full))
    if not pairs:
        raise InvalidInputError(
            f"The source '{text}' is empty: it holds no files.",
            hint="Point the source at the folder holding the data.",
            details={"field": "source", "path": text},
        )
    kind = _kind([rel for rel, _ in pairs], f"The source '{text}'")
    root = str(path) if path.is_dir() else None
    return FileSource(description=str(path), files=_select(kind, pairs, root), kind=kind)


def _remote_source(
    url: str, storage_options: Mapping[str, Any] | None, policy: SourcePolicy
) -> FileSource:
    import fsspec

    protocol, prefix, options = policy.remote(url, storage_options)
    prefix = prefix.rstrip("/")
    try:
        fs = fsspec.filesystem(protocol, **options)
        found = (
            sorted(fs.find(prefix)) if fs.isdir(prefix) else [prefix] if fs.exists(prefix) else []
        )
    except (ImportError, ValueError, TypeError) as exc:
        raise InvalidInputError(
            f"Cannot open '{url}': {exc}.", details={"field": "source"}
        ) from exc
    except OSError as exc:
        raise InvalidInputError(
            f"Cannot list '{url}': {exc}.",
            hint="Check the bucket, prefix and credentials (storage options).",
            details={"field": "source"},
        ) from exc
    if not found:
        raise InvalidInputError(
            f"The source '{url}' is empty: no object has this prefix.",
            details={"field": "source", "path": url},
        )
    base = prefix if len(found) > 1 or found[0] != prefix else prefix.rsplit("/", 1)[0]
    pairs = [(key[len(base) :].lstrip("/"), key) for key in found]
    kind = _kind([rel for rel, _ in pairs], f"The source '{url}'")
    return FileSource(description=url, files=_select(kind, pairs), kind=kind, filesystem=fs)
