"""``/monitors``, ``/monitors/{name}`` (drift per feature over time, quality, performance
estimated and actual, latency, alerts) and ``/alerts`` with acknowledge buttons."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import APIRouter, Form, Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from pomona._utils.principal import acting_user
from pomona.client.workspace import Workspace
from pomona.dashboard._charts import PALETTE, Chart
from pomona.dashboard._render import error_page, render
from pomona.errors import ConfigError, PomonaError
from pomona.monitoring.base import AlertsAPI, MonitorsAPI
from pomona.monitoring.records import SeriesPoint

__all__ = ["monitoring_pages"]

_MAX_LINES = 10
REPORT_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'"
"""The monitoring report is a self-contained document with its own inline styles and no
script at all: it gets a policy of its own instead of the dashboard's."""


def _figure(lines: Sequence[dict[str, Any]], *, y01: bool = False) -> dict[str, Any]:
    axis = {"gridcolor": "#e5e7eb", "zerolinecolor": "#d1d5db", "automargin": True}
    yaxis = {**axis, **({"range": [0, 1.02]} if y01 else {})}
    return {
        "data": list(lines),
        "layout": {
            "height": 280,
            "margin": {"l": 56, "r": 16, "t": 36, "b": 44},
            "paper_bgcolor": "rgba(0,0,0,0)",
            "plot_bgcolor": "#ffffff",
            "font": {"family": "system-ui, sans-serif", "size": 12, "color": "#374151"},
            "xaxis": {**axis, "type": "date"},
            "yaxis": yaxis,
            "hovermode": "x unified",
            "showlegend": True,
            "legend": {"orientation": "h", "x": 0, "y": 1.02, "yanchor": "bottom"},
        },
    }


def _line(name: str, points: Sequence[SeriesPoint], i: int, dashed: bool = False) -> dict[str, Any]:
    return {
        "type": "scatter",
        "mode": "lines+markers" if len(points) <= 60 else "lines",
        "name": name,
        "x": [p.start_at.isoformat() for p in points],
        "y": [p.value for p in points],
        "line": {
            "color": PALETTE[i % len(PALETTE)],
            "width": 2,
            **({"dash": "dash"} if dashed else {}),
        },
        "marker": {"size": 5},
    }


def _by(points: Sequence[SeriesPoint]) -> dict[tuple[str, str], list[SeriesPoint]]:
    out: dict[tuple[str, str], list[SeriesPoint]] = {}
    for p in points:
        out.setdefault((p.metric, p.feature), []).append(p)
    return out


def _lines(series: dict[tuple[str, str], list[SeriesPoint]], metric: str) -> list[dict[str, Any]]:
    found = sorted((f, pts) for (m, f), pts in series.items() if m == metric and f)
    ranked = sorted(found, key=lambda fp: -max(p.value for p in fp[1]))[:_MAX_LINES]
    return [_line(f, pts, i) for i, (f, pts) in enumerate(sorted(ranked))]


def charts(points: Sequence[SeriesPoint]) -> list[Chart]:
    """The monitor page's charts from its time series."""
    s = _by(points)

    def one(metric: str, label: str, i: int = 0, dashed: bool = False) -> list[dict[str, Any]]:
        pts = s.get((metric, ""), [])
        return [_line(label, pts, i, dashed)] if pts else []

    drift = _lines(s, "drift_ks") + _lines(s, "drift_js")
    perf = (
        one("accuracy", "accuracy (labels)")
        + one("f1_macro", "F1 macro (labels)", 2)
        + one("estimated_accuracy", "estimated accuracy (estimate)", 1, True)
    )
    made = [
        ("Drift per feature (KS D numeric, JS categorical)", drift, False),
        ("Drifted share of features", one("drift_share", "share"), True),
        ("Missing values per feature", _lines(s, "missing"), True),
        ("Out of range per feature", _lines(s, "out_of_range"), True),
        ("Performance: actual and estimated", perf, True),
        ("Latency (ms)", one("latency_p50_ms", "p50") + one("latency_p99_ms", "p99", 1), False),
        ("Error rate", one("error_rate", "errors / requests", 1), True),
        ("Predictions per window", one("rows", "rows"), False),
    ]
    return [Chart(title, _figure(lines, y01=y01), False) for title, lines, y01 in made if lines]


def monitoring_pages(ws: Workspace) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    def services() -> tuple[MonitorsAPI, AlertsAPI]:
        monitors, alerts = getattr(ws, "monitors", None), getattr(ws, "alerts", None)
        if monitors is None or alerts is None:
            raise ConfigError("This workspace has no monitoring services.")
        return monitors, alerts

    @router.get("/monitors")
    def monitors_page() -> HTMLResponse:
        try:
            monitors, alerts = services()
            items = list(monitors.list(limit=1000))
            open_alerts = list(alerts.list(state="open", limit=1000))
        except PomonaError as exc:
            return error_page(exc)
        counts: dict[str, int] = {}
        for a in open_alerts:
            counts[a.monitor] = counts.get(a.monitor, 0) + 1
        return render(
            "monitors.html", title="Monitors", active="monitors", monitors=items, counts=counts
        )

    @router.get("/monitors/{name}")
    def monitor_page(name: str) -> HTMLResponse:
        try:
            monitors, alerts = services()
            monitor = monitors.get(name)
            points = monitors.results(name, limit=50_000)
            windows = list(monitors.windows(name, limit=50))
            items = list(alerts.list(monitor=name, limit=100))
        except PomonaError as exc:
            return error_page(exc)
        return render(
            "monitor.html",
            title=name,
            active="monitors",
            monitor=monitor,
            charts=charts(points),
            windows=windows,
            alerts=items,
        )

    @router.get("/monitors/{name}/report")
    def report(name: str) -> Response:
        try:
            html = services()[0].report(name)
            return HTMLResponse(html, headers={"Content-Security-Policy": REPORT_CSP})
        except PomonaError as exc:
            return error_page(exc)

    @router.get("/alerts")
    def alerts_page(request: Request) -> HTMLResponse:
        state = request.query_params.get("state") or None
        try:
            _, alerts = services()
            items = list(alerts.list(state=state, limit=500))
            silences = alerts.silences(active=True)
        except PomonaError as exc:
            return error_page(exc)
        return render(
            "alerts.html",
            title="Alerts",
            active="alerts",
            alerts=items,
            silences=silences,
            state=state or "",
        )

    @router.get("/alerts/{alert_id}")
    def alert_page(alert_id: str) -> HTMLResponse:
        try:
            alert = services()[1].get(alert_id)
        except PomonaError as exc:
            return error_page(exc)
        return render(
            "alerts.html", title="Alert", active="alerts", alerts=[alert], silences=[], state=""
        )

    @router.post("/alerts/{alert_id}/ack")
    def ack(
        alert_id: str,
        request: Request,
        by: str = Form(""),  # accepted for old forms, ignored: who acks is the credential's
        comment: str = Form(""),
        back: str = Form(""),
    ) -> Response:
        try:
            services()[1].ack(alert_id, by=acting_user(request), comment=comment)
        except PomonaError as exc:
            return error_page(exc)
        target = back if back.startswith("/") and not back.startswith("//") else "/alerts"
        return RedirectResponse(target, status_code=303)

    return router
