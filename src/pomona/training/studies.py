"""Reading studies and evaluation reports back from their runs (for the server and pages)."""

from __future__ import annotations

import math
from typing import Any

from pomona.errors import InvalidInputError, NotFoundError
from pomona.tracking.base import TrackingAPI
from pomona.training._records import EVALUATION_PATH, KIND_TAG, read_json
from pomona.training.journal import check_study_name
from pomona.training.tuning import SUMMARY_PATH
from pomona.types import Run

__all__ = ["find_studies", "get_study_run", "read_evaluation_report", "read_study"]


def _finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


def find_studies(api: TrackingAPI, *, limit: int = 100) -> list[dict[str, Any]]:
    """The newest study runs: name, run, status, metric, best value, trial counts."""
    page = api.search_runs(f"tags.`{KIND_TAG}` = 'study'", order_by=["start_ms desc"], limit=limit)
    return [
        {
            "study": run.tags.get("study", run.name),
            "run_id": run.run_id,
            "status": run.status.value,
            "start_at": run.start_at.isoformat(),
            "model": run.tags.get("model.name"),
            "metric": run.params.get("metric"),
            "best_value": _finite(run.metrics.get("best_value")),
            "n_trials": int(sum(v for k, v in run.metrics.items() if k.startswith("trials."))),
        }
        for run in page
    ]


def get_study_run(api: TrackingAPI, study: str) -> Run:
    """The (latest) run of the study named ``study``.

    Raises:
        NotFoundError: no run holds this study.
    """
    check_study_name(study)
    if "'" in study:
        raise InvalidInputError(f"'{study}' is not a study name.", details={"field": "study"})
    page = api.search_runs(
        f"tags.`{KIND_TAG}` = 'study' and tags.study = '{study}'",
        order_by=["start_ms desc"],
        limit=1,
    )
    if not page.items:
        raise NotFoundError(
            f"No study is named '{study}'.",
            hint="See the studies with 'GET /api/v1/studies' or on the dashboard's Studies page.",
            details={"study": study},
        )
    return page.items[0]


def read_study(api: TrackingAPI, study: str) -> dict[str, Any]:
    """The study's summary: best params and value, history, importances, trial counts.

    Raises:
        NotFoundError: no such study, or it has not finished yet.
    """
    run = get_study_run(api, study)
    try:
        summary: dict[str, Any] = read_json(api, run.run_id, SUMMARY_PATH)
    except NotFoundError as exc:
        raise NotFoundError(
            f"Study '{study}' has no summary yet (its run is {run.status.value}).",
            hint="The summary is written when the study ends.",
            details={"study": study, "run_id": run.run_id},
        ) from exc
    summary["status"] = run.status.value
    return summary


def read_evaluation_report(api: TrackingAPI, run_id: str) -> dict[str, Any]:
    """The evaluation report stored on a run, as JSON.

    Raises:
        RunNotFoundError, NotFoundError: no such run, or it holds no report.
    """
    api.get_run(run_id)  # RunNotFoundError for an unknown run
    try:
        report: dict[str, Any] = read_json(api, run_id, EVALUATION_PATH)
    except NotFoundError as exc:
        raise NotFoundError(
            f"Run '{run_id}' has no evaluation report.",
            hint="Reports are stored by ws.train, ws.evaluate and ws.tune (on the best model).",
            details={"run_id": run_id},
        ) from exc
    return report
