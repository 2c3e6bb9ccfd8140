"""The online store: the latest feature values per entity, for serving.

Open one with ``open_online_store("sqlite")`` (the default, a file in the workspace),
``open_online_store("redis://localhost:6379/0")`` or pass an instance.
"""

from __future__ import annotations

from pomona.features.online._factory import open_online_store
from pomona.features.online.backends.memory import MemoryOnlineStore
from pomona.features.online.backends.sqlite import SqliteOnlineStore
from pomona.features.online.base import OnlineKey, OnlineRecord, OnlineStore

__all__ = [
    "MemoryOnlineStore",
    "OnlineKey",
    "OnlineRecord",
    "OnlineStore",
    "SqliteOnlineStore",
    "open_online_store",
]
