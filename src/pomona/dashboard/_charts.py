"""Plotly figures (plain JSON) for metric histories, drawn in the browser by plotly.js."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pomona.types import MetricPoint

__all__ = ["MAX_POINTS", "PALETTE", "Chart", "Series", "metric_chart", "overlay_chart"]

MAX_POINTS = 1000
"""Points fetched per metric; longer histories are bucketed server-side (mean, min, max)."""

PALETTE = (
    "#2563eb",
    "#dc2626",
    "#16a34a",
    "#d97706",
    "#7c3aed",
    "#0891b2",
    "#db2777",
    "#4b5563",
    "#65a30d",
    "#9333ea",
)


@dataclass(frozen=True)
class Series:
    """One line of a chart: a run's history of one metric."""

    label: str
    points: Sequence[MetricPoint]
    color: str


@dataclass(frozen=True)
class Chart:
    """A figure ready for ``Plotly.newPlot(div, figure.data, figure.layout)``."""

    key: str
    figure: dict[str, Any]
    bucketed: bool


def _finite(value: float | None) -> float | None:
    """JSON has no NaN or infinity: they become gaps."""
    return value if value is not None and math.isfinite(value) else None


def _rgba(color: str, alpha: float) -> str:
    r, g, b = (int(color[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r},{g},{b},{alpha})"


def _line(series: Series, *, legend: bool) -> dict[str, Any]:
    return {
        "type": "scatter",
        "mode": "lines+markers" if len(series.points) <= 50 else "lines",
        "name": series.label,
        "x": [p.step for p in series.points],
        "y": [_finite(p.value) for p in series.points],
        "line": {"color": series.color, "width": 2},
        "marker": {"size": 5},
        "showlegend": legend,
    }


def _band(series: Series) -> list[dict[str, Any]]:
    """Two traces filling the area between each bucket's min and max."""
    steps = [p.step for p in series.points]
    common = {"type": "scatter", "mode": "lines", "x": steps, "hoverinfo": "skip"}
    lower = {
        **common,
        "name": "min",
        "y": [_finite(p.min) for p in series.points],
        "line": {"width": 0, "color": series.color},
        "showlegend": False,
    }
    upper = {
        **common,
        "name": "min/max",
        "y": [_finite(p.max) for p in series.points],
        "line": {"width": 0, "color": series.color},
        "fill": "tonexty",
        "fillcolor": _rgba(series.color, 0.18),
        "showlegend": False,
    }
    return [lower, upper]


def _layout(*, legend: bool) -> dict[str, Any]:
    top = 36 if legend else 12
    axis = {"gridcolor": "#e5e7eb", "zerolinecolor": "#d1d5db", "automargin": True}
    return {
        "height": 280,
        "margin": {"l": 56, "r": 16, "t": top, "b": 44},
        "paper_bgcolor": "rgba(0,0,0,0)",
        "plot_bgcolor": "#ffffff",
        "font": {"family": "system-ui, sans-serif", "size": 12, "color": "#374151"},
        "xaxis": {**axis, "title": {"text": "step"}},
        "yaxis": axis,
        "hovermode": "x unified",
        "showlegend": legend,
        "legend": {"orientation": "h", "x": 0, "y": 1.02, "yanchor": "bottom"},
    }


def _is_bucketed(points: Sequence[MetricPoint]) -> bool:
    return any(p.min is not None for p in points)


def metric_chart(key: str, points: Sequence[MetricPoint], color: str = PALETTE[0]) -> Chart:
    """One metric of one run, with a min/max band where points were bucketed."""
    series = Series(key, points, color)
    bucketed = _is_bucketed(points)
    data = [*(_band(series) if bucketed else []), _line(series, legend=False)]
    return Chart(key, {"data": data, "layout": _layout(legend=False)}, bucketed)


def overlay_chart(key: str, series: Sequence[Series]) -> Chart:
    """One metric of several runs, one line per run."""
    data = [_line(s, legend=True) for s in series]
    bucketed = any(_is_bucketed(s.points) for s in series)
    return Chart(key, {"data": data, "layout": _layout(legend=True)}, bucketed)
