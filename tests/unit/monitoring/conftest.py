"""A monitoring service on memory stores, hours of synthetic prediction logs, a fake sink."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest

from pomona.artifacts import ArtifactStore
from pomona.artifacts._factory import open_artifact_store
from pomona.metadata import MetadataStore, open_metadata_store
from pomona.monitoring import MonitoringService
from pomona.testing.monitoring import StaticReferences, reference_frame, synthetic_log, write_log

HOUR = 3_600_000
T0 = 1_700_000_000_000 - 1_700_000_000_000 % HOUR


def at(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


def after_hour(i: int) -> datetime:
    """A moment just after hour ``i`` (counted from T0) closed, lag included."""
    return at(T0 + (i + 1) * HOUR + 60_000)


@dataclass
class Sink:
    """An ``EventSink`` that keeps what it was given."""

    events: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def emit_event(self, type: str, payload: Any = None) -> Any:
        self.events.append((type, dict(payload or {})))
        return SimpleNamespace(event_id=len(self.events))


@dataclass
class Env:
    metadata: MetadataStore
    artifacts: ArtifactStore
    service: MonitoringService
    sink: Sink
    references: StaticReferences

    t0: int = T0

    def after(self, i: int) -> datetime:
        """A moment just after hour ``i`` closed (its lag included)."""
        return after_hour(i)

    def start(self, i: int) -> datetime:
        return at(T0 + i * HOUR)

    def hour(self, i: int, n: int = 2000, **kw: Any) -> dict[str, Any]:
        """Log ``n`` predictions during hour ``i``."""
        rows = synthetic_log(n, T0 + i * HOUR, T0 + (i + 1) * HOUR, seed=1000 + i, **kw)
        write_log(self.metadata, self.artifacts, rows)
        return rows


@pytest.fixture
def env(tmp_path: Any) -> Iterator[Env]:
    metadata = open_metadata_store("memory://")
    metadata.initialize()
    artifacts = open_artifact_store("memory://")
    sink = Sink()
    references = StaticReferences(reference_frame())
    service = MonitoringService(
        metadata, artifacts, references=references, events=sink, cache_dir=tmp_path / "cache"
    )
    yield Env(metadata, artifacts, service, sink, references)
    service.close()
    metadata.close()
