"""``/studies``, ``/evaluations`` and ``/gate-reports``: hyperparameter studies (best params,
optimisation history, parameter importances), evaluation reports (metrics, confusion matrix,
calibration, slices, worst examples with thumbnails) and promotion gate reports."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter
from starlette.responses import HTMLResponse, Response

from pomona.client.workspace import Workspace
from pomona.dashboard._detail import artifact_url
from pomona.dashboard._render import error_page, render
from pomona.dashboard._training_charts import (
    calibration_chart,
    confusion_chart,
    history_chart,
    importance_chart,
)
from pomona.errors import PomonaError
from pomona.tracking.base import TrackingAPI
from pomona.training._records import EVALUATION_PATH
from pomona.training.studies import find_studies, read_evaluation_report, read_study

__all__ = ["training_pages"]

MAX_LIST = 200


def studies_page(api: TrackingAPI) -> HTMLResponse:
    return render(
        "studies.html", title="Studies", active="studies", studies=find_studies(api, limit=MAX_LIST)
    )


def study_page(api: TrackingAPI, study: str) -> HTMLResponse:
    summary = read_study(api, study)
    charts = [history_chart(summary["history"], summary["metric"])]
    if summary.get("importances"):
        charts.append(importance_chart(summary["importances"]))
    return render("study.html", title=f"Study {study}", active="studies", s=summary, charts=charts)


def evaluations_page(api: TrackingAPI) -> HTMLResponse:
    page = api.search_runs(
        f"tags.`pomona.evaluation` = '{EVALUATION_PATH}'",
        order_by=["start_ms desc"],
        limit=MAX_LIST,
    )
    return render("evaluations.html", title="Evaluations", active="evaluations", runs=list(page))


def evaluation_page(api: TrackingAPI, run_id: str) -> HTMLResponse:
    run = api.get_run(run_id)
    report: dict[str, Any] = read_evaluation_report(api, run_id)
    charts = []
    if report.get("confusion"):
        charts.append(confusion_chart(report["confusion"]))
    if report.get("calibration"):
        charts.append(calibration_chart(report["calibration"]))
    worst = [
        {**w, "url": artifact_url(run_id, w["thumbnail"]) if w.get("thumbnail") else None}
        for w in report.get("worst", [])
    ]
    return render(
        "evaluation.html",
        title=f"Evaluation {run.name}",
        active="evaluations",
        run=run,
        r=report,
        charts=charts,
        worst=worst,
    )


def gate_reports_page(ws: Workspace, name: str) -> HTMLResponse:
    reports = ws.models.list_gate_reports(name)
    return render(
        "gate_reports.html",
        title=f"Gate reports of {name}",
        active="studies",
        name=name,
        reports=reports,
    )


def gate_report_page(ws: Workspace, name: str, digest: str) -> HTMLResponse:
    report = ws.models.get_gate_report(name, digest)
    return render(
        "gate_report.html",
        title=f"Gate report {name}:{report.get('version')}",
        active="studies",
        name=name,
        digest=digest,
        r=report,
    )


def _page(build: Callable[[], Response]) -> Response:
    try:
        return build()
    except PomonaError as exc:
        return error_page(exc)


def training_pages(ws: Workspace) -> APIRouter:
    """The pages' routes over the workspace's runs and registry."""
    api = ws.runs
    router = APIRouter(include_in_schema=False)

    @router.get("/studies")
    def studies() -> Response:
        return _page(lambda: studies_page(api))

    @router.get("/studies/{study}")
    def study(study: str) -> Response:
        return _page(lambda: study_page(api, study))

    @router.get("/evaluations")
    def evaluations() -> Response:
        return _page(lambda: evaluations_page(api))

    @router.get("/evaluations/{run_id}")
    def evaluation(run_id: str) -> Response:
        return _page(lambda: evaluation_page(api, run_id))

    @router.get("/gate-reports/{name}")
    def gate_reports(name: str) -> Response:
        return _page(lambda: gate_reports_page(ws, name))

    @router.get("/gate-reports/{name}/{digest}")
    def gate_report(name: str, digest: str) -> Response:
        return _page(lambda: gate_report_page(ws, name, digest))

    return router
