"""A window's profile: traffic and latency, data quality, drift, outputs, the estimated and
(once labels exist) the actual performance. Small JSON: counts and histograms only."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

import numpy as np
from numpy.typing import NDArray

from pomona.monitoring import _performance, _stats
from pomona.monitoring._logs import INPUT, WindowView
from pomona.monitoring._profile import (
    as_float,
    as_text,
    categorical_profile,
    is_numeric,
    numeric_profile,
)
from pomona.monitoring.base import Reference
from pomona.monitoring.drift import DriftDetector, DriftReport
from pomona.monitoring.embeddings import mmd_test
from pomona.monitoring.records import Monitor

__all__ = ["IMAGE_PROPERTIES", "base_stats", "detector_features", "performance", "profile_window"]

IMAGE_PROPERTIES = frozenset(
    {"brightness", "contrast", "blur", "width", "height", "mean_r", "mean_g", "mean_b"}
)


def base_stats(view: WindowView) -> dict[str, Any]:
    """Rows, errors, latency quantiles and the rows of each model version and variant."""
    ((rows, errors, p50, p90, p99, mean),) = view.rows(
        "SELECT count(*), count(*) FILTER (WHERE status <> 'ok'),"
        " quantile_cont(latency_ms, 0.5), quantile_cont(latency_ms, 0.9),"
        " quantile_cont(latency_ms, 0.99), avg(latency_ms) FROM w"
    )
    out: dict[str, Any] = {"rows": int(rows), "errors": int(errors), "versions": []}
    if rows:
        out["latency_ms"] = {"p50": p50, "p90": p90, "p99": p99, "mean": mean}
        confidence = "avg(confidence) FILTER (WHERE status = 'ok')"
        if "confidence" not in view.columns:
            confidence = "NULL"
        out["versions"] = [
            {
                "model": f"{name}:{version}",
                "variant": variant,
                "rows": int(n),
                "errors": int(err),
                "confidence": conf,
            }
            for name, version, variant, n, err, conf in view.rows(
                f"SELECT model_name, model_version, variant, count(*),"
                f" count(*) FILTER (WHERE status <> 'ok'), {confidence}"
                " FROM w GROUP BY ALL ORDER BY 4 DESC, 1, 2"
            )
        ]
    return out


def profile_window(
    view: WindowView,
    monitor: Monitor,
    base: dict[str, Any],
    reference: Reference | None,
    detector: DriftDetector | None,
) -> dict[str, Any]:
    """Everything but the performance (see ``performance``) of a window with rows."""
    profile = dict(base)
    names = [c[len(INPUT) :] for c in view.inputs]
    data = view.arrays(view.inputs)
    values = {name: data[INPUT + name] for name in names}
    expected = sorted(reference.columns) if reference is not None else names
    features, clean = _features(values, monitor, reference)
    missing = sorted(n for n in expected if n not in values or features[n]["missing"] >= 1.0)
    unexpected = sorted(n for n in names if reference is not None and n not in reference.columns)
    profile["schema"] = {"expected": expected, "missing": missing, "unexpected": unexpected}
    profile["out_of_schema"] = (len(missing) + len(unexpected)) / max(len(expected), 1)
    if monitor.drift and detector is not None:
        report = detector.detect(
            {k: v for k, v in clean.items() if k in detector_features(detector)}
        )
        _attach_drift(features, report)
        profile["drift"] = {
            "drifted": report.drifted,
            "share": report.share,
            "features": report.drifted_features,
            "thresholds": asdict(report.thresholds),
        }
        images = sorted(IMAGE_PROPERTIES & set(clean))
        if images:
            profile["images"] = {
                "properties": images,
                "drifted": [n for n in report.drifted_features if n in IMAGE_PROPERTIES],
            }
        profile.update(_embeddings(view, reference, monitor))
    profile["features"] = features
    profile["outputs"] = _outputs(view, reference, monitor)
    return profile


def detector_features(detector: DriftDetector) -> set[str]:
    return {*detector.numeric_, *detector.categories_}


def _features(
    values: dict[str, Any], monitor: Monitor, reference: Reference | None
) -> tuple[dict[str, dict[str, Any]], dict[str, NDArray[Any]]]:
    categorical = set(monitor.categorical) | set(reference.categorical if reference else ())
    features: dict[str, dict[str, Any]] = {}
    clean: dict[str, NDArray[Any]] = {}
    for name, raw in sorted(values.items()):
        ref = None if reference is None else reference.columns.get(name)
        ref_numeric = ref is not None and is_numeric(np.asarray(ref))
        numeric = name not in categorical and (ref_numeric if ref is not None else is_numeric(raw))
        if numeric:
            ref_floats = None if ref is None else as_float(ref)
            raw_values = raw if is_numeric(raw) else as_text(raw)
            features[name], clean[name] = numeric_profile(raw_values, ref_floats)
        else:
            features[name], clean[name] = categorical_profile(raw, ref)
    return features, clean


def _attach_drift(features: dict[str, dict[str, Any]], report: DriftReport) -> None:
    for f in report.features:
        if f.feature not in features:
            continue
        features[f.feature]["drift"] = {
            "drifted": f.drifted,
            "n_reference": f.n_reference,
            "statistic": f.statistic,
            "p_value": f.p_value,
            "p_adjusted": f.p_adjusted,
            "psi": f.psi,
            "wasserstein": f.wasserstein,
            "js": f.js,
        }


def _embeddings(view: WindowView, reference: Reference | None, monitor: Monitor) -> dict[str, Any]:
    cols = view.embeddings
    if not cols or reference is None or reference.embeddings is None:
        return {}
    if reference.embeddings.shape[1] != len(cols):
        return {"embeddings": {"error": "the reference embeddings have another width"}}
    data = view.arrays(cols)
    current = np.column_stack([as_float(data[c]) for c in cols])
    result = mmd_test(reference.embeddings, current, alpha=monitor.thresholds.alpha)
    if result is None:
        return {"embeddings": {"drifted": None, "n_current": len(current)}}
    return {"embeddings": asdict(result) | {"columns": len(cols)}}


def _outputs(view: WindowView, reference: Reference | None, monitor: Monitor) -> dict[str, Any]:
    wanted = [c for c in ("prediction", "confidence") if c in view.columns]
    data = view.arrays(wanted)
    if "prediction" not in data:
        return {}
    predictions = as_text(data["prediction"])
    profile, present = categorical_profile(predictions, reference.labels if reference else None)
    out: dict[str, Any] = {
        "non_null": 1.0 - profile["missing"],
        "predictions": profile["top"],
        "distinct": profile["distinct"],
    }
    if "confidence" in data:
        conf = as_float(data["confidence"])
        finite = conf[np.isfinite(conf)]
        counts, _ = np.histogram(np.clip(finite, 0, 1), bins=10, range=(0, 1))
        out["confidence"] = {
            "mean": float(finite.mean()) if len(finite) else None,
            "hist": [int(c) for c in counts],
        }
        out["estimated_accuracy"] = _performance.estimated(conf)
    if reference is not None and reference.labels is not None and len(present):
        out["prediction_drift"] = _prediction_drift(present, reference.labels, monitor)
    return out


def _prediction_drift(
    present: NDArray[Any], labels: NDArray[Any], monitor: Monitor
) -> dict[str, Any]:
    cur_keys, cur_counts = np.unique(present.astype(str), return_counts=True)
    ref_keys, ref_counts = np.unique(np.asarray(labels).astype(str), return_counts=True)
    cats = sorted(set(cur_keys.tolist()) | set(ref_keys.tolist()))
    c = dict(zip(cur_keys.tolist(), cur_counts.tolist(), strict=True))
    r = dict(zip(ref_keys.tolist(), ref_counts.tolist(), strict=True))
    cur = np.array([c.get(k, 0) for k in cats], dtype=np.float64)
    ref = np.array([r.get(k, 0) for k in cats], dtype=np.float64)
    t = monitor.thresholds
    if min(cur.sum(), ref.sum()) < t.min_samples:
        return {"drifted": None}
    _, p = _stats.chi2_test(ref, cur)
    js = _stats.jensen_shannon(ref, cur)
    return {"drifted": bool(p < t.alpha and js >= t.js), "p_value": p, "js": js}


def performance(view: WindowView, labels: Any, slices: Sequence[str]) -> dict[str, Any]:
    """Accuracy and friends of the window's labelled rows: overall, per model version and
    per slice. ``labels``: a pyarrow table ``(request_id, label, received_ms)``."""
    ((ok,),) = view.rows("SELECT count(*) FROM w WHERE status = 'ok'")
    if labels is None or labels.num_rows == 0 or "prediction" not in view.columns:
        return {"labelled": 0, "coverage": 0.0}
    view.con.register("labels", labels)
    try:
        slice_cols = [s for s in slices if INPUT + s in view.columns]
        extra = "".join(f', w."{INPUT}{s}"' for s in slice_cols)
        rows = view.rows(
            "SELECT l.label, w.prediction, w.model_name || ':' || w.model_version,"
            f" l.received_ms{extra} FROM w JOIN labels l ON w.request_id = l.request_id"
            " WHERE w.status = 'ok'"
        )
    finally:
        view.con.unregister("labels")
    if not rows:
        return {"labelled": 0, "coverage": 0.0}
    cols = list(zip(*rows, strict=True))
    truth = np.asarray(cols[0], dtype=object).astype(str)
    predicted = np.asarray([str(p) for p in cols[1]], dtype=object).astype(str)
    out = _performance.classification(truth.tolist(), predicted.tolist())
    out["coverage"] = len(rows) / max(int(ok), 1)
    out["labels_ms"] = int(max(cols[3]))
    out["by_version"] = _performance.grouped(np.asarray(cols[2], dtype=object), truth, predicted)
    out["by_slice"] = {
        s: _performance.grouped(np.asarray(cols[4 + i], dtype=object), truth, predicted)
        for i, s in enumerate(slice_cols)
    }
    return out
