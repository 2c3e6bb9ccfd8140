"""LightGBM through the same training path (optional extra ``pomona[lightgbm]``)."""

from __future__ import annotations

from typing import Any

from pomona import training
from pomona.client import Workspace


def test_lightgbm_trains_and_is_logged_in_its_own_format(
    tws: Workspace, cancer: tuple[Any, Any]
) -> None:
    X, y = cancer
    result = tws.train(training.lightgbm(n_estimators=60, learning_rate=0.1, n_jobs=1), (X, y))
    assert type(result.model).__name__ == "LGBMClassifier"
    assert result.metrics["accuracy"] >= 0.9
    assert result.lift["majority"] > 0.25
    run = tws.runs.get_run(result.run_id)
    assert run.tags["model.flavor"] == "lightgbm" and run.params["n_estimators"] == "60"
    assert "model/model.txt" in {a.path for a in tws.runs.list_artifacts(result.run_id)}


def test_lightgbm_regression() -> None:
    import numpy as np

    spec = training.lightgbm(n_estimators=10)
    assert type(spec.build("regression")).__name__ == "LGBMRegressor"
    assert spec.with_params(num_leaves=7).params == {"n_estimators": 10, "num_leaves": 7}
    assert np.isfinite(spec.build("regression").get_params()["learning_rate"])
