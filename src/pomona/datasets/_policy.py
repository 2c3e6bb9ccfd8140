"""What a dataset source may open: local folders, remote protocols, named SQL sources.

Two policies, one code path:

- ``SourcePolicy.embedded`` (``pomona.connect()`` in the user's own process) opens what the
  user names: any local path (only under ``roots`` when some are set), any fsspec protocol
  with the given storage options, any SQLAlchemy URL.
- ``SourcePolicy.server`` is what a server applies to sources an API client names: local
  paths only under ``roots`` (none when empty), checked after symlinks are resolved; remote
  URLs only of ``protocols`` (never local, in-memory, caching, archive or chained ones),
  opened with the server's own credentials unless ``client_storage_options``; SQL only by
  the name of one of ``sql_sources`` (``sql:<name>``), never a URL the client sends.

Named SQL sources are opened read-only in both (SQLite ``mode=ro`` with an authoriser that
allows reads only; PostgreSQL in read-only transactions) with connect and statement
timeouts of ``timeout_s``; so are remote filesystems (connect and read timeouts).
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pomona.errors import InvalidInputError

__all__ = ["SQL_PREFIX", "SourcePolicy", "looks_like_url", "readonly_engine"]

SQL_PREFIX = "sql:"
"""How a source names one of the configured SQL sources: ``sql:warehouse``."""

_NEVER = frozenset(
    {
        "asynclocal",
        "async_wrapper",
        "asyncwrapper",
        "blockcache",
        "cached",
        "data",
        "dir",
        "file",
        "filecache",
        "generic",
        "libarchive",
        "local",
        "memory",
        "reference",
        "simplecache",
        "tar",
        "zip",
    }
)
"""Protocols a server never opens for a client: the local disk, memory, or another URL."""
_NEVER_CLASSES = frozenset(
    {
        "AbstractArchiveFileSystem",
        "CachingFileSystem",
        "ChainedFileSystem",
        "DataFileSystem",
        "DirFileSystem",
        "GenericFileSystem",
        "LocalFileSystem",
        "MemoryFileSystem",
        "ReferenceFileSystem",
    }
)
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*):")
_SQL_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]*$")
_UPLOAD_HINT = (
    "Send the files instead: the Python client and 'pomona data ingest' upload a local "
    "folder or file to the server."
)


def _refused(message: str, hint: str, field: str = "source") -> InvalidInputError:
    return InvalidInputError(message, hint=hint, details={"field": field})


@dataclass(frozen=True)
class SourcePolicy:
    """Which sources may be opened (see the module docstring); build it with ``embedded``
    or ``server``."""

    roots: tuple[Path, ...] = ()
    server_side: bool = False
    protocols: frozenset[str] = frozenset()
    sql_sources: Mapping[str, str] = field(default_factory=dict)
    client_storage_options: bool = False
    timeout_s: float = 30.0

    @classmethod
    def embedded(
        cls,
        roots: Sequence[Path | str] = (),
        *,
        sql_sources: Mapping[str, str] | None = None,
        timeout_s: float = 30.0,
    ) -> SourcePolicy:
        """The user's own process: any source, local paths under ``roots`` when set."""
        return cls(
            roots=_resolved(roots),
            sql_sources=dict(sql_sources or {}),
            client_storage_options=True,
            timeout_s=timeout_s,
        )

    @classmethod
    def server(
        cls,
        roots: Sequence[Path | str] = (),
        *,
        protocols: Collection[str] = (),
        sql_sources: Mapping[str, str] | None = None,
        client_storage_options: bool = False,
        timeout_s: float = 30.0,
    ) -> SourcePolicy:
        """What a server reads for API clients: only what its settings allow."""
        allowed = frozenset(p.strip().lower() for p in protocols) - _NEVER
        return cls(
            roots=_resolved(roots),
            server_side=True,
            protocols=allowed,
            sql_sources=dict(sql_sources or {}),
            client_storage_options=client_storage_options,
            timeout_s=timeout_s,
        )

    # --- local paths --------------------------------------------------------------------

    def local_path(self, path: str | Path, *, field: str = "source") -> Path:
        """The resolved ``path`` (symlinks followed), if the policy lets it be read.

        Raises:
            InvalidInputError: outside the roots (a server without roots reads none); the
                message names the path as given, never where a symlink leads.
        """
        if self.server_side and not self.roots:
            raise _refused(
                f"This server reads no files from its own disk for API clients ('{path}').",
                f"{_UPLOAD_HINT} Or ask its owner to set datasets.allowed_roots.",
                field,
            )
        resolved = Path(path).expanduser().resolve()
        if self.roots and not any(resolved.is_relative_to(root) for root in self.roots):
            roots = ", ".join(str(r) for r in self.roots)
            raise InvalidInputError(
                f"'{path}' is outside the folders datasets may be read from ({roots}).",
                hint="Move the data under one of them, or add its folder to "
                "datasets.allowed_roots.",
                details={"field": field, "path": str(path)},
            )
        return resolved

    def check_entry(self, full: str, *, field: str = "source") -> None:
        """Check a file found inside an allowed folder: a symlink must lead under a root."""
        if self.roots and os.path.islink(full):
            self.local_path(full, field=field)

    def check_tree(self, folder: Path, *, field: str = "source") -> None:
        """``check_entry`` on every file and folder below ``folder`` (symlinks are not
        followed)."""
        if not self.roots or not folder.is_dir():
            return
        for parent, dirs, names in os.walk(folder):
            for name in (*dirs, *names):
                self.check_entry(os.path.join(parent, name), field=field)

    # --- remote URLs --------------------------------------------------------------------

    def remote(
        self, url: str, storage_options: Mapping[str, Any] | None
    ) -> tuple[str, str, dict[str, Any]]:
        """The protocol, path and fsspec options to open ``url`` with.

        Raises:
            InvalidInputError: (server) a protocol not allowed, a chained or nested URL,
                or storage options the client may not choose.
        """
        scheme = _scheme(url)
        protocol, rest = (scheme or "").lower(), url.split("://", 1)[-1]
        options = dict(storage_options or {})
        if self.server_side:
            _check_plain(url, protocol, rest)
            self._check_protocol(protocol)
            _check_remote_class(protocol)
        elif self.roots:  # the roots hold for local files however they are named
            _check_plain(url, protocol, None)
            _check_remote_class(protocol)
        if self.server_side and options and not self.client_storage_options:
            keys = ", ".join(sorted(options))
            raise _refused(
                f"This server opens remote sources with its own settings; it does not "
                f"take storage options from clients ({keys}).",
                "Leave storage_options out, or ask the server's owner to set "
                "datasets.client_storage_options.",
                "storage_options",
            )
        if protocol == "s3" and "region" in options:  # the artifact store's name for it
            region = options.pop("region")
            options["client_kwargs"] = {**options.get("client_kwargs", {}), "region_name": region}
        return protocol, rest, _with_timeouts(protocol, options, self.timeout_s)

    def _check_protocol(self, protocol: str) -> None:
        if protocol not in self.protocols:
            allowed = ", ".join(sorted(self.protocols)) or "none"
            raise _refused(
                f"This server does not read '{protocol}://' sources for API clients "
                f"(allowed: {allowed}).",
                f"{_UPLOAD_HINT} Or ask its owner to add the protocol to "
                "datasets.allowed_protocols.",
            )

    # --- SQL ----------------------------------------------------------------------------

    def sql_url(self, source: str) -> str:
        """The URL of the named SQL source ``sql:<name>``.

        Raises:
            InvalidInputError: no SQL source has that name.
        """
        name = source[len(SQL_PREFIX) :].strip()
        url = self.sql_sources.get(name) if _SQL_NAME.match(name) else None
        if url is None:
            known = ", ".join(sorted(self.sql_sources)) or "none"
            raise InvalidInputError(
                f"No SQL source is named '{name}' (configured: {known}).",
                hint="Name one of datasets.sql_sources, e.g. source='sql:warehouse'.",
                details={"field": "source", "name": name},
            )
        return url

    def check_sql_url(self) -> None:
        """Raise if the policy refuses database URLs sent by the caller (a server does)."""
        if self.server_side:
            known = ", ".join(f"sql:{n}" for n in sorted(self.sql_sources)) or "none"
            raise _refused(
                "A server does not connect to database URLs sent by clients; it reads the SQL "
                f"sources its settings name (here: {known}).",
                "Send source='sql:<name>' with a query; the server's owner lists the "
                "databases in datasets.sql_sources.",
            )


