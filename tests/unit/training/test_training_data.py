"""Normalising training data: splits, tasks, lineage, and clear errors for bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pomona.errors import InvalidInputError
from pomona.training import Split, prepare_data
from pomona.training._data import data_digest, infer_task


def test_xy_is_split_stratified_with_lineage_digests() -> None:
    X = np.arange(200, dtype=float).reshape(100, 2)
    y = np.array([0] * 80 + [1] * 20)
    d = prepare_data((X, y), test_size=0.25, seed=1)
    assert (len(d.y_train), len(d.y_test)) == (75, 25)
    assert d.task == "classification"
    assert int(d.y_test.sum()) == 5  # stratified: 20% positives in the test split too
    lineage = d.lineage()
    assert lineage["dataset.train"].startswith("sha256:")
    assert lineage["dataset.train"] != lineage["dataset.test"]
    assert prepare_data((X, y), seed=1).lineage() == lineage  # deterministic


def test_explicit_split_keeps_refs_and_attributes() -> None:
    X = np.zeros((10, 3))
    y = np.linspace(0, 1, 10)
    d = prepare_data(
        Split(
            X,
            y,
            X[:4],
            y[:4],
            dataset={"train": "t:1", "test": "t:2"},
            attributes={"band": ["a", "b", "a", "b"]},
        )
    )
    assert d.task == "regression"
    assert d.lineage() == {"dataset.train": "t:1", "dataset.test": "t:2"}
    assert d.attributes["band"].tolist() == ["a", "b", "a", "b"]
    assert d.feature_names == ["x0", "x1", "x2"]


def test_dataframe_with_target_column() -> None:
    df = pd.DataFrame({"a": range(40), "b": [1.0] * 40, "label": ["x", "y"] * 20})
    d = prepare_data(df, target="label", dataset="tab:3")
    assert d.feature_names == ["a", "b"]
    assert d.datasets == {"train": "tab:3", "test": "tab:3"}
    assert set(d.y_train) == {"x", "y"}


@pytest.mark.parametrize(
    ("data", "kwargs", "match"),
    [
        ((np.zeros((5, 2)), np.zeros(4)), {}, "5 rows but the targets have 4"),
        ((np.zeros((5, 2)), np.zeros((5, 2))), {}, "one value per row"),
        ([1, 2, 3], {}, "Cannot train on a list"),
        ((np.zeros((8, 2)), np.arange(8)), {"task": "ranking"}, "Unknown task 'ranking'"),
        ((np.zeros((8, 2)), np.arange(8)), {"test_size": 1.5}, "test_size must be between"),
        (pd.DataFrame({"a": [1, 2]}), {"target": "label"}, "target='<column>'"),
    ],
    ids=["rows", "2d-target", "list", "task", "test-size", "target"],
)
def test_bad_input_is_refused_with_the_reason(data: object, kwargs: dict, match: str) -> None:
    with pytest.raises(InvalidInputError, match=match):
        prepare_data(data, **kwargs)


def test_task_inference_and_digest() -> None:
    assert infer_task(np.array(["good", "bad"])) == "classification"
    assert infer_task(np.array([0, 1, 1, 0])) == "classification"
    assert infer_task(np.linspace(0, 1, 50)) == "regression"
    a = data_digest(np.ones((2, 2)), np.array([0, 1]))
    assert a == data_digest(np.ones((2, 2)), np.array([0, 1]))
    assert a != data_digest(np.ones((2, 2)), np.array([1, 0]))
