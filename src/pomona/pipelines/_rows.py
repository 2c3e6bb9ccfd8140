"""Rows of the pipeline tables to records and back."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from pomona._utils.clock import from_ms, to_ms
from pomona.pipelines.records import (
    ArtifactLink,
    Event,
    PipelineRun,
    RunState,
    Schedule,
    StepRun,
    StepState,
)
from pomona.types import Digest

__all__ = [
    "dumps",
    "event_from_row",
    "link_rows",
    "loads",
    "run_from_row",
    "run_row",
    "schedule_from_row",
    "step_from_row",
    "step_row",
]


def dumps(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str, allow_nan=True)


def loads(text: str | None) -> Any:
    return json.loads(text) if text else {}


def _ms(moment: Any) -> int | None:
    return None if moment is None else to_ms(moment)


def run_row(run: PipelineRun, dag: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "run_id": run.run_id,
        "pipeline": run.pipeline,
        "target": run.target,
        "state": run.state.value,
        "params": dumps(run.params),
        "dag": dumps(dag),
        "executor": run.executor,
        "trigger": run.trigger,
        "retry_of": run.retry_of,
        "start_ms": to_ms(run.started_at),
        "end_ms": _ms(run.ended_at),
        "heartbeat_ms": _ms(run.heartbeat_at) or to_ms(run.started_at),
        "error": run.error,
    }


def run_from_row(row: Any, steps: Iterable[StepRun] = ()) -> PipelineRun:
    started = from_ms(row.start_ms)
    assert started is not None
    return PipelineRun(
        run_id=row.run_id,
        pipeline=row.pipeline,
        target=row.target,
        state=RunState(row.state),
        params=loads(row.params),
        executor=row.executor,
        trigger=row.trigger,
        started_at=started,
        ended_at=from_ms(row.end_ms),
        heartbeat_at=from_ms(row.heartbeat_ms),
        retry_of=row.retry_of,
        error=row.error,
        steps=tuple(steps),
    )


def step_row(step: StepRun, run_pk: int) -> dict[str, Any]:
    return {
        "run_pk": run_pk,
        "name": step.name,
        "step": step.step,
        "state": step.state.value,
        "attempt": step.attempt,
        "upstream": dumps(list(step.upstream)),
        "params": dumps(step.params),
        "code_hash": step.code_hash,
        "cache_key": step.cache_key,
        "cache_hit": step.cache_hit,
        "start_ms": _ms(step.started_at),
        "end_ms": _ms(step.ended_at),
        "error": step.error,
        "traceback": step.traceback,
        "logs_digest": step.logs_digest,
    }


def link_rows(step: StepRun, step_pk: int) -> list[dict[str, Any]]:
    rows = []
    for direction, links in (("input", step.inputs), ("output", step.outputs)):
        for link in links:
            rows.append(
                {
                    "step_pk": step_pk,
                    "direction": direction,
                    "name": link.name,
                    "digest": link.digest,
                    "materializer": link.materializer,
                    "type_name": link.type_name,
                    "size": link.size,
                }
            )
    return rows


def _link(row: Any) -> ArtifactLink:
    return ArtifactLink(
        name=row.name,
        digest=Digest(row.digest),
        materializer=row.materializer,
        type_name=row.type_name,
        size=int(row.size),
    )


def step_from_row(row: Any, run_id: str, links: Iterable[Any] = ()) -> StepRun:
    inputs = tuple(_link(r) for r in links if r.direction == "input")
    outputs = tuple(_link(r) for r in links if r.direction == "output")
    return StepRun(
        run_id=run_id,
        name=row.name,
        step=row.step,
        state=StepState(row.state),
        attempt=row.attempt,
        upstream=tuple(json.loads(row.upstream or "[]")),
        params=loads(row.params),
        code_hash=row.code_hash,
        cache_key=row.cache_key,
        cache_hit=bool(row.cache_hit),
        started_at=from_ms(row.start_ms),
        ended_at=from_ms(row.end_ms),
        error=row.error,
        traceback=row.traceback,
        logs_digest=Digest(row.logs_digest) if row.logs_digest else None,
        inputs=inputs,
        outputs=outputs,
    )


def schedule_from_row(row: Any) -> Schedule:
    created = from_ms(row.created_ms)
    last = from_ms(row.last_tick_ms)
    assert created is not None and last is not None
    return Schedule(
        schedule_id=row.schedule_id,
        name=row.name,
        target=row.target,
        params=loads(row.params),
        cron=row.cron,
        interval_s=row.interval_s,
        event_type=row.event_type,
        event_filter=loads(row.event_filter),
        missed=row.missed,
        executor=row.executor,
        enabled=bool(row.enabled),
        created_at=created,
        last_tick_at=last,
    )


def event_from_row(row: Any) -> Event:
    created = from_ms(row.created_ms)
    assert created is not None
    return Event(
        event_id=int(row.pk), type=row.type, payload=loads(row.payload), created_at=created
    )
