"""Classification metrics from labels and predictions, overall, per model version and per
slice; and the confidence-based estimate of accuracy used before labels arrive.

The estimate assumes calibrated probabilities (as confidence-based performance estimation
does): the expected accuracy of a prediction is its top-class probability, so the window's
expected accuracy is the mean confidence. It is labelled an estimate wherever it is shown.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = ["MAX_SLICES", "classification", "estimated", "grouped"]

MAX_SLICES = 20


def classification(truth: Sequence[str], predicted: Sequence[str]) -> dict[str, Any]:
    """Accuracy, macro precision / recall / F1 and the confusion matrix (small)."""
    y = np.asarray(truth, dtype=object).astype(str)
    p = np.asarray(predicted, dtype=object).astype(str)
    n = len(y)
    if n == 0:
        return {"labelled": 0}
    labels = sorted(set(y.tolist()) | set(p.tolist()))
    index = {k: i for i, k in enumerate(labels)}
    matrix = np.zeros((len(labels), len(labels)), dtype=np.int64)
    np.add.at(matrix, ([index[v] for v in y], [index[v] for v in p]), 1)
    tp = np.diag(matrix).astype(np.float64)
    predicted_n = matrix.sum(axis=0).astype(np.float64)
    actual_n = matrix.sum(axis=1).astype(np.float64)
    precision = np.divide(tp, predicted_n, out=np.zeros_like(tp), where=predicted_n > 0)
    recall = np.divide(tp, actual_n, out=np.zeros_like(tp), where=actual_n > 0)
    denom = precision + recall
    f1 = np.divide(2 * precision * recall, denom, out=np.zeros_like(tp), where=denom > 0)
    out: dict[str, Any] = {
        "labelled": n,
        "accuracy": float(tp.sum() / n),
        "precision_macro": float(precision.mean()),
        "recall_macro": float(recall.mean()),
        "f1_macro": float(f1.mean()),
    }
    if len(labels) <= 20:
        out["confusion"] = {"labels": labels, "matrix": matrix.tolist()}
    return out


def grouped(
    keys: NDArray[Any], truth: NDArray[Any], predicted: NDArray[Any]
) -> dict[str, dict[str, Any]]:
    """``classification`` per key (model version or slice value), the most frequent first."""
    text = np.asarray([str(k) for k in keys], dtype=object)
    values, counts = np.unique(text.astype(str), return_counts=True)
    order = np.argsort(-counts, kind="stable")[:MAX_SLICES]
    out: dict[str, dict[str, Any]] = {}
    for i in order:
        mask = text == values[i]
        metrics = classification(truth[mask].tolist(), predicted[mask].tolist())
        metrics.pop("confusion", None)
        out[str(values[i])] = metrics
    return out


def estimated(confidence: NDArray[np.float64]) -> float | None:
    """Expected accuracy: the mean top-class probability (``None`` without probabilities)."""
    finite = confidence[np.isfinite(confidence)]
    return float(finite.mean()) if len(finite) else None