def _check_plain(url: str, protocol: str, rest: str | None) -> None:
    """Refuse chained URLs, and nested ones unless ``rest`` is ``None``."""
    nested = rest is not None and ("://" in rest or not url.lower().startswith(f"{protocol}://"))
    if "::" in url or nested:
        raise _refused(
            "Only plain remote URLs ('s3://bucket/prefix') are read here, not chained "
            "or nested ones.",
            "Name the object storage prefix itself.",
        )


def _check_remote_class(protocol: str) -> None:
    """Refuse protocols fsspec resolves to the local disk, memory, a cache, an archive or
    another URL."""
    import fsspec

    try:
        cls = fsspec.get_filesystem_class(protocol)
    except (ImportError, ValueError) as exc:
        raise _refused(
            f"Cannot open '{protocol}://' sources: {exc}.",
            "Install the package for the protocol (or ask the server's owner to).",
        ) from exc
    if protocol in _NEVER or any(base.__name__ in _NEVER_CLASSES for base in cls.__mro__):
        raise _refused(
            f"'{protocol}://' names the local disk, memory, a cache, an archive or "
            "another URL, not remote object storage.",
            "Name a local file by its path (within datasets.allowed_roots), or a remote "
            "prefix such as 's3://bucket/data'.",
        )


def _resolved(roots: Sequence[Path | str]) -> tuple[Path, ...]:
    return tuple(Path(r).expanduser().resolve() for r in roots)


