"""What the gates judge with: the test data, the recorded report and baselines, the loaded
models' predictions (``pomona.training.gates`` runs the gates on them)."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from pomona.errors import InvalidInputError, NotFoundError
from pomona.registry.base import ModelRegistry
from pomona.registry.records import ModelVersion
from pomona.tracking.base import TrackingAPI
from pomona.training._checks import GateResult
from pomona.training._data import Task
from pomona.training._metrics import Predictions, compute, predict
from pomona.training._records import find_test_data, read_evaluation
from pomona.training.evaluation import EvaluationReport, _slice_values

__all__ = [
    "baselines_for",
    "champion_predictions",
    "head",
    "load_timed",
    "native_model",
    "predictions",
    "recorded_report",
    "slice_columns",
    "test_data",
]


class _Native:
    """A loaded registry model with ``predict``/``predict_proba``/``classes_``."""

    def __init__(self, loaded: Any) -> None:
        self._loaded = loaded
        self.classes_ = getattr(loaded.model, "classes_", None)

    def predict(self, X: Any) -> Any:
        return self._loaded.predict(X)

    def predict_proba(self, X: Any) -> Any:
        return self._loaded.predict_proba(X)


def native_model(loaded: Any) -> Any:
    """The object to evaluate: the native model when it predicts labels itself."""
    model = loaded.model
    return model if hasattr(model, "predict") else _Native(loaded)


def test_data(
    runs: TrackingAPI,
    version: ModelVersion,
    data: tuple[Any, Any] | None,
    attributes: Mapping[str, Sequence[Any]] | None,
) -> tuple[Any, Any, dict[str, Any]]:
    if data is not None:
        attrs = {k: np.asarray(v) for k, v in (attributes or {}).items()}
        return data[0], np.asarray(data[1]), attrs
    run_id = version.lineage.run_id
    found = find_test_data(runs, run_id) if run_id else None
    if found is None:
        raise InvalidInputError(
            f"{version.ref} has no test data recorded with its training run.",
            hint="Register models trained with ws.train/ws.tune (their run keeps the test "
            "split), or pass data=(X_test, y_test).",
            details={"field": "data"},
        )
    return found


def baselines_for(
    recorded: EvaluationReport | None, y: Any, task: str
) -> tuple[dict[str, Any], str]:
    if recorded is not None and recorded.baselines:
        return recorded.baselines, f"training run {recorded.run_id}"
    # no recorded baselines: the trivial one, on the test labels themselves
    labels = None
    if task == "classification":
        labels, counts = np.unique(y, return_counts=True)
        pred = np.full(len(y), labels[counts.argmax()])
    else:
        pred = np.full(len(y), float(np.mean(y)))
    trivial = Predictions(np.asarray(y), pred, None, labels)
    return {"majority" if labels is not None else "mean": compute(trivial)}, "test labels"


def slice_columns(X: Any, attrs: dict[str, Any], slices: Sequence[str] | None) -> dict[str, Any]:
    names = list(attrs) if slices is None else list(slices)
    return {name: _slice_values(name, X, attrs, 3) for name in names}


def predictions(loaded: Any, X: Any, y: Any, task: Task) -> Predictions:
    return predict(native_model(loaded), X, y, task)


def load_timed(registry: ModelRegistry, ref: str) -> tuple[Any, float]:
    start = time.perf_counter()
    loaded = registry.load(ref)
    return loaded, (time.perf_counter() - start) * 1000


def champion_predictions(
    registry: ModelRegistry,
    champion: ModelVersion | None,
    signature: GateResult,
    X: Any,
    y: Any,
    task: Task,
) -> tuple[Predictions | None, str | None]:
    """The champion's predictions on the candidate's test data, or why there are none."""
    if champion is None:
        return None, None
    if not signature.passed:
        return None, "the signatures differ"
    try:
        return predictions(registry.load(champion.ref), X, y, task), None
    except (ValueError, TypeError, KeyError, IndexError) as exc:
        return None, f"{champion.ref} cannot predict on this data ({exc})"


def head(X: Any) -> Any:
    return X.iloc[:1] if hasattr(X, "iloc") else X[:1]


def recorded_report(runs: TrackingAPI, version: ModelVersion) -> EvaluationReport | None:
    """The evaluation report of the version's training run, if it has one."""
    if not version.lineage.run_id:
        return None
    try:
        return read_evaluation(runs, version.lineage.run_id)
    except NotFoundError:
        return None
