"""What training needs from its caller: somewhere to track runs (the workspace gives it)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from pomona.tracking.base import TrackingAPI
from pomona.tracking.run import ActiveRun

__all__ = ["Tracker"]


class Tracker(Protocol):
    """Starts tracked runs and reads them back; ``pomona.connect()``'s workspace is one."""

    runs: TrackingAPI

    def start_run(
        self,
        name: str | None = None,
        *,
        experiment: str = "default",
        tags: Mapping[str, object] | None = None,
        params: Mapping[str, object] | None = None,
        parent: ActiveRun | str | None = None,
        nested: bool = True,
    ) -> ActiveRun:
        """Start a run (a child of the active run unless ``nested=False``)."""
        ...

    def active_run(self) -> ActiveRun | None:
        """The innermost run started and not yet ended."""
        ...
