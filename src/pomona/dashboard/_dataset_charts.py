"""Plotly figures (plain JSON) of a dataset version: labels, image properties, the profile."""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from typing import Any

from pomona.dashboard._charts import PALETTE, Chart

__all__ = ["MAX_PROFILE_CHARTS", "label_chart", "profile_charts"]

MAX_PROFILE_CHARTS = 24


def _layout(x_title: str, *, bars: bool = True) -> dict[str, Any]:
    axis = {"gridcolor": "#e5e7eb", "zerolinecolor": "#d1d5db", "automargin": True}
    return {
        "height": 260,
        "margin": {"l": 56, "r": 16, "t": 12, "b": 44},
        "paper_bgcolor": "rgba(0,0,0,0)",
        "plot_bgcolor": "#ffffff",
        "font": {"family": "system-ui, sans-serif", "size": 12, "color": "#374151"},
        "xaxis": {**axis, "title": {"text": x_title}, **({"type": "category"} if bars else {})},
        "yaxis": {**axis, "title": {"text": "records"}},
        "bargap": 0.08,
        "showlegend": False,
    }


def _bars(key: str, labels: Sequence[str], counts: Sequence[float], color: str) -> Chart:
    trace = {"type": "bar", "x": list(labels), "y": list(counts), "marker": {"color": color}}
    return Chart(key, {"data": [trace], "layout": _layout(key)}, False)


def _histogram(key: str, edges: Sequence[float], counts: Sequence[float], color: str) -> Chart:
    centers = [(a + b) / 2 for a, b in itertools.pairwise(edges)]
    widths = [b - a for a, b in itertools.pairwise(edges)]
    trace = {
        "type": "bar",
        "x": centers,
        "y": list(counts),
        "width": widths,
        "marker": {"color": color},
    }
    return Chart(key, {"data": [trace], "layout": _layout(key, bars=False)}, False)


def label_chart(counts: Mapping[str, int]) -> Chart | None:
    """Records per label."""
    if not counts:
        return None
    return _bars("label", list(counts), list(counts.values()), PALETTE[0])


def _as_histogram(node: Mapping[str, Any]) -> tuple[list[float], list[float]] | None:
    counts = node.get("counts")
    edges = node.get("edges", node.get("bins"))
    if not isinstance(counts, list) or not isinstance(edges, list):
        return None
    if len(edges) != len(counts) + 1 or not all(isinstance(x, (int, float)) for x in edges):
        return None
    if not all(isinstance(x, (int, float)) and math.isfinite(x) for x in counts):
        return None
    return [float(x) for x in edges], [float(x) for x in counts]


def _as_counts(node: Any) -> dict[str, float] | None:
    if not isinstance(node, Mapping) or not node or len(node) > 100:
        return None
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in node.values()):
        return {str(k): float(v) for k, v in node.items()}
    return None


def _title(path: str) -> str:
    """``columns.blur.histogram`` -> ``blur``; ``columns.y.counts`` -> ``y``."""
    parts = path.split(".")
    if parts and parts[0] == "columns":
        parts = parts[1:]
    if len(parts) > 1 and parts[-1] in ("histogram", "counts"):
        parts = parts[:-1]
    return ".".join(parts) or path


def profile_charts(profile: Mapping[str, Any]) -> list[Chart]:
    """Every histogram (``counts`` + ``edges``) and count table in the profile, by path.

    ``class_counts`` is left out: the label chart shows it.
    """
    charts: list[Chart] = []

    def walk(node: Any, path: str) -> None:
        if len(charts) >= MAX_PROFILE_CHARTS or not isinstance(node, Mapping):
            return
        hist = _as_histogram(node)
        color = PALETTE[len(charts) % len(PALETTE)]
        if hist is not None:
            charts.append(_histogram(_title(path), hist[0], hist[1], color))
            return
        for key, child in node.items():
            where = f"{path}.{key}" if path else str(key)
            if where == "class_counts" or key == "sketch":
                continue
            counts = _as_counts(child) if key.endswith(("counts", "histogram")) else None
            if counts is not None:
                charts.append(_bars(_title(where), list(counts), list(counts.values()), color))
            else:
                walk(child, where)

    walk(profile, "")
    return charts
