"""Hyperparameter studies: trials as nested runs, pruning, summaries, resuming, bad input."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.tree import DecisionTreeClassifier

from pomona import training
from pomona.client import Workspace
from pomona.errors import InvalidInputError
from pomona.training.studies import find_studies, read_study


def _lr() -> training.ModelSpec:
    return training.sklearn(make_pipeline(StandardScaler(), LogisticRegression()))


def test_study_records_trials_best_history_and_importances(
    tws: Workspace, cancer: tuple[Any, Any]
) -> None:
    space = {
        "logisticregression__C": (1e-3, 10.0, "log"),
        "logisticregression__fit_intercept": [True, False],
    }
    study = tws.tune(
        _lr(), space, cancer, n_trials=6, folds=3, study="lr", sampler="random", pruner="none"
    )
    assert study.n_trials == 6 and study.states == {"complete": 6}
    assert 1e-3 <= study.best_params["logisticregression__C"] <= 10.0
    assert study.best_value == max(h["value"] for h in study.history)
    assert [h["number"] for h in study.history] == list(range(6))
    assert set(study.importances) == set(space)
    trials = tws.runs.search_runs(f"parent_run_id = '{study.run_id}'", limit=100).items
    kinds = sorted(r.tags["pomona.kind"] for r in trials)
    assert kinds == ["training"] + ["trial"] * 6  # the refitted best model and six trials
    best_trial = tws.runs.get_run(study.best_trial_run_id)
    assert best_trial.metrics["value"] == pytest.approx(study.best_value)
    assert len(tws.runs.get_metric_history(best_trial.run_id, "cv.accuracy")) == 3
    assert study.best is not None and study.best.metrics["accuracy"] > 0.9
    summary = read_study(tws.runs, "lr")
    assert summary["best_params"] == json.loads(json.dumps(study.best_params))
    assert summary["status"] == "finished"
    [listed] = find_studies(tws.runs)
    assert (listed["study"], listed["n_trials"]) == ("lr", 6)
    assert tws.runs.get_run(study.run_id).metrics["best_value"] == pytest.approx(study.best_value)


@pytest.mark.parametrize("pruner", ["median", "hyperband"])
def test_pruners_stop_poor_trials(tws: Workspace, cancer: tuple[Any, Any], pruner: str) -> None:
    spec = training.sklearn(DecisionTreeClassifier, random_state=0)
    space = {"max_depth": (1, 8), "min_samples_leaf": (1, 120)}
    study = tws.tune(spec, space, cancer, n_trials=16, folds=4, pruner=pruner, refit=False, seed=1)
    assert study.n_trials == 16
    assert study.states.get("pruned", 0) >= 1
    pruned = [h for h in study.history if h["state"] == "pruned"]
    run = tws.runs.get_run(pruned[0]["run_id"])
    assert run.tags["trial.state"] == "pruned"
    folds_run = [len(tws.runs.get_metric_history(h["run_id"], "cv.accuracy")) for h in pruned]
    assert all(1 <= n <= 4 for n in folds_run)
    if pruner == "median":
        assert min(folds_run) < 4  # stopped before its last fold


def test_a_study_resumes_under_its_name(tws: Workspace, cancer: tuple[Any, Any]) -> None:
    space = {"logisticregression__C": (0.01, 1.0)}
    tws.tune(_lr(), space, cancer, n_trials=2, folds=2, study="again", refit=False)
    second = tws.tune(_lr(), space, cancer, n_trials=3, folds=2, study="again", refit=False)
    assert second.n_trials == 5


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"space": {}}, "search space is empty"),
        ({"space": {"C": "big"}}, "not a range or a list of choices"),
        ({"space": {"C": (1, 2, "sqrt")}}, "may only be 'log'"),
        ({"sampler": "grid"}, "Unknown sampler 'grid'"),
        ({"pruner": "asha"}, "Unknown pruner 'asha'"),
        ({"metric": "rmse"}, "Unknown classification metric 'rmse'"),
        ({"n_trials": 0}, "n_trials must be at least 1"),
        ({"study": "a/b"}, "not a study name"),
    ],
    ids=["empty", "value", "scale", "sampler", "pruner", "metric", "trials", "name"],
)
def test_bad_studies_are_refused_before_any_run(
    tws: Workspace, cancer: tuple[Any, Any], kwargs: dict[str, Any], match: str
) -> None:
    args = {"space": {"logisticregression__C": (0.1, 1.0)}, **kwargs}
    space = args.pop("space")
    with pytest.raises(InvalidInputError, match=match):
        tws.tune(_lr(), space, cancer, **args)
    assert tws.runs.search_runs().items == []
