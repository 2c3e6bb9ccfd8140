"""Training on scikit-learn's digits and breast_cancer: accuracy floors a correct pipeline
reaches, baselines with their lift, and what the run records."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

from pomona import training
from pomona.client import Workspace
from pomona.types import RunStatus


def test_digits_reaches_095_on_its_test_split(tws: Workspace) -> None:
    X, y = load_digits(return_X_y=True)
    spec = training.sklearn(make_pipeline(StandardScaler(), SVC(gamma="scale")))
    result = tws.train(spec, (X, y), dataset="digits:1", test_size=0.25, seed=0)
    assert result.metrics["accuracy"] >= 0.95
    assert result.baselines["majority"]["accuracy"] < 0.15
    assert result.lift["majority"] > 0.8
    run = tws.runs.get_run(result.run_id)
    assert run.status is RunStatus.FINISHED
    assert run.params["dataset.train"] == "digits:1" and run.params["task"] == "classification"
    assert run.metrics["test.accuracy"] == pytest.approx(result.metrics["accuracy"])
    assert run.metrics["lift.majority"] == pytest.approx(result.lift["majority"])
    paths = {a.path for a in tws.runs.list_artifacts(result.run_id)}
    assert {"evaluation/report.json", "evaluation/test_data.npz", "model/model.skops"} <= paths


def test_breast_cancer_beats_both_baselines(tws: Workspace, cancer: tuple[Any, Any]) -> None:
    X, y = cancer
    spec = training.sklearn(make_pipeline(StandardScaler(), LogisticRegression(C=0.5)))
    result = tws.train(spec, (X, y), seed=0)
    assert result.metrics["accuracy"] >= 0.95
    assert result.metrics["roc_auc"] >= 0.98
    assert set(result.baselines) == {"majority", "linear"}
    assert result.lift["majority"] > 0.3
    assert "accuracy" in result.summary() and "lift over baselines" in result.summary()


def test_regression_gets_mean_and_linear_baselines(tws: Workspace) -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 3))
    y = X @ np.array([1.0, -2.0, 0.5]) + rng.normal(scale=0.1, size=200)
    from sklearn.ensemble import RandomForestRegressor

    spec = training.sklearn(RandomForestRegressor, n_estimators=20, random_state=0)
    result = tws.train(spec, (X, y), task="regression")
    assert result.report.primary_metric == "r2"
    assert set(result.baselines) == {"mean", "linear"}
    assert result.lift["mean"] > 0.5
    assert result.lift["linear"] < 0  # a forest does not beat the true linear model here


def test_a_failing_fit_marks_the_run_failed(tws: Workspace) -> None:
    from pomona.errors import InvalidInputError

    X = np.zeros((40, 2))
    y = np.array(["a", "b"] * 20)
    with pytest.raises(InvalidInputError, match="Cannot build LogisticRegression"):
        tws.train(training.sklearn(LogisticRegression, no_such_param=1), (X, y))
    [run] = tws.runs.search_runs("name = 'LogisticRegression'").items
    assert run.status is RunStatus.FAILED
