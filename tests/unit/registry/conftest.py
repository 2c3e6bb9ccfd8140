"""A registry on a SQLite database and a local artifact folder, for the unit tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from pomona.artifacts import open_artifact_store
from pomona.metadata import open_metadata_store
from pomona.registry import RegistryService


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[RegistryService]:
    with (
        open_metadata_store(f"sqlite:///{tmp_path / 'meta.db'}") as metadata,
        open_artifact_store((tmp_path / "blobs").as_uri()) as artifacts,
    ):
        metadata.initialize()
        yield RegistryService(metadata, artifacts, default_actor="tester")
