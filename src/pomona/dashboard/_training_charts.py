"""Plotly figures for studies and evaluations: optimisation history, parameter importances,
confusion matrix, calibration curve."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pomona.dashboard._charts import PALETTE, Chart

__all__ = ["calibration_chart", "confusion_chart", "history_chart", "importance_chart"]

_MARGIN = {"l": 56, "r": 16, "t": 8, "b": 44}
_LAYOUT: dict[str, Any] = {
    "margin": _MARGIN,
    "height": 320,
    "paper_bgcolor": "rgba(0,0,0,0)",
    "plot_bgcolor": "rgba(0,0,0,0)",
    "legend": {"orientation": "h", "y": -0.2},
}
_STATE_COLORS = {"complete": PALETTE[0], "pruned": "#9ca3af", "fail": PALETTE[1]}


def history_chart(history: Sequence[Mapping[str, Any]], metric: str) -> Chart:
    """Each completed trial's value, the best so far, and where trials were pruned."""
    done = [h for h in history if h.get("value") is not None]
    best = [h for h in history if h.get("best") is not None]
    data = [
        {
            "type": "scatter",
            "mode": "markers",
            "name": "trial",
            "x": [h["number"] for h in done],
            "y": [h["value"] for h in done],
            "marker": {"color": _STATE_COLORS["complete"], "size": 7},
            "text": [str(h.get("params")) for h in done],
            "hoverinfo": "x+y+text",
        },
        {
            "type": "scatter",
            "mode": "lines",
            "name": "best so far",
            "x": [h["number"] for h in best],
            "y": [h["best"] for h in best],
            "line": {"color": PALETTE[3], "width": 2, "shape": "hv"},
        },
    ]
    pruned = [h["number"] for h in history if h.get("state") == "pruned"]
    if pruned:
        low = min((h["value"] for h in done), default=0.0)
        data.append(
            {
                "type": "scatter",
                "mode": "markers",
                "name": "pruned",
                "x": pruned,
                "y": [low] * len(pruned),
                "marker": {"color": _STATE_COLORS["pruned"], "symbol": "x", "size": 7},
            }
        )
    layout = {
        **_LAYOUT,
        "xaxis": {"title": {"text": "trial"}},
        "yaxis": {"title": {"text": metric}},
    }
    return Chart("optimisation history", {"data": data, "layout": layout}, bucketed=False)


def importance_chart(importances: Mapping[str, float]) -> Chart:
    """Parameter importances (fANOVA), the most important on top."""
    items = sorted(importances.items(), key=lambda kv: kv[1])
    data = [
        {
            "type": "bar",
            "orientation": "h",
            "x": [v for _, v in items],
            "y": [k for k, _ in items],
            "marker": {"color": PALETTE[4]},
        }
    ]
    layout = {
        **_LAYOUT,
        "height": max(160, 40 + 32 * len(items)),
        "xaxis": {"title": {"text": "importance"}},
        "margin": {**_MARGIN, "l": 140},
    }
    return Chart("parameter importances", {"data": data, "layout": layout}, bucketed=False)


def confusion_chart(confusion: Mapping[str, Any]) -> Chart:
    """Counts of true (rows) against predicted (columns) labels."""
    labels = [str(v) for v in confusion["labels"]]
    data = [
        {
            "type": "heatmap",
            "z": confusion["matrix"],
            "x": labels,
            "y": labels,
            "colorscale": [[0, "#eff6ff"], [1, "#1d4ed8"]],
            "showscale": True,
            "texttemplate": "%{z}",
            "hovertemplate": "true %{y}, predicted %{x}: %{z}<extra></extra>",
        }
    ]
    layout = {
        **_LAYOUT,
        "height": max(260, 60 + 36 * len(labels)),
        "xaxis": {"title": {"text": "predicted"}, "type": "category"},
        "yaxis": {"title": {"text": "true"}, "type": "category", "autorange": "reversed"},
    }
    return Chart("confusion matrix", {"data": data, "layout": layout}, bucketed=False)


def calibration_chart(calibration: Mapping[str, Any]) -> Chart:
    """Reliability diagram: accuracy against confidence per bin, with the diagonal."""
    bins = [b for b in calibration["bins"] if b.get("count")]
    data = [
        {
            "type": "scatter",
            "mode": "lines",
            "name": "perfectly calibrated",
            "x": [0, 1],
            "y": [0, 1],
            "line": {"color": "#9ca3af", "dash": "dot"},
        },
        {
            "type": "scatter",
            "mode": "lines+markers",
            "name": "model",
            "x": [b["confidence"] for b in bins],
            "y": [b["accuracy"] for b in bins],
            "text": [f"{b['count']} examples" for b in bins],
            "line": {"color": PALETTE[0]},
        },
    ]
    layout = {
        **_LAYOUT,
        "xaxis": {"title": {"text": "confidence"}, "range": [0, 1]},
        "yaxis": {"title": {"text": "accuracy"}, "range": [0, 1]},
    }
    return Chart("calibration", {"data": data, "layout": layout}, bucketed=False)
