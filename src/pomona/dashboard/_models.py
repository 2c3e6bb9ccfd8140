"""``/models``: registered models, a model's versions and alias history, a version's page
(metrics, model card, lineage graph, aliases, gate reports, ONNX export)."""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cache
from typing import TYPE_CHECKING
from urllib.parse import quote

from fastapi import APIRouter, Request
from markupsafe import Markup
from starlette.responses import HTMLResponse, Response

from pomona.client.workspace import Workspace
from pomona.dashboard._graph_svg import GraphLayout, layout
from pomona.dashboard._render import error_page, render
from pomona.errors import InvalidInputError, PomonaError
from pomona.registry import ModelRegistry, ModelVersion
from pomona.types import parse_version_number

if TYPE_CHECKING:
    from markdown_it import MarkdownIt

__all__ = ["lineage_graph", "models_pages", "render_markdown"]

MAX_ROWS = 100
_DATASET_REF = re.compile(r"^([A-Za-z0-9][\w.\-]*):(\d+)$")


@cache
def _markdown() -> MarkdownIt:
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark", {"html": False}).enable("table")


def render_markdown(text: str) -> Markup:
    """Markdown to HTML; raw HTML in the text is escaped, never passed through."""
    html = _markdown().render(text)
    return Markup(html)  # safe: with html=False markdown-it escapes every tag in the text


def _q(text: str) -> str:
    return quote(text, safe="")


def lineage_graph(version: ModelVersion) -> GraphLayout:
    """Datasets → run → version, the pipeline run and the parent version, as an SVG layout."""
    name, lineage = version.name, version.lineage
    root = ("version", version.ref, version.flavor, "lineage-root", None)
    nodes: list[tuple[str, str, str, str, str | None]] = [root]
    edges: list[tuple[str, str, str]] = []
    feeds = "version"
    if lineage.run_id:
        nodes.append(
            (
                "run",
                "run " + lineage.run_id[:8],
                "training run",
                "lineage-step",
                f"/runs/{_q(lineage.run_id)}",
            )
        )
        edges.append(("run", "version", "trained"))
        feeds = "run"
    for i, ref in enumerate(lineage.dataset_versions):
        match = _DATASET_REF.match(ref)
        href = f"/datasets/{_q(match[1])}/{match[2]}" if match else None
        nodes.append((f"data{i}", ref, "dataset version", "lineage-artifact", href))
        edges.append((f"data{i}", feeds, "input"))
    if lineage.pipeline_run_id:
        nodes.append(
            (
                "pipeline",
                "pipeline " + lineage.pipeline_run_id[:8],
                "pipeline run",
                "lineage-step",
                f"/pipelines/runs/{_q(lineage.pipeline_run_id)}",
            )
        )
        edges.append(("pipeline", "version", "produced"))
    if lineage.parent_version:
        parent = f"{name}:{lineage.parent_version}"
        nodes.append(
            (
                "parent",
                parent,
                "parent version",
                "lineage-artifact",
                f"/models/{_q(name)}/versions/{lineage.parent_version}",
            )
        )
        edges.append(("parent", "version", "parent"))
    return layout(nodes, edges)


def models_page(registry: ModelRegistry, page_token: str | None) -> HTMLResponse:
    page = registry.list_models(limit=MAX_ROWS, page_token=page_token)
    return render(
        "models.html",
        title="Models",
        active="models",
        models=list(page),
        next_page_token=page.next_page_token,
    )


def model_page(registry: ModelRegistry, name: str) -> HTMLResponse:
    model = registry.get_model(name)
    versions = registry.list_versions(name, limit=MAX_ROWS)
    history = registry.list_alias_history(name, limit=MAX_ROWS)
    keys = sorted({k for v in versions for k in v.metrics})[:6]
    return render(
        "model.html",
        title=name,
        active="models",
        model=model,
        versions=list(versions),
        more_versions=versions.next_page_token is not None,
        history=list(history),
        metric_keys=keys,
    )


def version_page(registry: ModelRegistry, name: str, version: str) -> HTMLResponse:
    if parse_version_number(version) is None:
        raise InvalidInputError(f"'{version}' is not a version number (1, 2, …).")
    v = registry.get_version(f"{name}:{version}")
    history = [
        m
        for m in registry.list_alias_history(name, limit=MAX_ROWS)
        if v.version in (m.from_version, m.to_version)
    ]
    return render(
        "model_version.html",
        title=v.ref,
        active="models",
        v=v,
        card=render_markdown(v.card),
        graph=lineage_graph(v),
        history=history,
        reports=registry.list_gate_reports(name, version=v.version),
        export=registry.find_export(v.ref),
        files=[(f, _blob_url(name, f.digest)) for f in v.files],
    )


def _blob_url(name: str, digest: str) -> str:
    return f"/api/v1/models/{_q(name)}/blobs/{_q(digest)}"


def _page(build: Callable[[], Response]) -> Response:
    try:
        return build()
    except PomonaError as exc:
        return error_page(exc)


def models_pages(ws: Workspace) -> APIRouter:
    """The registry's pages over the workspace's ``models``."""
    router = APIRouter(include_in_schema=False)

    @router.get("/models")
    def models(request: Request) -> Response:
        return _page(lambda: models_page(ws.models, request.query_params.get("page_token")))

    @router.get("/models/{name}")
    def model(name: str) -> Response:
        return _page(lambda: model_page(ws.models, name))

    @router.get("/models/{name}/versions/{version}")
    def version(name: str, version: str) -> Response:
        return _page(lambda: version_page(ws.models, name, version))

    return router
