"""Feature importance (permutation and model-native) and selection by a threshold."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from pomona.errors import InvalidInputError
from pomona.training._data import TrainingData, _is_frame
from pomona.training._metrics import higher_is_better
from pomona.training._records import log_json
from pomona.training.base import Tracker
from pomona.training.train import TrainResult, train

__all__ = ["FeatureImportance", "SelectionResult", "feature_importance", "select_features"]

_SCORERS = {
    "accuracy": "accuracy",
    "balanced_accuracy": "balanced_accuracy",
    "f1_macro": "f1_macro",
    "precision_macro": "precision_macro",
    "recall_macro": "recall_macro",
    "roc_auc": "roc_auc_ovr",
    "log_loss": "neg_log_loss",
    "mae": "neg_mean_absolute_error",
    "rmse": "neg_root_mean_squared_error",
    "r2": "r2",
}


@dataclass(frozen=True)
class FeatureImportance:
    """Per feature: the mean (and std) drop of the metric when it is shuffled, and the
    model's own importances (``feature_importances_`` or ``|coef_|``) when it has them."""

    features: list[str]
    permutation: list[float]
    permutation_std: list[float]
    native: list[float] | None
    metric: str

    def ranked(self) -> list[tuple[str, float]]:
        """Features by permutation importance, most important first."""
        return sorted(zip(self.features, self.permutation, strict=True), key=lambda t: -t[1])

    def to_dict(self) -> dict[str, Any]:
        return {
            "metric": self.metric,
            "features": [
                {
                    "name": f,
                    "permutation": p,
                    "permutation_std": s,
                    "native": None if self.native is None else self.native[i],
                }
                for i, (f, p, s) in enumerate(
                    zip(self.features, self.permutation, self.permutation_std, strict=True)
                )
            ],
        }


def _native(model: Any, n: int) -> list[float] | None:
    est = model.steps[-1][1] if hasattr(model, "steps") else model
    values = getattr(est, "feature_importances_", None)
    if values is None and getattr(est, "coef_", None) is not None:
        coef = np.abs(np.asarray(est.coef_))
        values = coef.mean(axis=0) if coef.ndim == 2 else coef
    if values is None or len(values) != n:
        return None
    total = float(np.sum(values))
    return [float(v) / total if total else 0.0 for v in values]


def feature_importance(
    result: TrainResult, *, n_repeats: int = 5, seed: int = 0
) -> FeatureImportance:
    """Importance of each feature of a trained tabular model, measured on its test split."""
    from sklearn.inspection import permutation_importance

    data = result.data
    if data.is_images:
        raise InvalidInputError(
            "Feature importance is for tables; this model was trained on images.",
            details={"field": "result"},
        )
    metric = result.report.primary_metric
    perm = permutation_importance(
        result.model,
        data.X_test,
        data.y_test,
        scoring=_SCORERS[metric],
        n_repeats=n_repeats,
        random_state=seed,
    )
    names = data.feature_names
    return FeatureImportance(
        features=names,
        permutation=[float(v) for v in perm.importances_mean],
        permutation_std=[float(v) for v in perm.importances_std],
        native=_native(result.model, len(names)),
        metric=metric,
    )


@dataclass(frozen=True)
class SelectionResult:
    """What dropping the unimportant features changed."""

    kept: list[str]
    dropped: list[str]
    importance: FeatureImportance
    before: dict[str, float]
    after: dict[str, float]
    result: TrainResult
    """The model retrained on the kept features (its own run)."""

    @property
    def change(self) -> dict[str, float]:
        """Each test metric after minus before."""
        return {k: self.after[k] - self.before[k] for k in self.before if k in self.after}

    def summary(self) -> str:
        metric = self.importance.metric
        better = (
            "better" if (self.change.get(metric, 0) >= 0) == higher_is_better(metric) else "worse"
        )
        return (
            f"kept {len(self.kept)} of {len(self.kept) + len(self.dropped)} features; "
            f"{metric} {self.before[metric]:.4f} -> {self.after[metric]:.4f} ({better})"
        )


def _columns(data: TrainingData, keep: list[int]) -> TrainingData:
    def take(X: Any) -> Any:
        return X.iloc[:, keep] if _is_frame(X) else np.asarray(X)[:, keep]

    return replace(
        data,
        X_train=take(data.X_train),
        X_test=take(data.X_test),
        feature_names=[data.feature_names[i] for i in keep],
    )


def select_features(
    result: TrainResult,
    *,
    tracker: Tracker,
    threshold: float = 0.0,
    method: str = "permutation",
    n_repeats: int = 5,
    seed: int = 0,
) -> SelectionResult:
    """Drop features whose importance is at most ``threshold``, retrain, report the change.

    Args:
        method: ``permutation`` (metric drop when shuffled) or ``native`` (the model's own,
            normalised to sum to 1).
    Raises:
        InvalidInputError: an unknown method, no native importances, or nothing left to keep.
    """
    imp = feature_importance(result, n_repeats=n_repeats, seed=seed)
    if method not in ("permutation", "native"):
        raise InvalidInputError(
            f"Unknown importance method '{method}'.",
            hint="Use 'permutation' or 'native'.",
            details={"field": "method"},
        )
    values = imp.permutation if method == "permutation" else imp.native
    if values is None:
        raise InvalidInputError(
            f"{result.spec.name} has no native importances.",
            hint="Use method='permutation'.",
            details={"field": "method"},
        )
    keep = [i for i, v in enumerate(values) if v > threshold]
    if not keep:
        raise InvalidInputError(
            f"No feature has an importance above {threshold}.",
            hint="Lower the threshold.",
            details={"field": "threshold"},
        )
    reduced = _columns(result.data, keep)
    dropped = [f for i, f in enumerate(imp.features) if i not in set(keep)]
    with tracker.start_run(f"{result.spec.name}-selected") as run:
        retrained = train(
            result.spec, reduced, tracker=tracker, run=run, metric=result.report.primary_metric
        )
        out = SelectionResult(
            [imp.features[i] for i in keep],
            dropped,
            imp,
            dict(result.metrics),
            dict(retrained.metrics),
            retrained,
        )
        run.log_params(
            {
                "selection.threshold": threshold,
                "selection.method": method,
                "selection.source_run": result.run_id,
            }
        )
        summary = {
            **imp.to_dict(),
            "kept": out.kept,
            "dropped": dropped,
            "before": out.before,
            "after": out.after,
            "change": out.change,
        }
        log_json(run, _finite(summary), "selection.json")
    return out


def _finite(value: Any) -> Any:
    from pomona.training.evaluation import _json_safe

    return _json_safe(value)
