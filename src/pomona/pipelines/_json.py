"""JSON shapes of pipeline records, shared by the server and the remote client."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Any

from pomona.pipelines.records import (
    ArtifactLink,
    Event,
    LineageEdge,
    LineageGraph,
    LineageNode,
    PipelineRun,
    PipelineSummary,
    RunState,
    Schedule,
    StepRun,
    StepState,
)
from pomona.types import Digest

__all__ = [
    "event_from_json",
    "event_to_json",
    "lineage_from_json",
    "lineage_to_json",
    "run_from_json",
    "run_to_json",
    "schedule_from_json",
    "schedule_to_json",
    "step_from_json",
    "step_to_json",
    "summary_from_json",
    "summary_to_json",
]


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def _dt(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _req_dt(value: str) -> datetime:
    return datetime.fromisoformat(value)


def _link_to(link: ArtifactLink) -> dict[str, Any]:
    return asdict(link)


def _link_from(data: dict[str, Any]) -> ArtifactLink:
    return ArtifactLink(
        name=data["name"],
        digest=Digest(data["digest"]),
        materializer=data["materializer"],
        type_name=data["type_name"],
        size=int(data["size"]),
    )


def step_to_json(s: StepRun) -> dict[str, Any]:
    return {
        "run_id": s.run_id,
        "name": s.name,
        "step": s.step,
        "state": s.state.value,
        "attempt": s.attempt,
        "upstream": list(s.upstream),
        "params": s.params,
        "code_hash": s.code_hash,
        "cache_key": s.cache_key,
        "cache_hit": s.cache_hit,
        "started_at": _iso(s.started_at),
        "ended_at": _iso(s.ended_at),
        "duration_s": s.duration_s,
        "error": s.error,
        "traceback": s.traceback,
        "logs_digest": s.logs_digest,
        "inputs": [_link_to(x) for x in s.inputs],
        "outputs": [_link_to(x) for x in s.outputs],
    }


def step_from_json(d: dict[str, Any]) -> StepRun:
    return StepRun(
        run_id=d["run_id"],
        name=d["name"],
        step=d["step"],
        state=StepState(d["state"]),
        attempt=int(d.get("attempt", 0)),
        upstream=tuple(d.get("upstream") or ()),
        params=dict(d.get("params") or {}),
        code_hash=d.get("code_hash"),
        cache_key=d.get("cache_key"),
        cache_hit=bool(d.get("cache_hit")),
        started_at=_dt(d.get("started_at")),
        ended_at=_dt(d.get("ended_at")),
        error=d.get("error"),
        traceback=d.get("traceback"),
        logs_digest=Digest(d["logs_digest"]) if d.get("logs_digest") else None,
        inputs=tuple(_link_from(x) for x in d.get("inputs") or ()),
        outputs=tuple(_link_from(x) for x in d.get("outputs") or ()),
    )


def run_to_json(r: PipelineRun) -> dict[str, Any]:
    return {
        "run_id": r.run_id,
        "pipeline": r.pipeline,
        "target": r.target,
        "state": r.state.value,
        "params": r.params,
        "executor": r.executor,
        "trigger": r.trigger,
        "started_at": _iso(r.started_at),
        "ended_at": _iso(r.ended_at),
        "heartbeat_at": _iso(r.heartbeat_at),
        "duration_s": r.duration_s,
        "retry_of": r.retry_of,
        "error": r.error,
        "steps": [step_to_json(s) for s in r.steps],
    }


def run_from_json(d: dict[str, Any]) -> PipelineRun:
    return PipelineRun(
        run_id=d["run_id"],
        pipeline=d["pipeline"],
        target=d["target"],
        state=RunState(d["state"]),
        params=dict(d.get("params") or {}),
        executor=d["executor"],
        trigger=d["trigger"],
        started_at=_req_dt(d["started_at"]),
        ended_at=_dt(d.get("ended_at")),
        heartbeat_at=_dt(d.get("heartbeat_at")),
        retry_of=d.get("retry_of"),
        error=d.get("error"),
        steps=tuple(step_from_json(s) for s in d.get("steps") or ()),
    )


def summary_to_json(s: PipelineSummary) -> dict[str, Any]:
    return {
        "name": s.name,
        "target": s.target,
        "runs": s.runs,
        "last_run_id": s.last_run_id,
        "last_state": s.last_state.value,
        "last_started_at": _iso(s.last_started_at),
    }


def summary_from_json(d: dict[str, Any]) -> PipelineSummary:
    return PipelineSummary(
        name=d["name"],
        target=d["target"],
        runs=int(d["runs"]),
        last_run_id=d["last_run_id"],
        last_state=RunState(d["last_state"]),
        last_started_at=_req_dt(d["last_started_at"]),
    )


def lineage_to_json(g: LineageGraph) -> dict[str, Any]:
    return {
        "root": g.root,
        "direction": g.direction,
        "nodes": [asdict(n) for n in g.nodes],
        "edges": [asdict(e) for e in g.edges],
    }


def lineage_from_json(d: dict[str, Any]) -> LineageGraph:
    return LineageGraph(
        root=Digest(d["root"]),
        direction=d["direction"],
        nodes=tuple(LineageNode(**n) for n in d["nodes"]),
        edges=tuple(LineageEdge(**e) for e in d["edges"]),
    )


def schedule_to_json(s: Schedule) -> dict[str, Any]:
    data = asdict(s)
    data["created_at"] = _iso(s.created_at)
    data["last_tick_at"] = _iso(s.last_tick_at)
    data["kind"] = s.kind
    return data


def schedule_from_json(d: dict[str, Any]) -> Schedule:
    fields = {k: v for k, v in d.items() if k != "kind"}
    fields["created_at"] = _req_dt(d["created_at"])
    fields["last_tick_at"] = _req_dt(d["last_tick_at"])
    return Schedule(**fields)


def event_to_json(e: Event) -> dict[str, Any]:
    return {
        "event_id": e.event_id,
        "type": e.type,
        "payload": e.payload,
        "created_at": _iso(e.created_at),
    }


def event_from_json(d: dict[str, Any]) -> Event:
    return Event(
        event_id=int(d["event_id"]),
        type=d["type"],
        payload=dict(d.get("payload") or {}),
        created_at=_req_dt(d["created_at"]),
    )
