"""The dashboard's study, evaluation and gate-report pages, over real HTTP."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler
from sklearn.tree import DecisionTreeClassifier

import pomona
from pomona import training
from pomona.client import Workspace
from pomona.examples import apples


def _flatten(images: Any) -> Any:
    return np.asarray(images, dtype=float).reshape(len(images), -1) / 255.0


def test_study_evaluation_and_gate_pages(
    tmp_path: Path, live_app: Callable[[Workspace], str]
) -> None:
    ws = pomona.connect(tmp_path / "ws", **{"tracking.flush_interval_s": 0.05})
    X, y = load_breast_cancer(return_X_y=True)
    spec = training.sklearn(make_pipeline(StandardScaler(), LogisticRegression()))
    study = ws.tune(
        spec,
        {"logisticregression__C": (0.05, 5.0, "log")},
        (X, y),
        n_trials=3,
        folds=2,
        study="page-study",
        pruner="none",
    )
    assert study.best is not None
    version = ws.models.register(
        "cancer", study.best.model, input_example=X[:2], run_id=study.best.run_id
    )
    gate = ws.models.promote("cancer", version.version)
    images, metas = apples.generate_apples(60, seed=1, size=24)
    grades = np.array([m.grade for m in metas])
    flat = training.sklearn(
        make_pipeline(FunctionTransformer(_flatten), DecisionTreeClassifier(max_depth=3))
    )
    result = ws.train(
        flat,
        (images, grades),
        attributes={"variety": [m.variety for m in metas]},
        slices=["variety"],
        save_model=False,
        name="apples-flat",
    )
    base = live_app(ws)

    page = httpx.get(f"{base}/studies")
    assert page.status_code == 200 and "page-study" in page.text
    page = httpx.get(f"{base}/studies/page-study")
    assert page.status_code == 200
    assert "optimisation history" in page.text and "logisticregression__C" in page.text
    assert f"/runs/{study.best_trial_run_id}" in page.text

    page = httpx.get(f"{base}/evaluations/{result.run_id}")
    assert page.status_code == 200
    for text in ("confusion matrix", "calibration", "variety", "Worst-predicted examples"):
        assert text in page.text
    thumbs = re.findall(r'<img src="([^"]+)"', page.text)
    assert len(thumbs) == len(result.report.worst) > 0
    png = httpx.get(base + thumbs[0].replace("&amp;", "&"))
    assert png.status_code == 200 and png.content.startswith(b"\x89PNG")
    assert "apples-flat" in httpx.get(f"{base}/evaluations").text

    page = httpx.get(f"{base}/gate-reports/cancer")
    assert page.status_code == 200 and gate.digest.removeprefix("sha256:") in page.text
    page = httpx.get(f"{base}/gate-reports/cancer/{gate.digest}")
    assert page.status_code == 200 and "primary_metric" in page.text and "passed" in page.text

    assert httpx.get(f"{base}/studies/nope").status_code == 404
    assert httpx.get(f"{base}/evaluations/{'0' * 32}").status_code == 404
    ws.close()
