"""Autologging of scikit-learn: every fit becomes a tracked run with params, score, model."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import skops.io
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import pomona
from pomona.client import Workspace


@pytest.fixture
def autologged(tmp_path: Path) -> Iterator[Workspace]:
    ws = pomona.connect(tmp_path / "ws", **{"tracking.flush_interval_s": 0.05})
    ws.autolog()
    yield ws
    ws.autolog(disable=True)
    ws.close()


def test_a_fit_outside_a_run_gets_its_own_run(autologged: Workspace, tmp_path: Path) -> None:
    X, y = load_breast_cancer(return_X_y=True)
    model = LogisticRegression(C=0.5, max_iter=5000).fit(X, y)
    [run] = autologged.runs.search_runs()
    assert run.name == "LogisticRegression"
    assert run.params["C"] == "0.5"
    assert run.metrics["training_score"] == pytest.approx(model.score(X, y))
    assert run.tags["autolog"] == "sklearn"
    path = autologged.runs.download_artifact(run.run_id, "model/model.skops", tmp_path / "m")
    loaded = skops.io.load(path, trusted=skops.io.get_untrusted_types(file=path))
    assert (loaded.predict(X) == model.predict(X)).all()


def test_a_pipeline_inside_a_user_run_logs_once_into_it(autologged: Workspace) -> None:
    X, y = load_breast_cancer(return_X_y=True)
    with autologged.start_run("mine") as run:
        make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(X, y)
    runs = autologged.runs.search_runs()
    assert [r.name for r in runs] == ["mine"]
    assert runs[0].tags["estimator"] == "sklearn.pipeline.Pipeline"
    assert [a.path for a in autologged.runs.list_artifacts(run.run_id)] == ["model/model.skops"]


def test_disabling_restores_fit(autologged: Workspace) -> None:
    autologged.autolog(disable=True)
    X, y = load_breast_cancer(return_X_y=True)
    LogisticRegression(max_iter=5000).fit(X, y)
    assert len(autologged.runs.search_runs()) == 0
