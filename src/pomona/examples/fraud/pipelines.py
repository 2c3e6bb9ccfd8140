"""The bank's fraud pipelines, built from the lifecycle steps: what ``pomona demo fraud``
runs.

``train_fraud``: ingest the transactions folder (CSV files, label ``is_fraud``), validate,
prepare (drop the ids and the timestamp, one-hot encode merchant category and country),
split, train a scaled logistic regression, tune a forest, register the best, promote it.
``retrain_fraud``: the same on the newest labelled transactions (the folder read
again), the gates as a check, and a canary on the deployment the alert came from.
"""

from __future__ import annotations

from typing import Any

from pomona import steps
from pomona.pipelines import pipeline

__all__ = ["FOREST", "FOREST_SPACE", "LINEAR", "PREPARE", "retrain_fraud", "train_fraud"]

PREPARE: dict[str, Any] = {
    "transform": "Chain",
    "params": {
        "steps": [
            {
                "transform": "DropColumns",
                "params": {"columns": ["transaction_id", "timestamp", "card_id"]},
            },
            {
                "transform": "EncodeCategories",
                "params": {"method": "onehot", "columns": ["merchant_category", "country"]},
            },
        ]
    },
}
"""Ids and time say nothing a model should learn; categories become 0/1 columns."""

LINEAR: dict[str, Any] = {
    "estimator": "sklearn.linear_model.LogisticRegression",
    "scale": True,
    "params": {"max_iter": 2000},
}
FOREST: dict[str, Any] = {
    "estimator": "sklearn.ensemble.RandomForestClassifier",
    "params": {"random_state": 0, "n_jobs": 1},
}
FOREST_SPACE: dict[str, Any] = {
    "n_estimators": {"low": 40, "high": 160},
    "max_depth": [8, 16, 24],
    "min_samples_leaf": {"low": 1, "high": 4},
}


def _candidate(
    dataset: str, source: str | None, n_trials: int, folds: int, seed: int
) -> tuple[Any, Any]:
    raw = steps.ingest(dataset, source, labels="is_fraud")
    data = steps.split(steps.prepare(steps.validate(raw), PREPARE), test=0.25, val=0.1, seed=seed)
    steps.train(data, LINEAR)
    best = steps.tune(
        data, FOREST, FOREST_SPACE, n_trials=n_trials, folds=folds, study=f"{dataset}-forest"
    )
    return best, data


@pipeline
def train_fraud(
    source: str | None = None,
    dataset: str = "transactions",
    model: str = "fraud",
    n_trials: int = 6,
    folds: int = 3,
    seed: int = 0,
) -> None:
    """From the transactions folder to a champion that passed the promotion gates."""
    best, data = _candidate(dataset, source, n_trials, folds, seed)
    steps.promote(steps.register(best, model, data), to="champion")


@pipeline
def retrain_fraud(
    event: dict[str, Any] | None = None,
    source: str | None = None,
    dataset: str = "transactions",
    model: str = "fraud",
    deployment: str = "fraud-prod",
    n_trials: int = 6,
    folds: int = 3,
    seed: int = 0,
    canary_steps: list[int] | None = None,
    interval_s: float = 60.0,
    min_samples: int = 200,
    min_feedback: int = 50,
    max_p99_ratio: float = 1.5,
) -> None:
    """After an alert: retrain on the newest labelled transactions, check, canary."""
    target = str((event or {}).get("deployment") or deployment)
    best, data = _candidate(dataset, source, n_trials, folds, seed)
    steps.canary_release(
        best,
        model,
        data,
        target,
        canary_steps=canary_steps,
        interval_s=interval_s,
        min_samples=min_samples,
        min_feedback=min_feedback,
        max_p99_ratio=max_p99_ratio,
    )
