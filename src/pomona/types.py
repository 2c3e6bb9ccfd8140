"""Ids and plain value objects shared across layers."""

from __future__ import annotations

import enum
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Generic, NewType, TypeVar

__all__ = [
    "INT64_MAX",
    "ArtifactInfo",
    "DatasetRef",
    "Digest",
    "Metric",
    "MetricPoint",
    "ModelVersionRef",
    "Page",
    "Run",
    "RunId",
    "RunStatus",
    "parse_version_number",
]

INT64_MAX = 2**63 - 1
"""The largest value of a signed 64-bit integer column (SQLite, PostgreSQL ``BIGINT``):
numbers from clients are checked against it before they reach a query."""


def parse_version_number(text: str) -> int | None:
    """The number ``text`` spells in ASCII digits, from 1 to ``INT64_MAX``; else ``None``.

    ``str.isdigit()`` is true for ``'²'`` and other characters ``int()`` refuses.
    """
    if not (text.isascii() and text.isdigit()) or len(text) > 19:
        return None
    number = int(text)
    return number if 1 <= number <= INT64_MAX else None


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
class DatasetRef:
    """A dataset version, written ``apples:3``; ``version=None`` means the latest one."""

    name: str
    version: int | None = None

    def __str__(self) -> str:
        return self.name if self.version is None else f"{self.name}:{self.version}"


_MODEL_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,127}$")
_ALIAS_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_\-]{0,63}$")


@dataclass(frozen=True, slots=True)
class ModelVersionRef:
    """A model version: ``apples:3`` (a number), ``apples@champion`` (an alias) or ``apples``
    (the latest version). ``apples@latest`` means the latest version too.

    ``parse`` raises ``ValueError`` naming what is wrong; the registry turns it into an
    ``InvalidInputError`` (this module imports only the standard library).
    """

    name: str
    version: int | None = None
    alias: str | None = None

    @classmethod
    def parse(cls, text: str) -> ModelVersionRef:
        """Read ``name``, ``name:N`` or ``name@alias``."""
        if not isinstance(text, str) or not text.strip():
            raise ValueError(f"A model reference must be a non-empty string, got {text!r}.")
        text = text.strip()
        if "@" in text:
            name, _, alias = text.partition("@")
            ref = cls(name, alias=None if alias == "latest" else alias)
        elif ":" in text:
            name, _, number = text.partition(":")
            version = parse_version_number(number)
            if version is None:
                raise ValueError(f"'{number}' in '{text}' is not a version number (1, 2, ...).")
            ref = cls(name, version=version)
        else:
            ref = cls(text)
        ref.check()
        return ref

    def check(self) -> None:
        """Raise ``ValueError`` unless the name (and alias) are well formed."""
        if not _MODEL_NAME_RE.match(self.name):
            raise ValueError(
                f"'{self.name}' is not a model name: use up to 128 letters, digits, "
                "'_', '-' or '.', starting with a letter or digit."
            )
        if self.alias is not None and not _ALIAS_RE.match(self.alias):
            raise ValueError(
                f"'{self.alias}' is not an alias: use up to 64 letters, digits, '_' or '-', "
                "starting with a letter."
            )
        if self.alias is not None and self.version is not None:
            raise ValueError("A model reference names a version or an alias, not both.")

    @property
    def is_latest(self) -> bool:
        return self.version is None and self.alias is None

    def __str__(self) -> str:
        if self.version is not None:
            return f"{self.name}:{self.version}"
        return self.name if self.alias is None else f"{self.name}@{self.alias}"


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
