"""A feature store on in-process backends (memory metadata and artifacts, SQLite online)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from pomona.artifacts import MemoryArtifactStore
from pomona.features import FeatureStore
from pomona.features.online import MemoryOnlineStore, OnlineStore
from pomona.metadata import open_metadata_store

StoreFactory = Callable[..., FeatureStore]


def make_store(folder: Path, online: OnlineStore | None = None, **options: object) -> FeatureStore:
    """A fresh feature store whose files live under ``folder``."""
    metadata = open_metadata_store("memory://")
    metadata.initialize()
    return FeatureStore(
        metadata,
        MemoryArtifactStore(),
        online or MemoryOnlineStore(),
        folder / "cache",
        **options,  # type: ignore[arg-type]
    )


@pytest.fixture
def feature_store(tmp_path: Path) -> Iterator[FeatureStore]:
    store = make_store(tmp_path)
    yield store
    store.close()
