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

from pomona.errors import InvalidInputError

__all__ = [
    "IMAGE_EXTENSIONS",
    "TABLE_EXTENSIONS",
    "FileList",
    "FileSource",
    "SourceFile",
    "SqlSource",
    "check_allowed",
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
    """A query on a SQLAlchemy URL; ``description`` hides the password."""

    url: str
    query: str
    description: str
    kind: str = "table"

    def close(self) -> None:
        """Nothing to release: connections are opened per read."""


def is_sql_url(source: str) -> bool:
    scheme = source.split("://", 1)[0].split("+", 1)[0] if "://" in source else ""
    return scheme in _SQL_SCHEMES


def check_allowed(path: Path, allowed_roots: Sequence[Path]) -> Path:
    """The resolved ``path``, if it lies under one of ``allowed_roots`` (any when empty)."""
    resolved = path.expanduser().resolve()
    if not allowed_roots:
        return resolved
    for root in allowed_roots:
        if resolved.is_relative_to(Path(root).expanduser().resolve()):
            return resolved
    roots = ", ".join(str(r) for r in allowed_roots)
    raise InvalidInputError(
        f"'{path}' is outside the folders datasets may be read from ({roots}).",
        hint="Move the data under one of them, or add its folder to datasets.allowed_roots.",
        details={"field": "source", "path": str(path)},
    )


def open_source(
    source: str | Path,
    *,
    query: str | None = None,
    storage_options: Mapping[str, Any] | None = None,
    allowed_roots: Sequence[Path] = (),
) -> FileSource | SqlSource:
    """Resolve ``source`` (a folder, file, ``s3://`` prefix or SQLAlchemy URL).

    Raises:
        InvalidInputError: missing, empty or disallowed source, or a query without a URL.
    """
    text = str(source)
    if is_sql_url(text):
        return _sql_source(text, query, allowed_roots)
    if query is not None:
        raise InvalidInputError(
            f"A query needs a database URL as the source, not '{text}'.",
            hint="Pass e.g. source='postgresql://user@host/db' with query='SELECT …'.",
            details={"field": "query"},
        )
    if "://" in text and not text.startswith("file://"):
        return _remote_source(text, dict(storage_options or {}))
    path = Path(text.removeprefix("file://"))
    return _local_source(check_allowed(path, allowed_roots), text, allowed_roots)


def _sql_source(url: str, query: str | None, allowed_roots: Sequence[Path]) -> SqlSource:
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    if not query or not query.strip():
        raise InvalidInputError(
            f"A database source needs a query (source: {url.split('://')[0]}://…).",
            hint="Pass query='SELECT …' (CLI: --query).",
            details={"field": "query"},
        )
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise InvalidInputError(f"'{url}' is not a database URL: {exc}.") from exc
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        db = check_allowed(Path(parsed.database), allowed_roots)
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


def _local_source(path: Path, text: str, allowed_roots: Sequence[Path]) -> FileSource:
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
                if allowed_roots and os.path.islink(full):
                    check_allowed(Path(full), allowed_roots)
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


def _remote_source(url: str, options: dict[str, Any]) -> FileSource:
    import fsspec

    protocol = url.split("://", 1)[0]
    if protocol == "s3" and "region" in options:  # the artifact store's name for it
        region = options.pop("region")
        options["client_kwargs"] = {**options.get("client_kwargs", {}), "region_name": region}
    try:
        fs = fsspec.filesystem(protocol, **options)
        prefix = url.split("://", 1)[1].rstrip("/")
        found = (
            sorted(fs.find(prefix)) if fs.isdir(prefix) else [prefix] if fs.exists(prefix) else []
        )
    except (ImportError, ValueError) as exc:
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
