"""JSON shapes of the tracking objects, shared by the server and the remote client."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

from pomona.types import ArtifactInfo, Digest, Metric, MetricPoint, Page, Run, RunId, RunStatus

__all__ = [
    "artifact_from_json",
    "artifact_to_json",
    "metric_from_json",
    "metric_to_json",
    "page_to_json",
    "point_from_json",
    "point_to_json",
    "run_from_json",
    "run_to_json",
]


def _num(value: float) -> float | None:
    return None if isinstance(value, float) and math.isnan(value) else value


def _dt(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def run_to_json(run: Run) -> dict[str, Any]:
    return {
        "run_id": run.run_id,
        "name": run.name,
        "experiment": run.experiment,
        "status": run.status.value,
        "start_at": run.start_at.isoformat(),
        "end_at": run.end_at.isoformat() if run.end_at else None,
        "heartbeat_at": run.heartbeat_at.isoformat() if run.heartbeat_at else None,
        "parent_run_id": run.parent_run_id,
        "source": run.source,
        "git_commit": run.git_commit,
        "git_dirty": run.git_dirty,
        "params": run.params,
        "metrics": {k: _num(v) for k, v in run.metrics.items()},
        "tags": run.tags,
        "deleted": run.deleted,
    }


def run_from_json(data: dict[str, Any]) -> Run:
    return Run(
        run_id=RunId(data["run_id"]),
        name=data["name"],
        experiment=data["experiment"],
        status=RunStatus(data["status"]),
        start_at=datetime.fromisoformat(data["start_at"]),
        end_at=_dt(data.get("end_at")),
        heartbeat_at=_dt(data.get("heartbeat_at")),
        parent_run_id=RunId(data["parent_run_id"]) if data.get("parent_run_id") else None,
        source=data.get("source"),
        git_commit=data.get("git_commit"),
        git_dirty=data.get("git_dirty"),
        params=dict(data.get("params") or {}),
        metrics={k: math.nan if v is None else float(v) for k, v in data["metrics"].items()},
        tags=dict(data.get("tags") or {}),
        deleted=bool(data.get("deleted")),
    )


def page_to_json(page: Page[Run]) -> dict[str, Any]:
    return {
        "items": [run_to_json(r) for r in page.items],
        "next_page_token": page.next_page_token,
        "total": page.total,
    }


def metric_to_json(m: Metric) -> dict[str, Any]:
    return {"key": m.key, "value": _num(m.value), "step": m.step, "timestamp_ms": m.timestamp_ms}


def metric_from_json(data: dict[str, Any]) -> Metric:
    value = data.get("value")
    return Metric(
        key=data["key"],
        value=math.nan if value is None else value,
        step=data.get("step", 0),
        timestamp_ms=data.get("timestamp_ms", 0),
    )


def point_to_json(p: MetricPoint) -> dict[str, Any]:
    return {
        "step": p.step,
        "value": _num(p.value),
        "timestamp_ms": p.timestamp_ms,
        "min": p.min,
        "max": p.max,
    }


def point_from_json(data: dict[str, Any]) -> MetricPoint:
    value = data.get("value")
    return MetricPoint(
        step=data["step"],
        value=math.nan if value is None else value,
        timestamp_ms=data["timestamp_ms"],
        min=data.get("min"),
        max=data.get("max"),
    )


def artifact_to_json(a: ArtifactInfo) -> dict[str, Any]:
    return {"path": a.path, "digest": a.digest, "size": a.size}


def artifact_from_json(data: dict[str, Any]) -> ArtifactInfo:
    return ArtifactInfo(path=data["path"], digest=Digest(data["digest"]), size=int(data["size"]))
