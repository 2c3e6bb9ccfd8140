"""``/api/v1/runs``: the tracking API."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from pomona._utils.clock import MAX_MS
from pomona.client import _codec
from pomona.server._downloads import verified_download
from pomona.server._responses import json_response
from pomona.tracking.service import TrackingService
from pomona.types import Metric, RunStatus

__all__ = ["experiments_router", "runs_router"]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CreateRun(_Body):
    run_id: str | None = Field(None, description="Client-chosen id, for safe retries.")
    name: str | None = None
    experiment: str = "default"
    parent_run_id: str | None = None
    tags: dict[str, str] = Field(default_factory=dict)
    params: dict[str, str] = Field(default_factory=dict)
    source: str | None = None
    git_commit: str | None = None
    git_dirty: bool | None = None


class MetricIn(_Body):
    key: str
    value: Any = Field(description="A number; null stands for NaN. Checked by the service.")
    step: int = 0
    timestamp_ms: int = Field(0, ge=0, le=MAX_MS, description="Epoch ms; 0 means now.")


class Batch(_Body):
    metrics: list[MetricIn] = Field(default_factory=list, max_length=100_000)
    params: dict[str, str] = Field(default_factory=dict)
    tags: dict[str, str] = Field(default_factory=dict)


class EndRun(_Body):
    status: RunStatus = RunStatus.FINISHED


class Heartbeat(_Body):
    run_ids: list[str] = Field(max_length=10_000)


def runs_router(service: TrackingService) -> APIRouter:
    router = APIRouter(prefix="/api/v1/runs", tags=["runs"])

    @router.post("", status_code=201)
    def create_run(body: CreateRun) -> Response:
        run = service.create_run(**body.model_dump())
        return json_response(_codec.run_to_json(run), 201)

    @router.get("")
    def search_runs(
        filter: str | None = None,
        experiment: str | None = None,
        order_by: Annotated[list[str] | None, Query()] = None,
        limit: Annotated[int, Query(ge=1, le=10_000)] = 100,
        page_token: str | None = None,
        include_deleted: bool = False,
    ) -> Response:
        page = service.search_runs(
            filter,
            experiment=experiment,
            order_by=order_by or (),
            limit=limit,
            page_token=page_token,
            include_deleted=include_deleted,
        )
        return json_response(_codec.page_to_json(page))

    @router.post("/heartbeat", status_code=204)
    def heartbeat(body: Heartbeat) -> Response:
        service.heartbeat(body.run_ids)
        return Response(status_code=204)

    @router.get("/{run_id}")
    def get_run(run_id: str) -> Response:
        return json_response(_codec.run_to_json(service.get_run(run_id)))

    @router.delete("/{run_id}", status_code=204)
    def delete_run(run_id: str) -> Response:
        service.delete_run(run_id)
        return Response(status_code=204)

    @router.post("/{run_id}/restore", status_code=204)
    def restore_run(run_id: str) -> Response:
        service.restore_run(run_id)
        return Response(status_code=204)

    @router.post("/{run_id}/batch", status_code=204)
    def log_batch(
        run_id: str,
        body: Batch,
        idempotency_key: Annotated[str | None, Header(max_length=64)] = None,
    ) -> Response:
        metrics = [
            Metric(m.key, float("nan") if m.value is None else m.value, m.step, m.timestamp_ms)
            for m in body.metrics
        ]
        service.log_batch(
            run_id,
            metrics=metrics,
            params=body.params,
            tags=body.tags,
            idempotency_key=idempotency_key,
        )
        return Response(status_code=204)

    @router.post("/{run_id}/end", status_code=204)
    def end_run(run_id: str, body: EndRun) -> Response:
        service.end_run(run_id, body.status)
        return Response(status_code=204)

    @router.get("/{run_id}/metrics/{key:path}")
    def metric_history(
        run_id: str, key: str, max_points: Annotated[int | None, Query(ge=2, le=100_000)] = None
    ) -> Response:
        points = service.get_metric_history(run_id, key, max_points=max_points)
        return json_response({"key": key, "points": [_codec.point_to_json(p) for p in points]})

    @router.get("/{run_id}/artifacts")
    def list_artifacts(run_id: str) -> Response:
        items = service.list_artifacts(run_id)
        return json_response({"items": [_codec.artifact_to_json(a) for a in items]})

    @router.put("/{run_id}/artifacts/{path:path}", status_code=201)
    async def upload_artifact(run_id: str, path: str, request: Request) -> Response:
        spool = await _spool(request)
        try:
            with spool.open("rb") as fh:
                info = await run_in_threadpool(service.log_artifact, run_id, path, fh)
        finally:
            spool.unlink(missing_ok=True)
        return json_response(_codec.artifact_to_json(info), 201)

    @router.get("/{run_id}/artifacts/{path:path}")
    def download_artifact(run_id: str, path: str) -> Response:
        """The file's bytes, verified against its digest (``X-Pomona-Digest``) before they
        are sent, or cut short if a large file fails it (``pomona.server._downloads``)."""
        info = service.artifact_info(run_id, path)
        reader = service.open_artifact(run_id, path)
        name = Path(path).name.replace('"', "")
        return verified_download(reader, info.size, info.digest, filename=name)

    return router


def experiments_router(service: TrackingService) -> APIRouter:
    router = APIRouter(prefix="/api/v1/experiments", tags=["runs"])

    @router.get("")
    def list_experiments() -> Response:
        return json_response({"items": service.list_experiments()})

    return router


async def _spool(request: Request) -> Path:
    """Stream the request body to a temporary file (bounded memory; the size is bounded by
    ``server.max_upload_mb``, see ``pomona.server._limits``)."""
    fd, name = tempfile.mkstemp(prefix="pomona-upload-")
    path = Path(name)
    try:
        with open(fd, "wb") as out:
            async for chunk in request.stream():
                out.write(chunk)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path
