"""Training, tuning, evaluation and promotion gates through the public SDK, on every backend
pair and both transports (the REST API runs the gates and keeps the study journals)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from pomona import training
from pomona.client import Workspace
from pomona.errors import InvalidInputError, NotFoundError
from pomona.training.gates import PromotionRefusedError
from pomona.training.studies import find_studies, read_evaluation_report, read_study


@pytest.fixture(scope="module")
def cancer() -> tuple[pd.DataFrame, np.ndarray]:
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    return X, y.to_numpy()


def _lr(C: float = 1.0) -> training.ModelSpec:
    return training.sklearn(make_pipeline(StandardScaler(), LogisticRegression(C=C)))


def test_train_then_evaluate_store_reports_with_lineage(ws: Workspace, cancer: Any) -> None:
    X, y = cancer
    result = ws.train(_lr(), (X, y), dataset="cancer:1", slices=["mean radius"])
    assert result.metrics["accuracy"] >= 0.95 and result.lift["majority"] > 0.3
    run = ws.runs.get_run(result.run_id)
    assert (run.params["dataset.train"], run.tags["pomona.kind"]) == ("cancer:1", "training")
    stored = read_evaluation_report(ws.runs, result.run_id)
    assert stored["metrics"]["accuracy"] == pytest.approx(result.metrics["accuracy"])
    assert [r["n"] for r in stored["slices"]["mean radius"]] and stored["baselines"]
    X_test, y_test = result.data.X_test, result.data.y_test
    groups = np.where(X_test["mean texture"] > 19, "rough", "smooth")
    report = ws.evaluate(
        result,
        (X_test, y_test),
        slices=["texture"],
        dataset="cancer:2",
        attributes={"texture": groups},
    )
    [evaluation] = ws.runs.search_runs("tags.`pomona.kind` = 'evaluation'").items
    assert evaluation.params["dataset.test"] == "cancer:2"
    again = read_evaluation_report(ws.runs, evaluation.run_id)
    assert {r["value"] for r in again["slices"]["texture"]} == {"rough", "smooth"}
    assert again["metrics"]["accuracy"] == pytest.approx(report.metrics["accuracy"])
    with pytest.raises(NotFoundError, match="has no evaluation report"):
        read_evaluation_report(ws.runs, ws.start_run("empty").run_id)


def test_tune_keeps_its_journal_in_the_workspace(ws: Workspace, cancer: Any) -> None:
    X, y = cancer
    study = ws.tune(
        _lr(),
        {"logisticregression__C": (0.01, 10.0, "log")},
        (X, y),
        n_trials=3,
        folds=2,
        study="cancer-lr",
        pruner="none",
    )
    assert study.n_trials == 3 and study.best is not None
    trials = ws.runs.search_runs("tags.`pomona.kind` = 'trial'").items
    assert {t.parent_run_id for t in trials} == {study.run_id} and len(trials) == 3
    entries = ws.study_journal.read_entries("cancer-lr")
    assert sum(1 for e in entries if e["op_code"] == 4) == 3  # three trials created
    summary = read_study(ws.runs, "cancer-lr")
    assert summary["best_value"] == pytest.approx(study.best_value)
    assert find_studies(ws.runs)[0]["study"] == "cancer-lr"
    with pytest.raises(NotFoundError, match="No study is named 'nope'"):
        read_study(ws.runs, "nope")


def test_promotion_gates_guard_the_champion(ws: Workspace, cancer: Any) -> None:
    X, y = cancer
    first = ws.train(_lr(), (X, y))
    v1 = ws.models.register("cancer", first.model, input_example=X.head(3), run_id=first.run_id)
    report = ws.models.promote("cancer", v1.version)
    assert report.passed and report.digest
    assert {g.name for g in report.gates} == {
        "signature",
        "primary_metric",
        "baselines",
        "latency",
        "slices",
    }
    assert ws.models.get_model("cancer").aliases == {"champion": v1.version}
    narrow = X.drop(columns=["worst area"])
    second = ws.train(_lr(), (narrow, y))
    v2 = ws.models.register(
        "cancer", second.model, input_example=narrow.head(3), run_id=second.run_id
    )
    history = list(ws.models.list_alias_history("cancer"))
    with pytest.raises(PromotionRefusedError, match="signature") as refused:
        ws.models.promote("cancer", v2.version)
    assert "signature" in refused.value.details["failed"]
    assert not refused.value.report.passed
    with pytest.raises(NotFoundError, match="no version 99"):
        ws.models.promote("cancer", 99)
    with pytest.raises(InvalidInputError, match="needs a reason"):
        ws.models.promote("cancer", v2.version, force=True)
    assert ws.models.get_model("cancer").aliases == {"champion": v1.version}
    assert list(ws.models.list_alias_history("cancer")) == history
    forced = ws.models.promote("cancer", v2.version, force=True, reason="new sensor layout")
    assert forced.forced and not forced.passed
    move = ws.models.list_alias_history("cancer").items[0]
    assert (move.to_version, move.forced, move.reason) == (v2.version, True, "new sensor layout")
    assert move.gate_report_digest == forced.digest
    stored = ws.models.get_gate_report("cancer", forced.digest)
    assert stored["forced"] is True and stored["reason"] == "new sensor layout"
