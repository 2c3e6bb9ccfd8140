"""``/runs/{run_id}``: one run's attributes, params, tags, metrics, charts, children, files."""

from __future__ import annotations

from urllib.parse import quote, urlencode

from starlette.responses import HTMLResponse

from pomona.dashboard._charts import MAX_POINTS, Chart, metric_chart
from pomona.dashboard._render import render
from pomona.errors import NotFoundError
from pomona.tracking.base import TrackingAPI
from pomona.types import Run

__all__ = ["artifact_url", "run_page"]

MAX_CHARTS = 24
MAX_CHILDREN = 100


def artifact_url(run_id: str, path: str) -> str:
    """The REST API's download route for a run's file."""
    return f"/api/v1/runs/{quote(run_id, safe='')}/artifacts/{quote(path, safe='/')}"


def _parent(service: TrackingAPI, run: Run) -> Run | None:
    if run.parent_run_id is None:
        return None
    try:
        return service.get_run(run.parent_run_id)
    except NotFoundError:  # purged since
        return None


def _charts(service: TrackingAPI, run: Run) -> tuple[list[Chart], int]:
    """Charts of metrics logged at two or more steps; and how many keys were left out."""
    keys = sorted(run.metrics)
    charts = []
    for key in keys[:MAX_CHARTS]:
        points = service.get_metric_history(run.run_id, key, max_points=MAX_POINTS)
        if len(points) >= 2:
            charts.append(metric_chart(key, points))
    return charts, max(0, len(keys) - MAX_CHARTS)


def run_page(service: TrackingAPI, run_id: str) -> HTMLResponse:
    """The run's page; ``RunNotFoundError`` propagates (rendered as a 404 page)."""
    run = service.get_run(run_id)
    children = service.search_runs(
        f"parent_run_id = '{run.run_id}'", order_by=["start_ms"], limit=MAX_CHILDREN
    )
    charts, charts_left_out = _charts(service, run)
    artifacts = service.list_artifacts(run.run_id)
    return render(
        "run.html",
        title=run.name,
        active="runs",
        run=run,
        parent=_parent(service, run),
        children=list(children.items),
        more_children=children.next_page_token is not None,
        children_url="/runs?" + urlencode({"filter": f"parent_run_id = '{run.run_id}'"}),
        charts=charts,
        charts_left_out=charts_left_out,
        artifacts=[(a, artifact_url(run.run_id, a.path)) for a in artifacts],
    )