def _scheme(text: str) -> str | None:
    match = _SCHEME.match(text)
    return match.group(1) if match else None


def looks_like_url(text: str) -> bool:
    """Whether ``text`` starts with a URL scheme (``s3:``, ``file:``) or chains protocols."""
    return "::" in text or _scheme(text) is not None


def _with_timeouts(protocol: str, options: dict[str, Any], timeout_s: float) -> dict[str, Any]:
    """Connect and read timeouts for the filesystems that take them (unless given)."""
    if protocol in ("s3", "s3a"):
        config = dict(options.get("config_kwargs") or {})
        config.setdefault("connect_timeout", timeout_s)
        config.setdefault("read_timeout", timeout_s)
        options["config_kwargs"] = config
    elif protocol in ("http", "https"):
        import aiohttp

        client = dict(options.get("client_kwargs") or {})
        client.setdefault("timeout", aiohttp.ClientTimeout(connect=timeout_s, sock_read=timeout_s))
        options["client_kwargs"] = client
    elif protocol in ("gs", "gcs"):
        options.setdefault("timeout", timeout_s)
    return options


def readonly_engine(url: str, timeout_s: float) -> Any:
    """A SQLAlchemy engine on ``url`` that can only read, with connect and statement
    timeouts: SQLite through ``mode=ro`` and an authoriser allowing reads only (no ATTACH,
    VACUUM INTO, PRAGMA writes or writes of any kind); PostgreSQL in read-only transactions.

    Raises:
        InvalidInputError: another database (it could not be held to reads).
    """
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        path = parsed.database or ":memory:"
        return create_engine("sqlite://", creator=lambda: _sqlite_readonly(path, timeout_s))
    if backend == "postgresql":
        ms = max(1, int(timeout_s * 1000))
        args = {
            "connect_timeout": max(1, math.ceil(timeout_s)),
            "options": f"-c default_transaction_read_only=on -c statement_timeout={ms}",
        }
        return create_engine(parsed, connect_args=args)
    raise InvalidInputError(
        f"A named SQL source must be SQLite or PostgreSQL (opened read-only), not {backend}.",
        hint="Point datasets.sql_sources at a SQLite file or a PostgreSQL database.",
        details={"field": "source"},
    )


_SQLITE_READS = frozenset({20, 21, 31, 33})
"""sqlite3.SQLITE_READ, SQLITE_SELECT, SQLITE_FUNCTION, SQLITE_RECURSIVE."""


def _sqlite_authorizer(
    action: int, arg1: str | None, arg2: str | None, db: str | None, trigger: str | None
) -> int:
    import sqlite3

    if action in _SQLITE_READS:
        return sqlite3.SQLITE_OK
    if action == sqlite3.SQLITE_PRAGMA and arg1 == "read_uncommitted" and arg2 is None:
        return sqlite3.SQLITE_OK  # SQLAlchemy reads it when it connects
    return sqlite3.SQLITE_DENY


def _sqlite_readonly(path: str, timeout_s: float) -> Any:
    import sqlite3
    from urllib.parse import quote

    if path == ":memory:":
        conn = sqlite3.connect(":memory:", timeout=timeout_s, check_same_thread=False)
    else:
        uri = f"file:{quote(str(Path(path).resolve()))}?mode=ro"
        conn = sqlite3.connect(uri, uri=True, timeout=timeout_s, check_same_thread=False)
    conn.setlimit(sqlite3.SQLITE_LIMIT_ATTACHED, 0)
    conn.set_authorizer(_sqlite_authorizer)
    return conn
