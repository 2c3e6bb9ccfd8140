"""``/api/v1/pipelines``: the pipeline store over HTTP (runs, steps, cache, lineage,
schedules, events) and the blobs step outputs live in; the scheduler in the lifespan.

A blob is readable here only while a stored record refers to it (a step's output or logs,
a cache entry, a run artifact, a dataset or model file, a prediction log …): the artifact
store also holds bytes no reader should reach by guessing or learning a digest.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Query, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from pomona.artifacts.base import ArtifactStore, check_digest
from pomona.client._pipelines import pipeline_sources
from pomona.client.workspace import Workspace
from pomona.errors import ArtifactNotFoundError, ConfigError, InvalidInputError, PomonaError
from pomona.metadata import MetadataStore
from pomona.pipelines import PipelineService, RunState, Scheduler, SqlPipelineStore
from pomona.pipelines import _json as codec
from pomona.pipelines._loader import PipelineSources
from pomona.server._downloads import verified_download
from pomona.server._responses import json_response
from pomona.server.routes.runs import _spool
from pomona.types import Digest

__all__ = ["pipelines_router"]

log = logging.getLogger("pomona.server")

MAX_TIMEOUT_S = 366 * 86_400.0
"""The longest heartbeat timeout a client may ask dead runs to be marked after: a year.
Longer ones put the cut-off before what a 64-bit millisecond column holds."""


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CreateRun(_Body):
    run: dict[str, Any]
    dag: dict[str, Any] = Field(default_factory=dict)


class EndRun(_Body):
    state: RunState
    error: str | None = None


class DeadRuns(_Body):
    timeout_s: float = Field(gt=0, le=MAX_TIMEOUT_S, description="More than 0, at most a year.")


class EmitEvent(_Body):
    type: str = Field(min_length=1, max_length=250)
    payload: dict[str, Any] = Field(default_factory=dict)


def _parse(fn: Callable[[dict[str, Any]], Any], data: dict[str, Any], what: str) -> Any:
    try:
        return fn(data)
    except (KeyError, ValueError, TypeError) as exc:
        raise InvalidInputError(f"Invalid {what}: {exc!r}.", details={"field": what}) from exc


def pipelines_router(ws: Workspace) -> APIRouter:
    service = ws.pipelines
    store = service.store
    artifacts = ws.artifact_store
    metadata = ws.metadata_store
    if not isinstance(store, SqlPipelineStore) or artifacts is None or metadata is None:
        raise ConfigError("A server serves a local workspace; it cannot proxy another server.")
    router = APIRouter(prefix="/api/v1/pipelines", tags=["pipelines"], lifespan=_lifespan(ws))

    @router.get("")
    def list_pipelines() -> Response:
        return json_response({"items": [codec.summary_to_json(s) for s in store.list_pipelines()]})

    @router.get("/runs")
    def list_runs(
        pipeline: str | None = None,
        state: RunState | None = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 50,
        page_token: str | None = None,
    ) -> Response:
        page = store.list_runs(pipeline, state=state, limit=limit, page_token=page_token)
        return json_response(
            {
                "items": [codec.run_to_json(r) for r in page.items],
                "next_page_token": page.next_page_token,
                "total": page.total,
            }
        )

    @router.post("/runs", status_code=201)
    def create_run(body: CreateRun) -> Response:
        run = _parse(codec.run_from_json, body.run, "run")
        return json_response(codec.run_to_json(store.create_run(run, body.dag)), 201)

    @router.post("/dead-runs")
    def mark_dead_runs(body: DeadRuns) -> Response:
        return json_response({"marked": store.mark_dead_runs(body.timeout_s)})

    @router.get("/runs/{run_id}")
    def get_run(run_id: str) -> Response:
        return json_response(codec.run_to_json(store.get_run(run_id)))

    @router.post("/runs/{run_id}/heartbeat", status_code=204)
    def heartbeat(run_id: str) -> Response:
        store.heartbeat_run(run_id)
        return Response(status_code=204)

    @router.post("/runs/{run_id}/end", status_code=204)
    def end_run(run_id: str, body: EndRun) -> Response:
        store.end_run(run_id, body.state, body.error)
        return Response(status_code=204)

    @router.put("/runs/{run_id}/steps/{name}", status_code=204)
    def record_step(run_id: str, name: str, body: dict[str, Any]) -> Response:
        step = _parse(codec.step_from_json, body, "step")
        if (step.run_id, step.name) != (run_id, name):
            raise InvalidInputError("The step's run_id and name must match the URL.")
        store.record_step(step)
        return Response(status_code=204)

    @router.get("/cache/{cache_key}")
    def find_cached(cache_key: str) -> Response:
        hit = store.find_cached(cache_key)
        return json_response({"step": codec.step_to_json(hit) if hit else None})

    @router.get("/lineage/{digest}")
    def lineage(digest: str, direction: str = "upstream") -> Response:
        return json_response(codec.lineage_to_json(store.lineage(digest, direction)))

    _schedule_routes(router, store, pipeline_sources(ws.settings))
    _blob_routes(router, artifacts, metadata)
    return router


def _schedule_routes(router: APIRouter, store: SqlPipelineStore, sources: PipelineSources) -> None:
    @router.get("/schedules")
    def list_schedules() -> Response:
        return json_response({"items": [codec.schedule_to_json(s) for s in store.list_schedules()]})

    @router.post("/schedules", status_code=201)
    def create_schedule(body: dict[str, Any]) -> Response:
        schedule = _parse(codec.schedule_from_json, body, "schedule")
        sources.check(schedule.target)  # the scheduler imports it: workspace files only
        sources.check_executor(schedule.executor)
        return json_response(codec.schedule_to_json(store.create_schedule(schedule)), 201)

    @router.get("/schedules/{name}")
    def get_schedule(name: str) -> Response:
        return json_response(codec.schedule_to_json(store.get_schedule(name)))

    @router.delete("/schedules/{name}", status_code=204)
    def delete_schedule(name: str) -> Response:
        store.delete_schedule(name)
        return Response(status_code=204)

    @router.post("/events", status_code=201)
    def emit_event(body: EmitEvent) -> Response:
        return json_response(codec.event_to_json(store.emit_event(body.type, body.payload)), 201)

    @router.get("/events")
    def list_events(
        type: str | None = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 50,
        page_token: str | None = None,
    ) -> Response:
        page = store.list_events(type, limit=limit, page_token=page_token)
        return json_response(
            {
                "items": [codec.event_to_json(e) for e in page.items],
                "next_page_token": page.next_page_token,
            }
        )


def _referenced(metadata: MetadataStore, digest: str) -> bool:
    """Whether any stored record refers to ``digest`` (every ``blob_ref`` column)."""
    from sqlalchemy import select

    from pomona.metadata.schema import blob_ref_columns

    with metadata.read() as conn:
        return any(
            conn.execute(select(col).where(col == digest).limit(1)).first() is not None
            for col in blob_ref_columns()
        )


def _readable(metadata: MetadataStore, digest: str) -> Digest:
    """``digest``, checked and referred to by a record; otherwise 404 (the same answer
    whether or not the bytes exist)."""
    checked = check_digest(digest)
    if not _referenced(metadata, checked):
        raise ArtifactNotFoundError(
            f"No blob {checked} that a record refers to.", details={"digest": checked}
        )
    return checked


def _blob_routes(router: APIRouter, artifacts: ArtifactStore, metadata: MetadataStore) -> None:
    @router.put("/blobs", status_code=201)
    async def put_blob(request: Request) -> Response:
        spool = await _spool(request)
        try:
            with spool.open("rb") as fh:
                digest, size = await run_in_threadpool(artifacts.put_stream, fh)
        finally:
            spool.unlink(missing_ok=True)
        return json_response({"digest": digest, "size": size}, 201)

    @router.head("/blobs/{digest}")
    def blob_info(digest: str) -> Response:
        size = artifacts.size(_readable(metadata, digest))
        return Response(headers={"Content-Length": str(size), "X-Pomona-Digest": digest})

    @router.get("/blobs/{digest}")
    def get_blob(digest: str) -> Response:
        checked = _readable(metadata, digest)
        size = artifacts.size(checked)
        return verified_download(artifacts.open(checked), size, checked)


def _lifespan(ws: Workspace) -> Callable[[FastAPI], contextlib.AbstractAsyncContextManager[None]]:
    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        settings = ws.settings.pipelines
        scheduler: Scheduler | None = None
        if settings.scheduler_in_server:
            sources = pipeline_sources(ws.settings)
            scheduler = Scheduler(ws.pipelines, poll_s=settings.scheduler_poll_s, sources=sources)
            scheduler.start()
            log.info("pipeline scheduler started (%s)", scheduler.owner)
        sweep = asyncio.create_task(_sweep(ws.pipelines, settings.heartbeat_timeout_s))
        try:
            yield
        finally:
            sweep.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sweep
            if scheduler is not None:
                await run_in_threadpool(scheduler.stop, False)

    return lifespan


async def _sweep(service: PipelineService, timeout_s: float) -> None:
    """Mark pipeline runs whose process stopped sending heartbeats as dead."""
    period = max(1.0, min(30.0, timeout_s / 3))
    while True:
        try:
            marked = await run_in_threadpool(service.mark_dead_runs, timeout_s)
            if marked:
                log.info("marked %d silent pipeline run(s) dead", marked)
        except PomonaError as exc:
            log.warning("dead pipeline-run sweep failed: %s", exc.message)
        await asyncio.sleep(period)
