"""Evaluation: test-set metrics, per-class and per-slice metrics, calibration, worst examples.

``evaluate`` computes a report; ``pomona.training.log_evaluation`` stores it on a run.
"""

from __future__ import annotations

import io
import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
from numpy.typing import NDArray

from pomona.errors import InvalidInputError
from pomona.training._data import Task, _check_task, _is_frame, _rows, data_digest
from pomona.training._metrics import (
    Predictions,
    check_metric,
    compute,
    higher_is_better,
    predict,
    primary_metric,
)

__all__ = ["EvaluationReport", "evaluate", "lift_over"]

CALIBRATION_BINS = 10
THUMBNAIL_PX = 48


@dataclass
class EvaluationReport:
    """One evaluation: what a user reads, stored as ``evaluation/report.json`` on a run."""

    task: Task
    n: int
    primary_metric: str
    metrics: dict[str, float]
    per_class: list[dict[str, Any]] = field(default_factory=list)
    confusion: dict[str, Any] | None = None
    calibration: dict[str, Any] | None = None
    slices: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    worst: list[dict[str, Any]] = field(default_factory=list)
    baselines: dict[str, dict[str, float]] = field(default_factory=dict)
    lift: dict[str, float] = field(default_factory=dict)
    model: str = ""
    data_digest: str = ""
    datasets: dict[str, str] = field(default_factory=dict)
    run_id: str | None = None
    created_at: str = ""
    thumbnails: dict[str, bytes] = field(default_factory=dict, repr=False)
    """PNG bytes of the worst examples' thumbnails by artifact path (not in the JSON)."""

    @property
    def score(self) -> float:
        """The primary metric's value."""
        return self.metrics[self.primary_metric]

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("thumbnails")
        return _json_safe(data)  # type: ignore[no-any-return]

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> EvaluationReport:
        known = {f for f in cls.__dataclass_fields__ if f != "thumbnails"}
        values = {k: v for k, v in data.items() if k in known}
        values["metrics"] = {k: _nan(v) for k, v in values.get("metrics", {}).items()}
        return cls(**values)

    def summary(self) -> str:
        """One line: the primary metric and the lift over each baseline."""
        lifts = ", ".join(f"{k} {v:+.4f}" for k, v in self.lift.items())
        text = f"{self.primary_metric} {self.score:.4f} on {self.n} examples"
        return text + (f" (lift over baselines: {lifts})" if lifts else "")


def _nan(value: Any) -> float:
    return float("nan") if value is None else float(value)


def _json_safe(value: Any) -> Any:
    """NaN and infinity become null; numpy scalars become Python numbers."""
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def lift_over(
    metrics: Mapping[str, float], baselines: Mapping[str, Mapping[str, float]], metric: str
) -> dict[str, float]:
    """How much better than each baseline on ``metric`` (positive = better, either direction)."""
    sign = 1.0 if higher_is_better(metric) else -1.0
    return {
        name: sign * (metrics[metric] - values[metric])
        for name, values in baselines.items()
        if metric in values
    }


def _per_class(p: Predictions) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    from sklearn.metrics import confusion_matrix, precision_recall_fscore_support

    assert p.labels is not None
    labels = p.labels
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        prec, rec, f1, support = precision_recall_fscore_support(
            p.y_true, p.y_pred, labels=labels, zero_division=0
        )
    rows = [
        {"label": label, "precision": pr, "recall": rc, "f1": f, "support": int(s)}
        for label, pr, rc, f, s in zip(labels.tolist(), prec, rec, f1, support, strict=True)
    ]
    matrix = confusion_matrix(p.y_true, p.y_pred, labels=labels)
    return rows, {"labels": labels.tolist(), "matrix": matrix.tolist()}


def _calibration(p: Predictions) -> dict[str, Any] | None:
    if p.proba is None or len(p.y_true) == 0:
        return None
    assert p.labels is not None
    confidence = p.proba.max(axis=1)
    correct = p.labels[p.proba.argmax(axis=1)] == p.y_true
    edges = np.linspace(0.0, 1.0, CALIBRATION_BINS + 1)
    which = np.clip(np.digitize(confidence, edges[1:-1]), 0, CALIBRATION_BINS - 1)
    bins, ece = [], 0.0
    for b in range(CALIBRATION_BINS):
        mask = which == b
        count = int(mask.sum())
        conf = float(confidence[mask].mean()) if count else None
        acc = float(correct[mask].mean()) if count else None
        if count:
            ece += count / len(confidence) * abs(conf - acc)  # type: ignore[operator]
        bins.append(
            {
                "lower": edges[b],
                "upper": edges[b + 1],
                "confidence": conf,
                "accuracy": acc,
                "count": count,
            }
        )
    return {"bins": bins, "ece": ece}


def _slice_values(name: str, X: Any, attributes: Mapping[str, Any], bands: int) -> NDArray[Any]:
    if name in attributes:
        values = np.asarray(attributes[name])
    elif _is_frame(X) and name in X.columns:
        values = np.asarray(X[name])
    else:
        raise InvalidInputError(
            f"No column or attribute '{name}' to slice by.",
            hint="Pass attributes={'" + name + "': [...]} with one value per test row, "
            "or name a column of the features.",
            details={"field": "slices"},
        )
    if values.dtype.kind in "fiu" and len(np.unique(values)) > 10:
        return _bands(values.astype(float), bands)
    return values.astype(str)


