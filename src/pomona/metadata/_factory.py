"""Pick the metadata backend from a URL."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from pomona.errors import ConfigError
from pomona.metadata.base import MetadataStore
from pomona.plugins import load_class

__all__ = ["open_metadata_store"]

_BUILTINS = {
    "memory": "pomona.metadata.backends.memory:MemoryMetadataStore",
    "sqlite": "pomona.metadata.backends.sqlite:SQLiteMetadataStore",
    "postgresql": "pomona.metadata.backends.postgres:PostgresMetadataStore",
}
_EXTRAS = {"postgresql": "postgres"}


def open_metadata_store(url: str, **options: Any) -> MetadataStore:
    """A metadata store for ``url``: ``memory://``, ``sqlite:///path`` or ``postgresql://…``.

    Nothing is opened yet: the connection is made on first use.
    Raises:
        ConfigError: an unsupported URL or an unknown option.
    """
    scheme = url.split(":", 1)[0].split("+", 1)[0].lower() if ":" in url else ""
    name = {"postgres": "postgresql"}.get(scheme, scheme)
    if name not in _BUILTINS:
        raise ConfigError(
            f"Unsupported metadata URL '{url}'.",
            hint="Use memory://, sqlite:///path/to/pomona.db or postgresql://user@host/db.",
            details={"field": "metadata.url"},
        )
    cls = load_class("metadata", name, _BUILTINS, _EXTRAS)
    try:
        store: MetadataStore = cls(url, **options)
    except ValidationError as exc:
        raise ConfigError(
            f"Invalid option for the {name} metadata store: {exc.errors()[0]['msg']}.",
            details={"option": str(exc.errors()[0]["loc"][0])},
        ) from exc
    return store
