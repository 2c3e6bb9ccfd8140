"""The time series of a window, read off its profile: ``(metric, feature, value)`` triples.

``feature`` is ``""`` for the window as a whole, a feature's name, ``version:<model>``
for one model version, ``<slice>=<value>`` for a slice, or a class for per-class shares.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from typing import Any

__all__ = ["PERFORMANCE_METRICS", "Point", "performance_points", "points"]

Point = tuple[str, str, float]

PERFORMANCE_METRICS = (
    "accuracy",
    "f1_macro",
    "precision_macro",
    "recall_macro",
    "labelled",
    "label_coverage",
)
_DRIFT = (
    ("drift_ks", "statistic", "numeric"),
    ("drift_chi2", "statistic", "categorical"),
    ("drift_psi", "psi", None),
    ("drift_wasserstein", "wasserstein", None),
    ("drift_js", "js", None),
    ("drift_p", "p_adjusted", None),
)


def _ok(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def points(profile: Mapping[str, Any]) -> list[Point]:
    """Every metric of a window, performance included."""
    out = list(_traffic(profile))
    out += list(_quality_and_drift(profile))
    out += list(_outputs(profile))
    out += performance_points(profile.get("performance") or {})
    return [(m, f, float(v)) for m, f, v in out if _ok(v)]


def _traffic(p: Mapping[str, Any]) -> Iterator[tuple[str, str, Any]]:
    rows = p.get("rows", 0)
    yield "rows", "", rows
    yield "errors", "", p.get("errors", 0)
    if rows:
        yield "error_rate", "", p.get("errors", 0) / rows
    for key, value in (p.get("latency_ms") or {}).items():
        yield f"latency_{key}_ms", "", value
    for v in p.get("versions") or ():
        tag = f"version:{v['model']}" + ("" if v["variant"] == "primary" else f"/{v['variant']}")
        yield "rows", tag, v["rows"]
        if v["rows"]:
            yield "error_rate", tag, v["errors"] / v["rows"]
        yield "estimated_accuracy", tag, v.get("confidence")


def _quality_and_drift(p: Mapping[str, Any]) -> Iterator[tuple[str, str, Any]]:
    if "out_of_schema" in p:
        yield "out_of_schema", "", p["out_of_schema"]
    for name, f in (p.get("features") or {}).items():
        for key in ("missing", "out_of_range", "type_errors", "mean"):
            yield key, name, f.get(key)
        drift = f.get("drift")
        if not drift:
            continue
        for metric, key, kind in _DRIFT:
            if kind is None or kind == f["kind"]:
                yield metric, name, drift.get(key)
        if drift.get("drifted") is not None:
            yield "drifted", name, 1.0 if drift["drifted"] else 0.0
    drift = p.get("drift")
    if drift:
        yield "drift_share", "", drift["share"]
        yield "dataset_drift", "", 1.0 if drift["drifted"] else 0.0
    emb = p.get("embeddings") or {}
    if emb.get("drifted") is not None:
        yield "embedding_mmd", "", emb.get("mmd2")
        yield "embedding_drift", "", 1.0 if emb["drifted"] else 0.0


def _outputs(p: Mapping[str, Any]) -> Iterator[tuple[str, str, Any]]:
    out = p.get("outputs") or {}
    if not out:
        return
    yield "non_null_output", "", out.get("non_null")
    yield "confidence_mean", "", (out.get("confidence") or {}).get("mean")
    yield "estimated_accuracy", "", out.get("estimated_accuracy")
    preds = out.get("predictions") or {}
    total = sum(preds.get("counts") or ()) or 0
    for value, count in zip(preds.get("values") or (), preds.get("counts") or (), strict=True):
        if total:
            yield "prediction_share", str(value), count / total
    drift = out.get("prediction_drift") or {}
    if drift.get("drifted") is not None:
        yield "prediction_drift_js", "", drift.get("js")
        yield "prediction_drift", "", 1.0 if drift["drifted"] else 0.0


def performance_points(perf: Mapping[str, Any]) -> list[Point]:
    """The performance metrics of a window (recomputed when late labels arrive)."""
    out: list[tuple[str, str, Any]] = []
    if not perf.get("labelled"):
        return []

    def add(tag: str, m: Mapping[str, Any]) -> None:
        for metric in PERFORMANCE_METRICS[:5]:
            out.append((metric, tag, m.get(metric)))

    add("", perf)
    out.append(("label_coverage", "", perf.get("coverage")))
    for model, m in (perf.get("by_version") or {}).items():
        add(f"version:{model}", m)
    for column, values in (perf.get("by_slice") or {}).items():
        for value, m in values.items():
            add(f"{column}={value}", m)
    return [(m, f, float(v)) for m, f, v in out if _ok(v)]
