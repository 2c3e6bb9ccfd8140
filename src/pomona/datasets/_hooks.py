"""What the datasets service needs from other domains, wired in by ``pomona.client``."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Protocol

__all__ = ["VERSION_CREATED", "EventSink", "Referrers"]

VERSION_CREATED = "dataset.version_created"
"""The event emitted when a version is made; payload: ``dataset``, ``version``, ``ref``."""


class EventSink(Protocol):
    """Where events go (the pipelines' outbox, so that ``on_event`` triggers run)."""

    def emit_event(self, type: str, payload: Mapping[str, Any] | None = None) -> Any: ...


Referrers = Callable[[str, "int | None"], list[str]]
"""``(dataset, version)`` -> what outside datasets refers to it ("model 'grader' version 3");
``version=None`` asks about any version of the dataset."""
