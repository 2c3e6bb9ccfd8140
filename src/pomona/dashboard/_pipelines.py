"""``/pipelines``: pipeline runs; a run's graph with each step's state, duration, cache
hit, logs and artifacts; the lineage graph of an artifact, up or down."""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from starlette.responses import HTMLResponse, Response

from pomona.client.workspace import Workspace
from pomona.dashboard._format import fmt_seconds
from pomona.dashboard._graph_svg import layout
from pomona.dashboard._render import error_page, render
from pomona.errors import PomonaError
from pomona.pipelines import LineageGraph, PipelineRun, PipelineService, RunState

__all__ = ["pipelines_pages"]

PAGE = 50


def _seconds(value: float | None) -> str:
    return "—" if value is None else fmt_seconds(value)


def runs_page(service: PipelineService, params: Mapping[str, str]) -> HTMLResponse:
    pipeline = params.get("pipeline") or None
    state = params.get("state") or None
    token = params.get("page_token") or None
    page = service.list_runs(
        pipeline, state=RunState(state) if state else None, limit=PAGE, page_token=token
    )
    query = {k: v for k, v in (("pipeline", pipeline), ("state", state)) if v}
    next_url = (
        "/pipelines?" + urlencode({**query, "page_token": page.next_page_token})
        if page.next_page_token
        else None
    )
    return render(
        "pipelines.html",
        title="Pipelines",
        active="pipelines",
        pipelines=service.list_pipelines(),
        runs=list(page.items),
        total=page.total,
        pipeline=pipeline or "",
        state=state or "",
        states=[s.value for s in RunState],
        next_url=next_url,
        seconds=_seconds,
    )


def _run_graph(run: PipelineRun) -> object:
    nodes = []
    for s in run.steps:
        state = "cached" if s.cache_hit else s.state.value
        sub = f"{state} · {_seconds(s.duration_s)}" if s.duration_s is not None else state
        nodes.append((s.name, s.name, sub, f"state-{state}", f"#step-{s.name}"))
    edges = [(up, s.name, "") for s in run.steps for up in s.upstream]
    return layout(nodes, edges)


def run_page(service: PipelineService, run_id: str) -> HTMLResponse:
    run = service.get_run(run_id)
    logs = {s.name: service.read_logs(run.run_id, s.name) for s in run.steps}
    return render(
        "pipeline_run.html",
        title=f"{run.pipeline} · {run.run_id[:8]}",
        active="pipelines",
        run=run,
        graph=_run_graph(run),
        logs=logs,
        seconds=_seconds,
    )


def _lineage_graph(graph: LineageGraph) -> object:
    nodes = []
    for n in graph.nodes:
        if n.kind == "artifact":
            sub = f"{n.attrs['materializer']} · {n.attrs['size']} B"
            href = f"/pipelines/lineage/{n.attrs['digest']}?direction={graph.direction}"
            css = "lineage-root" if n.attrs["digest"] == graph.root else "lineage-artifact"
            nodes.append((n.id, n.label, sub, css, href))
        else:
            a = n.attrs
            sub = f"run {a['run_id'][:8]} · {str(a['code_hash'])[7:15]}"
            nodes.append((n.id, n.label, sub, "lineage-step", f"/pipelines/runs/{a['run_id']}"))
    edges = [(e.source, e.target, e.label) for e in graph.edges]
    return layout(nodes, edges)


def lineage_page(service: PipelineService, digest: str, direction: str) -> HTMLResponse:
    graph = service.upstream(digest) if direction == "upstream" else service.downstream(digest)
    return render(
        "pipeline_lineage.html",
        title="Lineage",
        active="pipelines",
        lineage=graph,
        graph=_lineage_graph(graph),
    )


def pipelines_pages(ws: Workspace) -> APIRouter:
    """The pages over ``ws.pipelines``; errors render as pages."""
    router = APIRouter(include_in_schema=False)

    @router.get("/pipelines")
    def runs(request: Request) -> Response:
        try:
            return runs_page(ws.pipelines, request.query_params)
        except (PomonaError, ValueError) as exc:
            return error_page(exc if isinstance(exc, PomonaError) else _bad(exc))

    @router.get("/pipelines/runs/{run_id}")
    def run(run_id: str) -> Response:
        try:
            return run_page(ws.pipelines, run_id)
        except PomonaError as exc:
            return error_page(exc)

    @router.get("/pipelines/lineage/{digest}")
    def lineage(digest: str, direction: str = "upstream") -> Response:
        try:
            return lineage_page(ws.pipelines, digest, direction)
        except PomonaError as exc:
            return error_page(exc)

    return router


def _bad(exc: ValueError) -> PomonaError:
    from pomona.errors import InvalidInputError

    return InvalidInputError(f"Invalid filter: {exc}.")