def _bands(values: NDArray[np.float64], bands: int) -> NDArray[Any]:
    """Quantile bands named by their ranges, e.g. ``[0.52, 0.81)``."""
    edges = np.unique(np.quantile(values, np.linspace(0, 1, bands + 1)))
    which = np.clip(np.digitize(values, edges[1:-1]), 0, len(edges) - 2)
    names = [
        f"[{edges[i]:.3g}, {edges[i + 1]:.3g}{']' if i == len(edges) - 2 else ')'}"
        for i in range(len(edges) - 1)
    ]
    return np.array([names[i] for i in which])


def _slices(
    p: Predictions, names: Sequence[str], X: Any, attrs: Mapping[str, Any], metric: str, bands: int
) -> dict[str, list[dict[str, Any]]]:
    wanted = tuple(dict.fromkeys((metric, "accuracy" if p.labels is not None else "mae")))
    out: dict[str, list[dict[str, Any]]] = {}
    for name in names:
        values = _slice_values(name, X, attrs, bands)
        if len(values) != len(p.y_true):
            raise InvalidInputError(
                f"Slice column '{name}' has {len(values)} values for {len(p.y_true)} rows.",
                details={"field": f"attributes.{name}"},
            )
        rows = []
        for value in sorted(set(values.tolist()), key=str):
            mask = values == value
            metrics = compute(p.subset(mask), wanted)
            rows.append({"value": value, "n": int(mask.sum()), "metrics": metrics})
        out[name] = rows
    return out


def _thumbnail(image: NDArray[Any]) -> bytes:
    from PIL import Image

    arr = np.asarray(image)
    if arr.dtype != np.uint8:
        arr = (np.clip(arr, 0, 1) * 255).astype(np.uint8)
    img = Image.fromarray(arr.squeeze() if arr.shape[-1] == 1 else arr)
    img.thumbnail((THUMBNAIL_PX, THUMBNAIL_PX))
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def _worst(p: Predictions, X: Any, k: int) -> tuple[list[dict[str, Any]], dict[str, bytes]]:
    loss = p.per_example_loss()
    order = np.argsort(-loss, kind="stable")[:k]
    images = isinstance(X, np.ndarray) and X.ndim == 4
    rows, thumbs = [], {}
    for rank, i in enumerate(order.tolist()):
        row: dict[str, Any] = {
            "index": i,
            "y_true": p.y_true[i].item() if hasattr(p.y_true[i], "item") else p.y_true[i],
            "y_pred": p.y_pred[i].item() if hasattr(p.y_pred[i], "item") else p.y_pred[i],
            "loss": float(loss[i]),
        }
        if p.proba is not None:
            row["confidence"] = float(p.proba[i].max())
        if images:
            path = f"evaluation/worst/{rank:02d}-{i}.png"
            thumbs[path] = _thumbnail(X[i])
            row["thumbnail"] = path
        rows.append(row)
    return rows, thumbs


def evaluate(
    model: Any,
    X: Any,
    y: Any,
    *,
    task: str | None = None,
    metric: str | None = None,
    slices: Sequence[str] = (),
    attributes: Mapping[str, Any] | None = None,
    worst: int = 12,
    bands: int = 3,
    baselines: Mapping[str, Mapping[str, float]] | None = None,
) -> EvaluationReport:
    """Evaluate a fitted model on test data.

    Args:
        model: anything with ``predict`` (and ``predict_proba`` and ``classes_`` for
            probabilities).
        metric: the primary metric (default: accuracy, or R² for regression).
        slices: columns of ``X`` or keys of ``attributes`` to compute metrics per value of;
            numeric ones with many values are cut into ``bands`` quantile bands.
        attributes: extra per-row values to slice by (e.g. an image's variety, brightness).
        worst: how many of the worst-predicted examples to keep (thumbnails for images).
        baselines: metrics of baseline models on the same data, to state the lift over.
    """
    y_arr = np.asarray(y)
    if _rows(X) != len(y_arr) or len(y_arr) == 0:
        raise InvalidInputError(
            f"Evaluation needs one target per row: {_rows(X)} rows, {len(y_arr)} targets.",
            details={"field": "y"},
        )
    kind = _check_task(task, y_arr)
    primary = check_metric(metric or primary_metric(kind), kind)
    p = predict(model, X, y_arr, kind)
    metrics = compute(p)
    report = EvaluationReport(
        task=kind,
        n=len(y_arr),
        primary_metric=primary,
        metrics=metrics,
        model=type(model).__name__,
        data_digest=data_digest(X, y_arr),
        created_at=datetime.now(UTC).isoformat(),
        baselines={k: dict(v) for k, v in (baselines or {}).items()},
    )
    if kind == "classification":
        report.per_class, report.confusion = _per_class(p)
        report.calibration = _calibration(p)
    report.slices = _slices(p, slices, X, attributes or {}, primary, bands)
    report.worst, report.thumbnails = _worst(p, X, worst)
    report.lift = lift_over(metrics, report.baselines, primary)
    return report
