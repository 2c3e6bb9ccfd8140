"""Automatic baselines for every task: a trivial one and a simple linear model."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from pomona.training._data import TrainingData
from pomona.training._metrics import compute, predict

__all__ = ["BASELINES", "baseline_models", "fit_baselines"]

BASELINES = {
    "classification": ("majority", "linear"),
    "regression": ("mean", "linear"),
}


def baseline_models(task: str) -> dict[str, Any]:
    """Unfitted baselines: majority class / mean, and a scaled logistic / ridge regression."""
    from sklearn.dummy import DummyClassifier, DummyRegressor
    from sklearn.linear_model import LogisticRegression, Ridge
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    if task == "classification":
        return {
            "majority": DummyClassifier(strategy="most_frequent"),
            "linear": make_pipeline(StandardScaler(), LogisticRegression(max_iter=500)),
        }
    return {
        "mean": DummyRegressor(strategy="mean"),
        "linear": make_pipeline(StandardScaler(), Ridge()),
    }


THUMBNAIL = 8
"""Images are seen by the linear baseline as ``8 x 8`` thumbnails (mean of each cell)."""


def _tabular(X: Any) -> Any:
    """Baselines see images as small thumbnails' pixel vectors and tables as numbers."""
    if hasattr(X, "select_dtypes"):
        return X.select_dtypes(include="number").to_numpy(dtype=float)
    arr = np.asarray(X)
    if arr.ndim == 4:
        arr = _thumbnails(arr.astype(float))
    return arr.reshape(len(arr), -1).astype(float) if arr.ndim != 2 else arr


def _thumbnails(images: Any) -> Any:
    """Mean-pool ``n x h x w x c`` images to at most ``THUMBNAIL`` cells a side: raw pixels
    of a 64-pixel photo make a 12,288-feature regression that takes a minute to fit."""
    n, h, w, c = images.shape
    ch, cw = max(1, h // THUMBNAIL), max(1, w // THUMBNAIL)
    rows, cols = h // ch, w // cw
    cropped = images[:, : rows * ch, : cols * cw]
    return cropped.reshape(n, rows, ch, cols, cw, c).mean(axis=(2, 4))


def fit_baselines(data: TrainingData) -> dict[str, dict[str, float]]:
    """Each baseline's metrics on the test split, fitted on the training split."""
    X_train, X_test = _tabular(data.X_train), _tabular(data.X_test)
    out = {}
    for name, model in baseline_models(data.task).items():
        if name == "linear" and X_train.shape[1] == 0:
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # convergence warnings: a baseline need not converge
            model.fit(X_train, data.y_train)
            out[name] = compute(predict(model, X_test, data.y_test, data.task))
    return out
