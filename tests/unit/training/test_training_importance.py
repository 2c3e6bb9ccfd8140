"""Feature importance (permutation and native) and selection by a threshold."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import RandomForestClassifier

from pomona import training
from pomona.client import Workspace
from pomona.errors import InvalidInputError
from pomona.training.importance import feature_importance


def _data() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    n = 300
    df = pd.DataFrame(
        {"signal": rng.normal(size=n), "noise_a": rng.normal(size=n), "noise_b": rng.normal(size=n)}
    )
    df["label"] = (df["signal"] + rng.normal(scale=0.3, size=n) > 0).astype(int)
    return df


def test_importance_ranks_the_signal_first(tws: Workspace) -> None:
    spec = training.sklearn(RandomForestClassifier, n_estimators=15, random_state=0)
    result = tws.train(spec, _data(), target="label")
    imp = feature_importance(result)
    assert imp.ranked()[0][0] == "signal"
    assert imp.native is not None and imp.native[0] == max(imp.native)
    assert imp.to_dict()["features"][0]["name"] == "signal"


def test_selection_drops_noise_retrains_and_reports_the_change(tws: Workspace) -> None:
    spec = training.sklearn(RandomForestClassifier, n_estimators=15, random_state=0)
    result = tws.train(spec, _data(), target="label")
    selected = tws.select_features(result, threshold=0.3, method="native")
    assert selected.kept == ["signal"]
    assert selected.dropped == ["noise_a", "noise_b"]
    assert selected.result.data.feature_names == ["signal"]
    assert selected.after["accuracy"] >= selected.before["accuracy"] - 0.05
    assert selected.change["accuracy"] == pytest.approx(
        selected.after["accuracy"] - selected.before["accuracy"]
    )
    run = tws.runs.get_run(selected.result.run_id)
    assert run.params["selection.source_run"] == result.run_id
    assert "selection.json" in {a.path for a in tws.runs.list_artifacts(run.run_id)}
    assert "kept 1 of 3 features" in selected.summary()


def test_selection_refuses_an_empty_result_or_unknown_method(tws: Workspace) -> None:
    spec = training.sklearn(RandomForestClassifier, n_estimators=10, random_state=0)
    result = tws.train(spec, _data(), target="label")
    with pytest.raises(InvalidInputError, match="No feature has an importance above 10"):
        tws.select_features(result, threshold=10.0, method="native")
    with pytest.raises(InvalidInputError, match="Unknown importance method 'shap'"):
        tws.select_features(result, method="shap")
