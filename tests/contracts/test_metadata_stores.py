"""The metadata conformance suite on every built-in backend: memory, SQLite, PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from pomona.metadata import MetadataStore, open_metadata_store
from pomona.testing._servers import free_port
from pomona.testing.metadata import MetadataStoreContract


class TestMemory(MetadataStoreContract):
    @pytest.fixture
    def store(self) -> Iterator[MetadataStore]:
        with open_metadata_store("memory://") as store:
            yield store

    @pytest.fixture
    def unreachable(self) -> Iterator[MetadataStore]:
        with open_metadata_store("memory://") as store:
            yield store  # never unreachable: a fresh one is simply not a workspace


class TestSQLite(MetadataStoreContract):
    @pytest.fixture
    def store(self, tmp_path: Path) -> Iterator[MetadataStore]:
        with open_metadata_store(f"sqlite:///{tmp_path / 'p.db'}") as store:
            yield store

    @pytest.fixture
    def unreachable(self, tmp_path: Path) -> Iterator[MetadataStore]:
        blocker = tmp_path / "file"
        blocker.write_text("not a folder")
        with open_metadata_store(f"sqlite:///{blocker / 'p.db'}") as store:
            yield store


class TestPostgreSQL(MetadataStoreContract):
    @pytest.fixture
    def store(self, pg_url: str) -> Iterator[MetadataStore]:
        with open_metadata_store(pg_url) as store:
            yield store

    @pytest.fixture
    def unreachable(self) -> Iterator[MetadataStore]:
        url = f"postgresql://nobody@127.0.0.1:{free_port()}/none"
        with open_metadata_store(url, connect_timeout_s=2) as store:
            yield store


def test_unknown_metadata_url_lists_the_supported_ones() -> None:
    from pomona.errors import ConfigError

    with pytest.raises(ConfigError, match="sqlite:///"):
        open_metadata_store("mysql://host/db")
    with pytest.raises(ConfigError, match="Invalid option"):
        open_metadata_store("sqlite:///x.db", busy_timeout_s=-1)
