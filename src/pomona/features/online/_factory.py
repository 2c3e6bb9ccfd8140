"""Open an online store from a URL: ``sqlite``, ``sqlite:///path``, ``redis://…``, ``memory``."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlsplit

from pomona.errors import ConfigError
from pomona.features.online.base import OnlineStore
from pomona.plugins import load_class

__all__ = ["open_online_store"]

_BUILTINS = {
    "memory": "pomona.features.online.backends.memory:MemoryOnlineStore",
    "sqlite": "pomona.features.online.backends.sqlite:SqliteOnlineStore",
    "redis": "pomona.features.online.backends.redis:RedisOnlineStore",
}
_EXTRAS = {"redis": "redis"}


def open_online_store(url: str, *, default_path: Path | None = None) -> OnlineStore:
    """Build the online store a URL names; nothing connects until first use.

    Args:
        url: ``sqlite`` (the file ``default_path``), ``sqlite:///abs/path.db``,
            ``redis://host:port/db`` (``rediss://`` for TLS), ``memory``, or
            ``package.module:Class`` (built with no arguments).
        default_path: where plain ``sqlite`` keeps its file.
    Raises:
        ConfigError: the URL names no known backend or is malformed.
    """
    text = url.strip() or "sqlite"
    scheme = urlsplit(text).scheme.lower() if "://" in text else text.lower()
    if scheme in ("redis", "rediss", "unix"):
        cls = load_class("online_stores", "redis", _BUILTINS, _EXTRAS)
        store: OnlineStore = cls(text)
        return store
    if scheme == "sqlite":
        path = _sqlite_path(text, default_path)
        cls = load_class("online_stores", "sqlite", _BUILTINS, _EXTRAS)
        store = cls(path)
        return store
    if scheme == "memory":
        cls = load_class("online_stores", "memory", _BUILTINS, _EXTRAS)
        store = cls()
        return store
    cls = load_class("online_stores", text, _BUILTINS, _EXTRAS)
    store = cls()
    return store


def _sqlite_path(url: str, default_path: Path | None) -> Path:
    if "://" not in url:
        if default_path is None:
            raise ConfigError("The 'sqlite' online store needs a file path.")
        return default_path
    path = unquote(urlsplit(url).path)
    if not url.startswith("sqlite:///") or not path:
        raise ConfigError(
            f"'{url}' is not a SQLite online store URL.",
            hint="Use 'sqlite' (the workspace's .pomona/online.db) or 'sqlite:////abs/path.db'.",
        )
    return Path(path[1:])  # sqlite:////abs.db is absolute, sqlite:///rel.db relative
