"""The apple farm's pipelines, built from the lifecycle steps: what ``pomona demo apples``
runs, and what a farm would run itself.

    pomona run pomona.examples.apples.pipelines:train_apples --param source=photos/
    pomona monitors create apples-prod --min-accuracy 0.75 \\
        --on-alert pomona.examples.apples.pipelines:retrain_apples

``train_apples``: ingest the photo folder (broken files quarantined), validate, prepare
(one standard resolution), split, train a baseline, tune a forest on the photos' image
features, register the best, and promote it through the gates.
``retrain_apples``: the same on the latest labelled photos (the source of the last
ingest, read again), then the gates as a check and a canary rollout on the deployment
the alert came from; the canary promotes or rolls back on live evidence.
"""

from __future__ import annotations

from typing import Any

from pomona import steps
from pomona.pipelines import pipeline

__all__ = ["FOREST", "FOREST_SPACE", "LINEAR", "retrain_apples", "train_apples"]

FOREST: dict[str, Any] = {
    "estimator": "sklearn.ensemble.RandomForestClassifier",
    "images": "features",
    "params": {"random_state": 0, "n_jobs": 1},
}
"""A random forest on the photos' image features (``ImageFeatures``)."""

FOREST_SPACE: dict[str, Any] = {
    "n_estimators": {"low": 40, "high": 160},
    "max_depth": [8, 12, 20],
    "min_samples_leaf": {"low": 1, "high": 4},
}

LINEAR: dict[str, Any] = {
    "estimator": "sklearn.linear_model.LogisticRegression",
    "images": "features",
    "params": {"max_iter": 2000},
}
"""The simple candidate the forest has to beat (besides the automatic baselines)."""


def _candidate(
    dataset: str, source: str | None, size: int, n_trials: int, folds: int, seed: int
) -> tuple[Any, Any]:
    """ingest → validate → prepare → split → a linear candidate and a tuned forest."""
    raw = steps.ingest(dataset, source)
    prepared = steps.prepare(
        steps.validate(raw), {"transform": "ImageStandardize", "params": {"size": size}}
    )
    data = steps.split(prepared, test=0.25, val=0.1, seed=seed)
    steps.train(data, LINEAR, slices=["brightness"])
    best = steps.tune(
        data,
        FOREST,
        FOREST_SPACE,
        n_trials=n_trials,
        folds=folds,
        study=f"{dataset}-forest",
        slices=["brightness"],
    )
    return best, data


@pipeline
def train_apples(
    source: str | None = None,
    dataset: str = "apples",
    model: str = "apples",
    size: int = 48,
    n_trials: int = 6,
    folds: int = 3,
    seed: int = 0,
) -> None:
    """Day 0: from the photo folder to a champion that passed the promotion gates."""
    best, data = _candidate(dataset, source, size, n_trials, folds, seed)
    steps.promote(steps.register(best, model, data), to="champion")


@pipeline
def retrain_apples(
    event: dict[str, Any] | None = None,
    source: str | None = None,
    dataset: str = "apples",
    model: str = "apples",
    deployment: str = "apples-prod",
    size: int = 48,
    n_trials: int = 6,
    folds: int = 3,
    seed: int = 0,
    canary_steps: list[int] | None = None,
    interval_s: float = 60.0,
    min_samples: int = 200,
    min_feedback: int = 50,
    max_p99_ratio: float = 1.5,
) -> None:
    """After an alert: retrain on the latest labelled photos, check the gates, canary.

    ``event`` is the ``alert.fired`` event when a trigger starts it (its deployment wins
    over ``deployment``).
    """
    target = str((event or {}).get("deployment") or deployment)
    best, data = _candidate(dataset, source, size, n_trials, folds, seed)
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
