"""Ids and plain value objects shared across layers."""

from __future__ import annotations

import enum
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Generic, NewType, TypeVar

__all__ = [
    "ArtifactInfo",
    "Digest",
    "Metric",
    "MetricPoint",
    "Page",
    "Run",
    "RunId",
    "RunStatus",
]

RunId = NewType("RunId", str)
Digest = NewType("Digest", str)
"""A content digest, ``sha256:<64 hex>``."""

T = TypeVar("T")


class RunStatus(enum.StrEnum):
    """Lifecycle state of a tracked run."""

    RUNNING = "running"
    FINISHED = "finished"
    FAILED = "failed"
    KILLED = "killed"
    DEAD = "dead"
    """The process stopped sending heartbeats without ending the run."""

    @property
    def is_terminal(self) -> bool:
        return self is not RunStatus.RUNNING


@dataclass(frozen=True, slots=True)
class Metric:
    """One metric value as logged."""

    key: str
    value: float
    step: int = 0
    timestamp_ms: int = 0


@dataclass(frozen=True, slots=True)
class MetricPoint:
    """One point of a (possibly downsampled) metric history."""

    step: int
    value: float
    timestamp_ms: int
    min: float | None = None
    max: float | None = None


@dataclass(frozen=True, slots=True)
class ArtifactInfo:
    """A file logged to a run: its path inside the run, digest and size."""

    path: str
    digest: Digest
    size: int


@dataclass(frozen=True, slots=True)
class Run:
    """A tracked run with its latest metric values."""

    run_id: RunId
    name: str
    experiment: str
    status: RunStatus
    start_at: datetime
    end_at: datetime | None
    heartbeat_at: datetime | None
    parent_run_id: RunId | None
    source: str | None
    git_commit: str | None
    git_dirty: bool | None
    params: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    deleted: bool = False


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of a listing; pass ``next_page_token`` back for the next page."""

    items: Sequence[T]
    next_page_token: str | None = None
    total: int | None = None

    def __iter__(self) -> Iterator[T]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> T:
        return self.items[index]
