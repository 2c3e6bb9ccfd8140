"""A self-contained HTML report of a monitor over a time range, from stored window profiles.

Charts are inline SVG (no script, no network): traffic and errors, latency, performance
(actual, and the confidence-based estimate drawn dashed), drift per feature and data
quality over time; the newest window's histograms against the reference. Its size
depends on the number of windows and features, not on the rows in them.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from pomona.monitoring.records import Alert, Monitor, Window

__all__ = ["build_report"]

_W, _H, _PAD = 640, 190, 36
_COLORS = ("#2563eb", "#dc2626", "#16a34a", "#d97706", "#7c3aed", "#0891b2", "#db2777", "#4b5563")
_MAX_FEATURES = 12
_CSS = """
body{font:14px/1.45 system-ui,sans-serif;margin:24px auto;max-width:1360px;color:#111827}
body{padding:0 16px}h1{font-size:22px;margin:0 0 4px}
h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #e5e7eb}
.muted{color:#6b7280}.grid{display:flex;flex-wrap:wrap;gap:16px}
figure{margin:0;border:1px solid #e5e7eb;border-radius:6px;padding:8px}
figcaption{font-weight:600;margin-bottom:4px}table{border-collapse:collapse;font-size:13px}
td,th{border-bottom:1px solid #e5e7eb;padding:4px 8px;text-align:left}
.bad{color:#b91c1c;font-weight:600}.ok{color:#15803d}.legend span{margin-right:12px}
"""


def build_report(monitor: Monitor, windows: Sequence[Window], alerts: Sequence[Alert]) -> str:
    """The report's HTML (``windows`` oldest first)."""
    title = f"Monitoring report: {monitor.name}"
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>{_e(title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{_e(title)}</h1>",
        _summary(monitor, windows),
        _alerts(alerts),
    ]
    if windows:
        parts += [
            "<h2>Traffic, errors and latency</h2>",
            _grid([_traffic(windows), _errors(windows), _latency(windows)]),
            "<h2>Performance</h2>",
            _grid([_performance(windows)]),
            "<p class='muted'>Estimated accuracy is the mean confidence of the predictions "
            "(confidence-based estimation, before labels arrive): an estimate, drawn dashed.</p>",
            "<h2>Drift</h2>",
            _grid(_drift(windows)),
            "<h2>Data quality</h2>",
            _grid(_quality(windows)),
            _latest(windows[-1]),
        ]
    parts.append("</body></html>")
    return "".join(parts)


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _time(ms: float) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M")


def _ms(w: Window) -> float:
    return w.start_at.timestamp() * 1000


def _grid(figures: Sequence[str]) -> str:
    return "<div class='grid'>" + "".join(f for f in figures if f) + "</div>"


def _summary(monitor: Monitor, windows: Sequence[Window]) -> str:
    rows = sum(w.rows for w in windows)
    span = (
        f"{_time(_ms(windows[0]))} – {_time(windows[-1].end_at.timestamp() * 1000)} UTC"
        if windows
        else "no windows yet"
    )
    refs = {str((w.profile.get("reference") or {}).get("source", "")) for w in windows} - {""}
    return (
        f"<p class='muted'>Deployment <b>{_e(monitor.deployment)}</b> · windows of "
        f"{monitor.window_s:g} s · {len(windows)} windows · {rows:,} predictions · {_e(span)}"
        f"<br>Reference: {_e(', '.join(sorted(refs)) or 'none')}</p>"
    )


def _alerts(alerts: Sequence[Alert]) -> str:
    if not alerts:
        return "<h2>Alerts</h2><p class='muted'>No alerts.</p>"
    rows = "".join(
        f"<tr><td>{_e(a.state)}</td><td>{_e(a.severity)}</td><td>{_e(a.rule)}</td>"
        f"<td>{_e(a.pending_at.strftime('%Y-%m-%d %H:%M:%S'))}</td><td>{_e(a.message)}</td>"
        f"<td>{_e(a.acked_by or '')}</td></tr>"
        for a in alerts
    )
    head = _head("State", "Severity", "Rule", "Since", "What", "Ack")
    return f"<h2>Alerts</h2><table>{head}{rows}</table>"


Series = tuple[str, list[tuple[float, float]], bool]


def _chart(title: str, series: Sequence[Series], *, y01: bool = False) -> str:
    """An SVG line chart of ``(label, [(x, y)], dashed)`` series."""
    points = [p for _, pts, _ in series for p in pts if math.isfinite(p[1])]
    if not points:
        return ""
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    x0, x1 = min(xs), max(xs)
    y0, y1 = (0.0, 1.0) if y01 else (min(0.0, min(ys)), max(ys))
    if y1 <= y0:
        y1 = y0 + 1.0

    def sx(x: float) -> float:
        return _PAD + (x - x0) / ((x1 - x0) or 1.0) * (_W - 2 * _PAD)

    def sy(y: float) -> float:
        return _H - _PAD + (y - y0) / (y1 - y0) * (2 * _PAD - _H)

    lines, legend = [], []
    for i, (label, pts, dashed) in enumerate(series):
        color = _COLORS[i % len(_COLORS)]
        finite = [(x, y) for x, y in pts if math.isfinite(y)]
        coords = " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y in finite)
        dash = " stroke-dasharray='5 4'" if dashed else ""
        lines.append(
            f"<polyline fill='none' stroke='{color}' stroke-width='1.6'{dash} points='{coords}'/>"
        )
        if len(finite) == 1:
            ((x, y),) = finite
            lines.append(f"<circle cx='{sx(x):.1f}' cy='{sy(y):.1f}' r='2.5' fill='{color}'/>")
        legend.append(f"<span style='color:{color}'>■ {_e(label)}</span>")
    axes = (
        f"<line x1='{_PAD}' y1='{_H - _PAD}' x2='{_W - _PAD}' y2='{_H - _PAD}' stroke='#9ca3af'/>"
        f"<line x1='{_PAD}' y1='{_PAD}' x2='{_PAD}' y2='{_H - _PAD}' stroke='#9ca3af'/>"
        f"<text x='{_PAD - 4}' y='{_PAD + 4}' font-size='10' text-anchor='end'>{y1:.3g}</text>"
        f"<text x='{_PAD - 4}' y='{_H - _PAD}' font-size='10' text-anchor='end'>{y0:.3g}</text>"
        f"<text x='{_PAD}' y='{_H - 10}' font-size='10'>{_e(_time(x0))}</text>"
        f"<text x='{_W - _PAD}' y='{_H - 10}' font-size='10' "
        f"text-anchor='end'>{_e(_time(x1))}</text>"
    )
    svg = (
        f"<svg xmlns='http://www.w3.org/2000/svg' width='{_W}' height='{_H}' "
        f"viewBox='0 0 {_W} {_H}' role='img' aria-label='{_e(title)}'>{axes}{''.join(lines)}</svg>"
    )
    return (
        f"<figure><figcaption>{_e(title)}</figcaption>{svg}"
        f"<div class='legend small'>{''.join(legend)}</div></figure>"
    )


def _series(windows: Sequence[Window], get: Any) -> list[tuple[float, float]]:
    out = []
    for w in windows:
        value = get(w.profile)
        if isinstance(value, int | float) and not isinstance(value, bool):
            out.append((_ms(w), float(value)))
    return out


def _traffic(windows: Sequence[Window]) -> str:
    return _chart(
        "Predictions per window", [("rows", _series(windows, lambda p: p.get("rows")), False)]
    )


def _errors(windows: Sequence[Window]) -> str:
    rate = _series(windows, lambda p: p["errors"] / p["rows"] if p.get("rows") else None)
    return _chart("Error rate", [("error rate", rate, False)], y01=True)


def _latency(windows: Sequence[Window]) -> str:
    series: list[Series] = [
        (f"{q}", _series(windows, lambda p, q=q: (p.get("latency_ms") or {}).get(q)), False)
        for q in ("p50", "p99")
    ]
    return _chart("Latency (ms)", series)


def _performance(windows: Sequence[Window]) -> str:
    perf = (
        (
            "accuracy",
            _series(windows, lambda p: (p.get("performance") or {}).get("accuracy")),
            False,
        ),
        (
            "F1 (macro)",
            _series(windows, lambda p: (p.get("performance") or {}).get("f1_macro")),
            False,
        ),
        (
            "estimated accuracy (estimate)",
            _series(windows, lambda p: (p.get("outputs") or {}).get("estimated_accuracy")),
            True,
        ),
    )
    return _chart("Accuracy: actual (labels) and estimated", perf, y01=True)


def _features(windows: Sequence[Window]) -> list[str]:
    names: dict[str, float] = {}
    for w in windows:
        for name, f in (w.profile.get("features") or {}).items():
            drift = f.get("drift") or {}
            score = drift.get("statistic") if f.get("kind") == "numeric" else drift.get("js")
            names[name] = max(names.get(name, 0.0), float(score or 0.0))
    return sorted(names, key=lambda n: -names[n])[:_MAX_FEATURES]


def _drift(windows: Sequence[Window]) -> list[str]:
    share = _series(windows, lambda p: (p.get("drift") or {}).get("share"))
    figures = [_chart("Share of drifted features", [("share", share, False)], y01=True)]
    for name in _features(windows):

        def stat(p: dict[str, Any], name: str = name) -> Any:
            f = (p.get("features") or {}).get(name) or {}
            d = f.get("drift") or {}
            return d.get("statistic") if f.get("kind") == "numeric" else d.get("js")

        def psi(p: dict[str, Any], name: str = name) -> Any:
            return (((p.get("features") or {}).get(name) or {}).get("drift") or {}).get("psi")

        figures.append(
            _chart(
                f"Drift of {name} (KS D or JS; PSI)",
                [
                    ("KS D / JS", _series(windows, stat), False),
                    ("PSI", _series(windows, psi), True),
                ],
            )
        )
    return figures


def _quality(windows: Sequence[Window]) -> list[str]:
    series: list[Series] = []
    for name in _features(windows):
        for key in ("missing", "out_of_range"):

            def get(p: dict[str, Any], name: str = name, key: str = key) -> Any:
                return ((p.get("features") or {}).get(name) or {}).get(key)

            values = _series(windows, get)
            if any(v > 0 for _, v in values):
                series.append((f"{name} {key.replace('_', ' ')}", values, key != "missing"))
    schema = _series(windows, lambda p: p.get("out_of_schema"))
    return [
        _chart("Missing and out-of-range fractions", series[: len(_COLORS)], y01=True),
        _chart("Out-of-schema fraction", [("out of schema", schema, False)], y01=True),
    ]


def _head(*names: str) -> str:
    return "<tr>" + "".join(f"<th>{_e(n)}</th>" for n in names) + "</tr>"


def _rect(x: float, h: float, width: float, style: str, tip: str = "") -> str:
    title = f"<title>{_e(tip)}</title>" if tip else ""
    return (
        f"<rect x='{x:.1f}' y='{_H - _PAD - h:.1f}' width='{width:.1f}' height='{h:.1f}' "
        f"{style}>{title}</rect>"
    )


def _bars(title: str, labels: Sequence[str], counts: Sequence[int], ref: Sequence[int]) -> str:
    """Shares per bin or value: the window filled, the reference outlined."""
    if not counts:
        return ""
    shares = [c / (sum(counts) or 1) for c in counts]
    rshares = [c / (sum(ref) or 1) for c in ref] if ref else []
    top = max([*shares, *rshares, 1e-9])
    scale = (_H - 2 * _PAD) / top
    bw = (_W - 2 * _PAD) / len(counts)
    bars = []
    for i, share in enumerate(shares):
        x = _PAD + i * bw
        tip = f"{labels[i]}: {share:.3f}"
        bars.append(_rect(x, share * scale, bw * 0.8, "fill='#2563eb' opacity='0.7'", tip))
        if rshares:
            bars.append(_rect(x, rshares[i] * scale, bw * 0.8, "fill='none' stroke='#dc2626'"))
    ends = (
        f"<text x='{_PAD}' y='{_H - 10}' font-size='10'>{_e(labels[0])}</text>"
        f"<text x='{_W - _PAD}' y='{_H - 10}' font-size='10' "
        f"text-anchor='end'>{_e(labels[-1])}</text>"
    )
    svg = (
        f"<svg xmlns='http://www.w3.org/2000/svg' width='{_W}' height='{_H}' "
        f"viewBox='0 0 {_W} {_H}'>{''.join(bars)}{ends}</svg>"
    )
    legend = (
        "<div class='legend'><span style='color:#2563eb'>■ window</span>"
        "<span style='color:#dc2626'>□ reference</span></div>"
    )
    return f"<figure><figcaption>{_e(title)}</figcaption>{svg}{legend}</figure>"


def _feature_row(name: str, f: dict[str, Any]) -> str:
    d = f.get("drift") or {}
    verdict: dict[Any, str] = {
        True: "<span class='bad'>drift</span>",
        False: "<span class='ok'>ok</span>",
    }
    cells = [
        _e(name),
        _e(f.get("kind")),
        verdict.get(d.get("drifted"), "–"),
        *(_fmt(d.get(k)) for k in ("statistic", "p_adjusted", "psi", "js")),
        *(_fmt(f.get(k)) for k in ("missing", "out_of_range")),
    ]
    return "<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>"


def _feature_bars(name: str, f: dict[str, Any]) -> str:
    hist, top = f.get("hist") or {}, f.get("top") or {}
    title = f"{name} (newest window)"
    if f.get("kind") == "numeric" and hist.get("counts"):
        labels = [f"{e:.3g}" for e in hist["edges"][:-1]]
        return _bars(title, labels, hist["counts"], hist.get("reference") or [])
    if top.get("values"):
        return _bars(title, top["values"], top["counts"], top.get("reference") or [])
    return ""


def _latest(window: Window) -> str:
    p = window.profile
    features = p.get("features") or {}
    figures = []
    preds = (p.get("outputs") or {}).get("predictions") or {}
    if preds.get("values"):
        title = "Predictions (newest window)"
        ref = preds.get("reference") or []
        figures.append(_bars(title, preds["values"], preds["counts"], ref))
    figures += [_feature_bars(n, features[n]) for n in sorted(features)[:_MAX_FEATURES]]
    rows = "".join(_feature_row(n, features[n]) for n in sorted(features))
    head = _head(
        "Feature",
        "Kind",
        "Verdict",
        "KS D / χ²",
        "p (Holm)",
        "PSI",
        "JS",
        "Missing",
        "Out of range",
    )
    when = window.start_at.strftime("%Y-%m-%d %H:%M:%S")
    return (
        f"<h2>Newest window ({_e(when)} UTC, {window.rows:,} rows)</h2>"
        f"<table>{head}{rows}</table>{_grid(figures)}"
    )


def _fmt(value: Any) -> str:
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return f"{value:.3g}"
    return "–"
