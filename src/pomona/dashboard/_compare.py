"""``/compare?run_id=a&run_id=b``: runs side by side, differences marked, metrics overlaid."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from starlette.responses import HTMLResponse

from pomona.dashboard._charts import MAX_POINTS, PALETTE, Chart, Series, overlay_chart
from pomona.dashboard._render import render
from pomona.errors import InvalidInputError, RunNotFoundError
from pomona.tracking.base import TrackingAPI
from pomona.types import Run

__all__ = ["MAX_COMPARE", "compare_page"]

MAX_COMPARE = 10
MAX_CHARTS = 24
_RUN_ID = re.compile(r"[0-9a-f]{32}")


@dataclass(frozen=True)
class Row:
    """One key across the compared runs; ``differs`` when the runs disagree."""

    key: str
    values: list[str | float | None]
    differs: bool


def _same(value: str | float | None) -> object:
    return "NaN" if isinstance(value, float) and math.isnan(value) else value


def rows(maps: Sequence[Mapping[str, str]] | Sequence[Mapping[str, float]]) -> list[Row]:
    """A row per key any run has, in key order."""
    keys = sorted({key for m in maps for key in m})
    out = []
    for key in keys:
        values: list[str | float | None] = [m.get(key) for m in maps]
        out.append(Row(key, values, len({_same(v) for v in values}) > 1))
    return out


def _load(service: TrackingAPI, run_ids: Sequence[str]) -> list[Run]:
    """The runs in the order asked, in one query."""
    ids = list(dict.fromkeys(run_ids))
    if not ids:
        raise InvalidInputError(
            "No runs to compare.",
            hint="Tick two or more runs on the runs page and press Compare.",
            details={"field": "run_id"},
        )
    if len(ids) > MAX_COMPARE:
        raise InvalidInputError(
            f"Compare at most {MAX_COMPARE} runs at a time ({len(ids)} were picked).",
            hint="Untick some runs and press Compare again.",
            details={"field": "run_id"},
        )
    for run_id in ids:
        if not _RUN_ID.fullmatch(run_id):
            raise RunNotFoundError(run_id)
    listed = ", ".join(f"'{run_id}'" for run_id in ids)
    found = service.search_runs(f"run_id in ({listed})", limit=MAX_COMPARE, include_deleted=True)
    by_id: dict[str, Run] = {run.run_id: run for run in found}
    for run_id in ids:
        if run_id not in by_id:
            raise RunNotFoundError(run_id)
    return [by_id[run_id] for run_id in ids]


def _labels(runs: Sequence[Run]) -> list[str]:
    """Run names, with an id prefix where two runs share a name."""
    names = [run.name for run in runs]
    return [
        f"{run.name} ({run.run_id[:7]})" if names.count(run.name) > 1 else run.name for run in runs
    ]


def _charts(service: TrackingAPI, runs: Sequence[Run], labels: Sequence[str]) -> list[Chart]:
    shared = sorted(set.intersection(*(set(run.metrics) for run in runs)))
    charts = []
    for key in shared[:MAX_CHARTS]:
        series = [
            Series(
                label,
                service.get_metric_history(run.run_id, key, max_points=MAX_POINTS),
                PALETTE[i % len(PALETTE)],
            )
            for i, (run, label) in enumerate(zip(runs, labels, strict=True))
        ]
        if any(len(s.points) >= 2 for s in series):
            charts.append(overlay_chart(key, series))
    return charts


def compare_page(service: TrackingAPI, run_ids: Sequence[str]) -> HTMLResponse:
    """Runs side by side; unknown ids raise ``RunNotFoundError`` (a 404 page)."""
    runs = _load(service, run_ids)
    labels = _labels(runs)
    return render(
        "compare.html",
        title="Compare runs",
        active="runs",
        runs=runs,
        swatches=[f"swatch-{i % len(PALETTE)}" for i in range(len(runs))],
        param_rows=rows([run.params for run in runs]),
        metric_rows=rows([run.metrics for run in runs]),
        tag_rows=rows([run.tags for run in runs]),
        charts=_charts(service, runs, labels),
    )
