"""What the pipeline service returns: runs, step runs, artifacts, lineage, schedules, events."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pomona.errors import NotFoundError
from pomona.types import Digest

__all__ = [
    "ArtifactLink",
    "Event",
    "LineageEdge",
    "LineageGraph",
    "LineageNode",
    "PipelineRun",
    "PipelineRunNotFoundError",
    "PipelineSummary",
    "RunState",
    "Schedule",
    "ScheduleNotFoundError",
    "StepRun",
    "StepState",
]


class RunState(enum.StrEnum):
    """Lifecycle of a pipeline run."""

    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    DEAD = "dead"
    """The process running it stopped sending heartbeats (killed, crashed, machine lost)."""

    @property
    def is_terminal(self) -> bool:
        return self is not RunState.RUNNING


class StepState(enum.StrEnum):
    """Lifecycle of one step in a run."""

    PENDING = "pending"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    SKIPPED = "skipped"
    """Not run: a step it depends on failed (or the run died first)."""
    DEAD = "dead"

    @property
    def is_terminal(self) -> bool:
        return self not in (StepState.PENDING, StepState.RUNNING)


@dataclass(frozen=True, slots=True)
class ArtifactLink:
    """An artifact a step consumed or produced: its name there, digest and how it is stored."""

    name: str
    digest: Digest
    materializer: str
    type_name: str
    size: int


@dataclass(frozen=True, slots=True)
class StepRun:
    """One step of a pipeline run."""

    run_id: str
    name: str
    step: str
    state: StepState
    attempt: int = 0
    upstream: tuple[str, ...] = ()
    params: dict[str, Any] = field(default_factory=dict)
    code_hash: str | None = None
    cache_key: str | None = None
    cache_hit: bool = False
    started_at: datetime | None = None
    ended_at: datetime | None = None
    error: str | None = None
    traceback: str | None = None
    logs_digest: Digest | None = None
    inputs: tuple[ArtifactLink, ...] = ()
    outputs: tuple[ArtifactLink, ...] = ()

    @property
    def duration_s(self) -> float | None:
        if self.started_at is None or self.ended_at is None:
            return None
        return max(0.0, (self.ended_at - self.started_at).total_seconds())

    def output(self, name: str = "output") -> ArtifactLink:
        """The output called ``name`` (``NotFoundError`` if the step has none such)."""
        for link in self.outputs:
            if link.name == name:
                return link
        have = ", ".join(o.name for o in self.outputs) or "none"
        raise NotFoundError(
            f"Step '{self.name}' of run {self.run_id} has no output '{name}' (outputs: {have}).",
            details={"field": "output"},
        )


@dataclass(frozen=True, slots=True)
class PipelineRun:
    """A run of a pipeline, with its steps (in the order of the graph)."""

    run_id: str
    pipeline: str
    target: str
    state: RunState
    params: dict[str, Any]
    executor: str
    trigger: str
    started_at: datetime
    ended_at: datetime | None = None
    heartbeat_at: datetime | None = None
    retry_of: str | None = None
    error: str | None = None
    steps: tuple[StepRun, ...] = ()

    def step(self, name: str) -> StepRun:
        """The step called ``name`` (``NotFoundError`` if the run has none such)."""
        for s in self.steps:
            if s.name == name:
                return s
        have = ", ".join(s.name for s in self.steps)
        raise NotFoundError(
            f"Run {self.run_id} of '{self.pipeline}' has no step '{name}' (steps: {have}).",
            details={"field": "step"},
        )

    @property
    def duration_s(self) -> float | None:
        if self.ended_at is None:
            return None
        return max(0.0, (self.ended_at - self.started_at).total_seconds())


@dataclass(frozen=True, slots=True)
class PipelineSummary:
    """A pipeline that has runs, and its latest one."""

    name: str
    target: str
    runs: int
    last_run_id: str
    last_state: RunState
    last_started_at: datetime


@dataclass(frozen=True, slots=True)
class LineageNode:
    """A node of a lineage graph: an artifact (``kind='artifact'``) or a step run."""

    id: str
    kind: str
    label: str
    attrs: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class LineageEdge:
    """Data flowing from ``source`` to ``target`` (artifact → step or step → artifact)."""

    source: str
    target: str
    label: str = ""


@dataclass(frozen=True, slots=True)
class LineageGraph:
    """What produced an artifact (``direction='upstream'``) or what was made from it."""

    root: Digest
    direction: str
    nodes: tuple[LineageNode, ...]
    edges: tuple[LineageEdge, ...]

    def steps(self) -> list[LineageNode]:
        return [n for n in self.nodes if n.kind == "step"]

    def artifacts(self) -> list[LineageNode]:
        return [n for n in self.nodes if n.kind == "artifact"]


@dataclass(frozen=True, slots=True)
class Schedule:
    """When a pipeline starts by itself: a cron expression, an interval, or an event type."""

    schedule_id: str
    name: str
    target: str
    params: dict[str, Any]
    cron: str | None
    interval_s: float | None
    event_type: str | None
    event_filter: dict[str, Any]
    missed: str
    executor: str | None
    enabled: bool
    created_at: datetime
    last_tick_at: datetime

    @property
    def kind(self) -> str:
        return "cron" if self.cron else "interval" if self.interval_s else "event"


@dataclass(frozen=True, slots=True)
class Event:
    """Something that happened (``dataset.version_created``, ``alert.fired`` …)."""

    event_id: int
    type: str
    payload: dict[str, Any]
    created_at: datetime


class PipelineRunNotFoundError(NotFoundError):
    """No pipeline run has this id."""

    def __init__(self, run_id: str) -> None:
        super().__init__(
            f"Pipeline run '{run_id}' does not exist.",
            hint="Run 'pomona pipelines runs' to see the runs of this workspace.",
            details={"run_id": run_id},
        )


class ScheduleNotFoundError(NotFoundError):
    """No schedule has this name."""

    def __init__(self, name: str) -> None:
        super().__init__(
            f"Schedule '{name}' does not exist.",
            hint="Run 'pomona pipelines schedules' to see them.",
            details={"schedule": name},
        )
