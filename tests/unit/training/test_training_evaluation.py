"""Evaluation reports: metrics, per class, calibration, slices, worst examples, lift."""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import pytest
from PIL import Image

from pomona.errors import InvalidInputError
from pomona.training import EvaluationReport, evaluate


class _Fixed:
    """A 'model' answering fixed probabilities, so every number can be checked by hand."""

    def __init__(self, proba: np.ndarray, classes: list[Any]) -> None:
        self.proba = proba
        self.classes_ = np.array(classes)

    def predict_proba(self, X: Any) -> np.ndarray:
        return self.proba

    def predict(self, X: Any) -> np.ndarray:
        return self.classes_[self.proba.argmax(axis=1)]


def test_classification_metrics_per_class_confusion_and_calibration() -> None:
    proba = np.array([[0.9, 0.1], [0.8, 0.2], [0.3, 0.7], [0.6, 0.4]])
    y = np.array(["a", "a", "b", "b"])
    report = evaluate(_Fixed(proba, ["a", "b"]), np.zeros((4, 1)), y, worst=2)
    assert report.metrics["accuracy"] == pytest.approx(0.75)
    assert report.metrics["roc_auc"] == pytest.approx(1.0)
    assert report.metrics["log_loss"] == pytest.approx(-np.mean(np.log([0.9, 0.8, 0.7, 0.4])))
    assert report.confusion == {"labels": ["a", "b"], "matrix": [[2, 0], [1, 1]]}
    per_class = {c["label"]: c for c in report.per_class}
    assert per_class["a"]["precision"] == pytest.approx(2 / 3)
    assert per_class["b"]["recall"] == pytest.approx(0.5)
    assert report.calibration is not None
    assert sum(b["count"] for b in report.calibration["bins"]) == 4
    [worst, second] = report.worst
    assert (worst["index"], worst["y_true"], worst["y_pred"]) == (3, "b", "a")
    assert worst["loss"] == pytest.approx(-np.log(0.4))
    assert second["loss"] < worst["loss"]


def test_regression_metrics_and_lift_over_baselines() -> None:
    class Shift:
        def predict(self, X: Any) -> np.ndarray:
            return np.asarray(X)[:, 0] + 1.0

    X = np.arange(10, dtype=float).reshape(10, 1)
    report = evaluate(
        Shift(), X, X[:, 0], baselines={"mean": {"mae": 2.5, "r2": 0.0}}, metric="mae"
    )
    assert report.metrics["mae"] == pytest.approx(1.0)
    assert report.metrics["rmse"] == pytest.approx(1.0)
    assert report.lift == {"mean": pytest.approx(1.5)}  # lower MAE is better: positive lift
    assert "lift over baselines: mean +1.5000" in report.summary()


def test_slices_by_attribute_and_numeric_bands() -> None:
    proba = np.tile([[0.2, 0.8]], (6, 1))
    y = np.array([1, 1, 1, 0, 0, 0])
    report = evaluate(
        _Fixed(proba, [0, 1]),
        np.zeros((6, 1)),
        y,
        slices=["variety", "brightness"],
        attributes={
            "variety": ["gala"] * 3 + ["fuji"] * 3,
            "brightness": [0.1, 0.2, 0.3, 0.4, 0.5, 0.6] * 1,
        },
    )
    by_variety = {r["value"]: r["metrics"]["accuracy"] for r in report.slices["variety"]}
    assert by_variety == {"gala": 1.0, "fuji": 0.0}
    assert [r["n"] for r in report.slices["brightness"]] == [1] * 6  # few values: kept as is
    many = evaluate(
        _Fixed(np.tile([[0.2, 0.8]], (30, 1)), [0, 1]),
        np.zeros((30, 1)),
        np.ones(30, int),
        slices=["brightness"],
        attributes={"brightness": np.linspace(0.5, 1.5, 30)},
        bands=3,
    )
    bands = many.slices["brightness"]
    assert len(bands) == 3 and sum(b["n"] for b in bands) == 30
    assert all(b["value"].startswith("[") for b in bands)


def test_image_errors_get_png_thumbnails_and_the_report_round_trips() -> None:
    images = np.random.default_rng(0).integers(0, 255, (4, 16, 16, 3), dtype=np.uint8)
    proba = np.array([[0.9, 0.1], [0.1, 0.9], [0.5, 0.5], [0.7, 0.3]])
    report = evaluate(_Fixed(proba, ["bad", "good"]), images, np.array(["good"] * 4), worst=2)
    paths = [w["thumbnail"] for w in report.worst]
    assert set(report.thumbnails) == set(paths)
    thumb = Image.open(io.BytesIO(report.thumbnails[paths[0]]))
    assert thumb.format == "PNG" and max(thumb.size) <= 48
    again = EvaluationReport.from_dict(report.to_dict())
    assert again.to_dict() == report.to_dict()  # NaN (roc_auc of one class) survives as null
    assert np.isnan(again.metrics["roc_auc"])


def test_evaluate_refuses_mismatched_rows_and_unknown_slices() -> None:
    model = _Fixed(np.array([[0.5, 0.5]]), [0, 1])
    with pytest.raises(InvalidInputError, match="one target per row"):
        evaluate(model, np.zeros((2, 1)), np.array([0]))
    with pytest.raises(InvalidInputError, match="No column or attribute 'variety'"):
        evaluate(model, np.zeros((1, 1)), np.array([0]), slices=["variety"])
    with pytest.raises(InvalidInputError, match="Unknown classification metric 'mae'"):
        evaluate(model, np.zeros((1, 1)), np.array([0]), metric="mae")
