"""Metric names, their direction, and how each is computed from predictions."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from pomona.errors import InvalidInputError
from pomona.training._data import Task

__all__ = [
    "CLASSIFICATION",
    "REGRESSION",
    "Predictions",
    "check_metric",
    "compute",
    "higher_is_better",
    "predict",
    "primary_metric",
]

CLASSIFICATION = (
    "accuracy",
    "balanced_accuracy",
    "f1_macro",
    "precision_macro",
    "recall_macro",
    "roc_auc",
    "log_loss",
)
REGRESSION = ("mae", "rmse", "r2")
_LOWER_IS_BETTER = frozenset({"log_loss", "mae", "rmse"})


@dataclass(frozen=True)
class Predictions:
    """A model's outputs on one data set: labels (or values) and class probabilities."""

    y_true: NDArray[Any]
    y_pred: NDArray[Any]
    proba: NDArray[np.float64] | None
    labels: NDArray[Any] | None
    """Class labels, in the order of ``proba``'s columns."""

    def per_example_loss(self) -> NDArray[np.float64]:
        """Cross-entropy per example (0/1 error without probabilities); absolute error."""
        if self.labels is None:
            diff = self.y_true.astype(float) - self.y_pred.astype(float)
            return np.asarray(np.abs(diff), dtype=np.float64)
        if self.proba is None:
            return np.asarray(self.y_true != self.y_pred, dtype=np.float64)
        index = {label: i for i, label in enumerate(self.labels.tolist())}
        cols = np.array([index.get(v, -1) for v in self.y_true.tolist()])
        p = np.where(cols >= 0, self.proba[np.arange(len(cols)), np.maximum(cols, 0)], 0.0)
        return np.asarray(-np.log(np.clip(p, 1e-15, 1.0)), dtype=np.float64)

    def subset(self, mask: NDArray[np.bool_]) -> Predictions:
        proba = None if self.proba is None else self.proba[mask]
        return Predictions(self.y_true[mask], self.y_pred[mask], proba, self.labels)


def predict(model: Any, X: Any, y: NDArray[Any], task: Task) -> Predictions:
    """Run ``model`` on ``X`` (``predict``, and ``predict_proba`` for classifiers)."""
    y_pred = np.asarray(model.predict(X))
    if task == "regression":
        return Predictions(y, y_pred.reshape(-1), None, None)
    proba = None
    labels = getattr(model, "classes_", None)
    if hasattr(model, "predict_proba") and labels is not None:
        proba = np.asarray(model.predict_proba(X), dtype=np.float64)
        proba = proba / np.clip(proba.sum(axis=1, keepdims=True), 1e-12, None)  # float32 models
    labels = np.asarray(labels) if labels is not None else np.unique(np.concatenate([y, y_pred]))
    return Predictions(y, y_pred, proba, labels)


def higher_is_better(metric: str) -> bool:
    return metric not in _LOWER_IS_BETTER


def primary_metric(task: Task) -> str:
    return "accuracy" if task == "classification" else "r2"


def check_metric(metric: str, task: Task) -> str:
    known = CLASSIFICATION if task == "classification" else REGRESSION
    if metric not in known:
        raise InvalidInputError(
            f"Unknown {task} metric '{metric}'.",
            hint=f"Use one of: {', '.join(known)}.",
            details={"field": "metric"},
        )
    return metric


def _roc_auc(p: Predictions) -> float:
    from sklearn.metrics import roc_auc_score

    if p.proba is None or p.labels is None or len(np.unique(p.y_true)) < 2:
        return float("nan")
    if len(p.labels) == 2:
        return float(roc_auc_score(p.y_true == p.labels[1], p.proba[:, 1]))
    if set(np.unique(p.y_true).tolist()) != set(p.labels.tolist()):
        return float("nan")  # a class is missing from this (slice of the) data
    return float(roc_auc_score(p.y_true, p.proba, multi_class="ovr", labels=p.labels))


def _log_loss(p: Predictions) -> float:
    from sklearn.metrics import log_loss

    if p.proba is None or p.labels is None:
        return float("nan")
    return float(log_loss(p.y_true, p.proba, labels=p.labels))


def _sk(name: str, **kwargs: Any) -> Callable[[Predictions], float]:
    def fn(p: Predictions) -> float:
        import sklearn.metrics as m

        return float(getattr(m, name)(p.y_true, p.y_pred, **kwargs))

    return fn


def _rmse(p: Predictions) -> float:
    diff = p.y_true.astype(float) - p.y_pred.astype(float)
    return float(np.sqrt(np.mean(diff**2)))


_FUNCTIONS: dict[str, Callable[[Predictions], float]] = {
    "accuracy": lambda p: float(np.mean(p.y_true == p.y_pred)),
    "balanced_accuracy": _sk("balanced_accuracy_score"),
    "f1_macro": _sk("f1_score", average="macro", zero_division=0),
    "precision_macro": _sk("precision_score", average="macro", zero_division=0),
    "recall_macro": _sk("recall_score", average="macro", zero_division=0),
    "roc_auc": _roc_auc,
    "log_loss": _log_loss,
    "mae": lambda p: float(np.mean(np.abs(p.y_true.astype(float) - p.y_pred.astype(float)))),
    "rmse": _rmse,
    "r2": _sk("r2_score"),
}


def compute(p: Predictions, metrics: tuple[str, ...] | None = None) -> dict[str, float]:
    """The task's metrics (or ``metrics``) on ``p``; NaN where one is undefined."""
    names = metrics or (CLASSIFICATION if p.labels is not None else REGRESSION)
    out = {}
    for name in names:
        if len(p.y_true) == 0 or (name == "r2" and len(p.y_true) < 2):
            out[name] = float("nan")
            continue
        with warnings.catch_warnings():  # a slice with one class: the value says enough
            warnings.simplefilter("ignore")
            out[name] = _FUNCTIONS[name](p)
    return out
