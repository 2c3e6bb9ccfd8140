"""The metadata store: one SQL database (SQLite or PostgreSQL) for every domain's records."""

from __future__ import annotations

from pomona.metadata import schema
from pomona.metadata._factory import open_metadata_store
from pomona.metadata._sql import insert_ignore, insert_returning, upsert
from pomona.metadata.base import MetadataStore

__all__ = [
    "MetadataStore",
    "insert_ignore",
    "insert_returning",
    "open_metadata_store",
    "schema",
    "upsert",
]
