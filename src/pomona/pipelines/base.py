"""The pipeline store: what the runner, scheduler and views read and write, on either
transport (the SQL database embedded, or a Pomona server over HTTP)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

from pomona.pipelines.records import (
    Event,
    LineageGraph,
    PipelineRun,
    PipelineSummary,
    RunState,
    Schedule,
    StepRun,
)
from pomona.types import Page

__all__ = ["PipelineStore", "StepBatchStore"]


class PipelineStore(Protocol):
    """Pipeline runs, step runs, lineage, schedules and events."""

    def create_run(self, run: PipelineRun, dag: dict[str, Any]) -> PipelineRun:
        """Record a new run and its (pending) steps; an existing ``run_id`` returns that run."""
        ...

    def heartbeat_run(self, run_id: str) -> None:
        """Say that the process running this run is alive."""
        ...

    def record_step(self, step: StepRun) -> None:
        """Write a step's state, times, cache fields, error and artifacts (lineage)."""
        ...

    def end_run(self, run_id: str, state: RunState, error: str | None = None) -> None:
        """Mark a running run ended; a run already ended keeps its first end."""
        ...

    def find_cached(self, cache_key: str) -> StepRun | None:
        """The latest succeeded step run with this cache key, with its outputs."""
        ...

    def get_run(self, run_id: str) -> PipelineRun:
        """The run with its steps; ``PipelineRunNotFoundError`` if none has this id."""
        ...

    def list_runs(
        self,
        pipeline: str | None = None,
        *,
        state: RunState | None = None,
        limit: int = 50,
        page_token: str | None = None,
    ) -> Page[PipelineRun]:
        """Runs, newest first, without their steps."""
        ...

    def list_pipelines(self) -> list[PipelineSummary]:
        """Pipelines that have runs, by name."""
        ...

    def lineage(self, digest: str, direction: str, *, max_nodes: int = 500) -> LineageGraph:
        """What produced an artifact (``upstream``) or what was made from it (``downstream``)."""
        ...

    def mark_dead_runs(self, timeout_s: float) -> int:
        """Mark running runs silent for ``timeout_s`` dead; returns how many."""
        ...

    def create_schedule(self, schedule: Schedule) -> Schedule:
        """Add a schedule; ``AlreadyExistsError`` if its name is taken."""
        ...

    def get_schedule(self, name: str) -> Schedule:
        """The schedule, or ``ScheduleNotFoundError``."""
        ...

    def list_schedules(self) -> list[Schedule]:
        """Every schedule, by name."""
        ...

    def delete_schedule(self, name: str) -> None:
        """Remove a schedule (idempotent)."""
        ...

    def emit_event(self, type: str, payload: dict[str, Any]) -> Event:
        """Record an event and, in the same transaction, one outbox delivery per trigger."""
        ...

    def list_events(
        self, type: str | None = None, *, limit: int = 50, page_token: str | None = None
    ) -> Page[Event]:
        """Events, newest first."""
        ...


@runtime_checkable
class StepBatchStore(Protocol):
    """A pipeline store that can write several step records in one transaction; the runner
    uses it to write a step's end and the next step's start together."""

    def record_steps(self, records: Sequence[StepRun]) -> None:
        """Write the records in order, all or none."""
        ...
